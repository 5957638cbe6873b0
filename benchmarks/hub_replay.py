"""Our hub and its writer, fed the very frames a no-op workflow sent, at a set speed: their CPU per task.

    python -m benchmarks.hub_replay [--tasks N] [--rate TASKS_PER_S] [--rounds R] [--plain] [--against DIRS]

``cpu_by_process`` measures every process of a workflow run; there the run's own noise
(two cores shared by the program, the interchange, the workers and ours) moves each
figure by more than the hub's share. This measures the hub and its writer alone, on
the same input every round:

1. Records a run: ``benchmarks.noop_workflow --monitoring ours`` (resource monitoring
   off) with the ``recorded`` cut of ``benchmarks/cuts``: every frame the Parsl
   program's and the interchange's senders send, with its time.
2. Replays it into a fresh hub, encrypted as a workflow's own hub is (``--plain``: not),
   each recorded sender through a DEALER socket of its own, at ``--rate`` tasks per
   second: the recorded timeline stretched or compressed to last ``tasks / rate`` s.
3. Reads the CPU time (all threads) of the hub and its writer before the first frame
   and once every sender's FLUSH is answered: CPU per task, start-up left out.
4. Times the hub's steps in this process on the same messages, each alone (best of
   3): decoding frames, validating messages, building rows (in batches of what the
   hub's 0.2 s batch holds at that rate) and packing them for the writer; then the
   writer's statements, one by one, on a fresh SQLite file. What the steps leave of
   the measured CPU is the loop around them (waking, receiving, the pipe to the writer).

``--against DIRS`` compares two versions of the hub on the same recording: DIRS (source
directories of another checkout, joined by ``:``, e.g. its ``packages/parsl-monitor-hub/src``
and ``packages/parsl-monitor-core/src``) go first on the other hub's ``PYTHONPATH``; the
rounds alternate between the two, every other round in reverse order.
"""

from __future__ import annotations

import argparse
import collections
import os
import pickle
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgpack
import psutil
import zmq

from benchmarks.bench_workflow import one
from benchmarks.hubs import OurHub
from parsl_monitor_core.wire import HubEndpoint, MessageKind, decode_frame, encode_frame, pack_frame, validate_message
from parsl_monitor_hub.config import HubConfig
from parsl_monitor_hub.database import open_database
from parsl_monitor_hub.keys import client_keys
from parsl_monitor_hub.rows import RowBuilder
from parsl_monitor_hub.statements import RANK, compile_statements
from parsl_monitor_hub.writing.protocol import Op, Request, pack

if TYPE_CHECKING:
    from collections.abc import Callable

_CUTS_DIR = Path(__file__).parent / "cuts"
_T = TypeVar("_T")

Recording = list[tuple[float, int, list[bytes]]]
"""(time, which sender, packed messages of one frame), in time order."""


def record(workdir: Path, tasks: int) -> Recording:
    """Run the no-op workflow with our monitoring and keep what each of its senders sent."""
    frames_dir = workdir / "recorded"
    frames_dir.mkdir()
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, (str(_CUTS_DIR), os.environ.get("PYTHONPATH")))),
        "PARSL_MONITOR_BENCH_CUT": "recorded",
        "PARSL_MONITOR_BENCH_RECORD": str(frames_dir),
    }
    one(workdir, "ours", tasks, None, env)
    recording: Recording = []
    for sender, path in enumerate(sorted(frames_dir.iterdir())):
        with path.open("rb") as data:
            while True:
                try:
                    sent_at, packed = pickle.load(data)  # noqa: S301 - written by this benchmark's own run
                except EOFError:
                    break
                recording.append((sent_at, sender, packed))
    recording.sort(key=lambda event: event[0])
    return recording


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _flush(socket: zmq.Socket[bytes], name: str, sent: int) -> int:
    """Ask the hub to confirm; the count it settled of what ``name`` sent."""
    socket.send(encode_frame([(MessageKind.FLUSH, [1, sent])], name))
    while True:
        for item in decode_frame(socket.recv()).messages:
            answer = validate_message(item)
            if answer.kind is MessageKind.FLUSHED:
                return int(answer.get("settled"))


def replay(
    recording: Recording, seconds: float, workdir: Path, *, encrypted: bool, hub_path: str | None = None
) -> dict[str, float]:
    """Send the recording to a fresh hub over ``seconds``; CPU seconds of hub and writer, and messages settled.

    ``hub_path``: put first on the hub's ``PYTHONPATH`` (another version of the hub).
    """
    keys = workdir / "keys" if encrypted else None
    env = None
    if hub_path is not None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (hub_path, os.environ.get("PYTHONPATH")))))
    hub = OurHub(workdir / "replay.db", keys=keys, env=env)
    try:
        hub_process = psutil.Process(hub.process.pid)
        (writer,) = hub_process.children()
        senders = sorted({sender for _, sender, _ in recording})
        sockets = []
        for _ in senders:
            socket = hub.context.socket(zmq.DEALER)
            HubEndpoint(hub.url, None if keys is None else client_keys(keys)).connect(socket)
            sockets.append(socket)
        time.sleep(0.5)  # connected (and handshaken) before the clock starts
        hub_before, writer_before = _cpu(hub_process), _cpu(writer)
        first, last = recording[0][0], recording[-1][0]
        scale = seconds / max(last - first, 1e-9)
        start = time.monotonic()
        sent = collections.Counter[int]()
        for sent_at, sender, packed in recording:
            wait = start + (sent_at - first) * scale - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            sockets[sender].send(pack_frame(packed, f"recorded-{sender}"))
            sent[sender] += len(packed)
        settled = sum(_flush(sockets[s], f"recorded-{s}", sent[s]) for s in senders)
        cpu = {"hub": _cpu(hub_process) - hub_before, "writer": _cpu(writer) - writer_before}
        for socket in sockets:
            socket.close(linger=0)
    finally:
        hub.stop()
    return {**cpu, "settled": settled, "sent": sum(sent.values()), "seconds": time.monotonic() - start}


