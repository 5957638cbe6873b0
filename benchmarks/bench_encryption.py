"""What CurveZMQ costs: hub ingest encrypted against plain, in interleaved rounds of the same run.

The same messages as ``bench_ingest`` are sent to our hub started with and without
``--keys`` (its sender then encrypts too), rounds alternating so the machine's drift
favours neither: in frames of 1,000 messages (as a program's or an interchange's sender
batches them) and one message per frame (as a worker with ``ZMQRadio`` sends a task's
first and last message), where encryption's cost per frame shows most. Printed: each
round's rate, the medians, and encrypted / plain. The workflow overhead comparison is
``benchmarks.interleave none ours-plain ours ours-agent-plain ours-agent`` (see docs).

    python -m benchmarks.bench_encryption [--messages 300000] [--rounds 3]

It also prints the CPU time of one small-message round trip over a DEALER/ROUTER pair on
loopback, plain and CurveZMQ (both ends and their I/O threads, in this process): the cost of
encryption itself, without a hub.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import zmq

from benchmarks import messages as m
from benchmarks.bench_ingest import STREAMS
from benchmarks.hubs import FRAME, OurHub, count


def one(
    workdir: Path, stream: list[tuple[int, dict[str, object]]], table: str, *, encrypted: bool, per_frame: int
) -> float:
    workdir.mkdir()
    db = workdir / "hub.db"
    hub = OurHub(db, workdir / "keys" if encrypted else None)
    hub.send(OurHub.frames([(m.WORKFLOW_INFO, m.workflow_start())]))
    hub.flush()
    frames = OurHub.frames(stream, per_frame)
    started = time.perf_counter()
    hub.send(frames)
    written = hub.flush()
    elapsed = time.perf_counter() - started
    assert hub.stop() == 0
    assert written == len(stream) + 1 and count(db, table) == len(stream)
    return len(stream) / elapsed


def roundtrip_cpu(*, curve: bool, messages: int = 20_000) -> float:
    """Microseconds of this process's CPU per 200-byte message sent and received on loopback."""
    context = zmq.Context()
    router, dealer = context.socket(zmq.ROUTER), context.socket(zmq.DEALER)
    if curve:
        hub_public, hub_secret = zmq.curve_keypair()
        router.curve_secretkey, router.curve_server = hub_secret, True
        public, secret = zmq.curve_keypair()
        dealer.curve_serverkey, dealer.curve_publickey, dealer.curve_secretkey = hub_public, public, secret
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer.connect(f"tcp://127.0.0.1:{port}")
    payload = b"x" * 200
    dealer.send(payload)
    router.recv_multipart()  # connected (and handshaken)
    started = time.process_time()
    for _ in range(messages):
        dealer.send(payload)
        router.recv_multipart()
    cpu = time.process_time() - started
    dealer.close()
    router.close()
    context.term()
    return cpu / messages * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for _ in range(3):
        plain, curve = roundtrip_cpu(curve=False), roundtrip_cpu(curve=True)
        print(f"one message round trip: plain {plain:.1f} us CPU, CurveZMQ {curve:.1f} us CPU", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-encryption-"))
    cases = [(name, make, table, FRAME) for name, (make, table) in STREAMS.items()]
    cases.append(("resource, 1/frame", STREAMS["resource"][0], STREAMS["resource"][1], 1))
    for name, make, table, per_frame in cases:
        stream = make(args.messages if per_frame > 1 else args.messages // 3)
        rates: dict[str, list[float]] = {"plain": [], "encrypted": []}
        for i in range(args.rounds):
            order = ["plain", "encrypted"] if i % 2 == 0 else ["encrypted", "plain"]
            for kind in order:
                sub = workdir / f"{name.replace(' ', '').replace('/', '-')}-{kind}-{i}"
                rates[kind].append(one(sub, stream, table, encrypted=kind == "encrypted", per_frame=per_frame))
        plain, encrypted = statistics.median(rates["plain"]), statistics.median(rates["encrypted"])
        print(
            f"ingest {name:17} {len(stream):>9,} msgs: plain {plain:>9,.0f} msg/s "
            f"({', '.join(f'{r:,.0f}' for r in rates['plain'])}), encrypted {encrypted:>9,.0f} msg/s "
            f"({', '.join(f'{r:,.0f}' for r in rates['encrypted'])}); encrypted / plain {encrypted / plain:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
