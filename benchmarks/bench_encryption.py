"""What CurveZMQ costs: hub ingest encrypted against plain, in interleaved rounds of the same run.

The same messages as ``bench_ingest`` are sent to our hub started with and without
``--keys`` (its sender then encrypts too), rounds alternating so the machine's drift
favours neither. Printed: each round's rate, the medians, and encrypted / plain. The
workflow overhead comparison is ``benchmarks.interleave none ours-plain ours`` (see docs).

    python -m benchmarks.bench_encryption [--messages 300000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import messages as m
from benchmarks.bench_ingest import STREAMS
from benchmarks.hubs import OurHub, count


def one(workdir: Path, stream: list[tuple[int, dict[str, object]]], table: str, *, encrypted: bool) -> float:
    workdir.mkdir()
    db = workdir / "hub.db"
    hub = OurHub(db, workdir / "keys" if encrypted else None)
    hub.send(OurHub.frames([(m.WORKFLOW_INFO, m.workflow_start())]))
    hub.flush()
    frames = OurHub.frames(stream)
    started = time.perf_counter()
    hub.send(frames)
    written = hub.flush()
    elapsed = time.perf_counter() - started
    assert hub.stop() == 0
    assert written == len(stream) + 1 and count(db, table) == len(stream)
    return len(stream) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-encryption-"))
    for name, (make, table) in STREAMS.items():
        stream = make(args.messages)
        rates: dict[str, list[float]] = {"plain": [], "encrypted": []}
        for i in range(args.rounds):
            order = ["plain", "encrypted"] if i % 2 == 0 else ["encrypted", "plain"]
            for kind in order:
                sub = workdir / f"{name.replace(' ', '')}-{kind}-{i}"
                rates[kind].append(one(sub, stream, table, encrypted=kind == "encrypted"))
        plain, encrypted = statistics.median(rates["plain"]), statistics.median(rates["encrypted"])
        print(
            f"ingest {name:14} {len(stream):>9,} msgs: plain {plain:>9,.0f} msg/s "
            f"({', '.join(f'{r:,.0f}' for r in rates['plain'])}), encrypted {encrypted:>9,.0f} msg/s "
            f"({', '.join(f'{r:,.0f}' for r in rates['encrypted'])}); encrypted / plain {encrypted / plain:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