def _best(function: Callable[[], _T], repeat: int = 3) -> tuple[float, _T]:
    """The least CPU time of ``repeat`` calls, and the last call's result."""
    best = float("inf")
    for _ in range(repeat):
        began = time.process_time()
        result = function()
        best = min(best, time.process_time() - began)
    return best, result


def steps(recording: Recording, tasks: int, batch: int, db: Path) -> dict[str, float]:
    """CPU seconds of each step of the hub and of each writer statement, run here alone on the recording."""
    frames = [pack_frame(packed, f"recorded-{sender}") for _, sender, packed in recording]
    timed: dict[str, float] = {}
    timed["hub: decode frames"], decoded = _best(lambda: [decode_frame(frame) for frame in frames])
    items = [item for frame in decoded for item in frame.messages]
    timed["hub: validate messages"], messages = _best(lambda: [validate_message(item) for item in items])
    engine = open_database(f"sqlite:///{db}")
    builder = RowBuilder(compile_statements(engine.dialect))
    batches = [messages[i : i + batch] for i in range(0, len(messages), batch)]
    timed["hub: build rows"], rows = _best(lambda: [builder.rows(messages) for messages in batches])
    timed["hub: pack rows for the writer"], _ = _best(lambda: [pack(Request(0, Op.BATCH, r)) for r in rows])
    statements = compile_statements(engine.dialect)
    connection: Any = engine.raw_connection()
    try:
        for batch_rows in rows:
            cursor = connection.cursor()
            for name in sorted(batch_rows, key=RANK.__getitem__):
                began = time.process_time()
                cursor.executemany(getattr(statements, name).sql, batch_rows[name])
                key = f"writer: {name} ({sum(len(r.get(name, ())) for r in rows) / tasks:.2f} rows a task)"
                timed[key] = timed.get(key, 0.0) + time.process_time() - began
            began = time.process_time()
            connection.commit()
            timed["writer: commit"] = timed.get("writer: commit", 0.0) + time.process_time() - began
            cursor.close()
    finally:
        connection.close()
        engine.dispose()
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1_000.0, help="tasks per second to replay at")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plain", action="store_true", help="a hub without encryption")
    parser.add_argument("--against", metavar="DIRS", help="another hub's source directories, to compare with")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="hub-replay-"))
    recording = record(base, args.tasks)
    messages = sum(len(packed) for _, _, packed in recording)
    kinds = collections.Counter(
        MessageKind(msgpack.unpackb(p, timestamp=3)[0]).name for _, _, f in recording for p in f
    )
    by_kind = ", ".join(f"{n:,} {kind}" for kind, n in kinds.items())
    print(f"recorded {args.tasks:,} no-op tasks: {messages:,} messages, {by_kind}")
    hubs = {"this hub": None} if args.against is None else {"this hub": None, "against": args.against}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in hubs}
    for round_number in range(args.rounds):
        for name in list(hubs) if round_number % 2 == 0 else list(hubs)[::-1]:
            workdir = base / f"replay-{round_number}-{name.replace(' ', '-')}"
            workdir.mkdir()
            run = replay(recording, args.tasks / args.rate, workdir, encrypted=not args.plain, hub_path=hubs[name])
            runs[name].append(run)
            print(
                f"round {round_number + 1}: {name}: {args.tasks / run['seconds']:,.0f} tasks/s; "
                f"{run['settled']:,} of {run['sent']:,} messages settled; "
                f"hub {run['hub'] / args.tasks * 1e6:.0f} µs a task, writer {run['writer'] / args.tasks * 1e6:.0f} µs",
                flush=True,
            )
    batch = max(1, round(args.rate * HubConfig.batch_delay * messages / args.tasks))
    alone = steps(recording, args.tasks, batch, base / "steps.db")
    print(
        f"\n{args.tasks:,} no-op tasks replayed at {args.rate:,.0f} tasks/s, {args.rounds} rounds, "
        f"{'plaintext' if args.plain else 'encrypted'}; CPU µs per task (medians; each round in brackets)\n"
    )
    print(f"| part | {' | '.join(hubs)} |")
    print(f"|---|{'---:|' * len(hubs)}")
    for part in ("hub", "writer"):
        cells = []
        for name in hubs:
            values = [run[part] / args.tasks * 1e6 for run in runs[name]]
            cells.append(f"**{statistics.median(values):.0f}** ({', '.join(f'{v:.0f}' for v in values)})")
        print(f"| **{part} process, replayed** | {' | '.join(cells)} |")
    for step, seconds in alone.items():
        print(f"| {step}, alone | {seconds / args.tasks * 1e6:.1f} |{' |' * (len(hubs) - 1)}")


if __name__ == "__main__":
    main()
