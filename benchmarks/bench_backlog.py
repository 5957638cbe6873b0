"""A backlog at shutdown: a program queues N resource messages, then closes its MonitoringHub.

Ours: the adapter's own path (HubSender into an embedded hub process; close() waits for the
hub's confirmation, then stops it). Parsl's: its MonitoringHub, whose close() joins the
database process for 30 s and then terminates it. Each runs in its own process group with
a deadline, because Parsl's close() can hang with a large backlog (measured: after killing
its database process it waits forever for its queue's feeder thread); the rows stored by
then are counted.

    python -m benchmarks.bench_backlog --system {ours,parsl} --messages N --workdir DIR [--db URL]

With ``--db``, ours writes there (PostgreSQL, say) instead of ``DIR/monitoring.db``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import messages as m
from benchmarks.hubs import count


class _Tag:
    def __init__(self, value: int) -> None:
        self.value = value


def _hub(system: str, url: str | None = None) -> Any:
    if system == "ours":
        from parsl_monitor_hub.parsl.adapter import MonitoringHub

        return MonitoringHub(logging_endpoint=url), _Tag
    from parsl.monitoring.message_type import MessageType
    from parsl.monitoring.monitoring import MonitoringHub as ParslMonitoringHub

    return ParslMonitoringHub(), MessageType


def _run_one(system: str, n: int, workdir: Path, url: str | None = None) -> None:
    hub, tag = _hub(system, url)
    samples = [m.resource_info(i) for i in range(n)]  # built first: time the queueing, not the generator
    hub.start(str(workdir / "run"), str(workdir), None)
    hub.resource_msgs.put((tag(m.WORKFLOW_INFO), m.workflow_start()))
    start = time.perf_counter()
    for sample in samples:
        hub.resource_msgs.put((tag(m.RESOURCE_INFO), sample))
    queued = time.perf_counter()
    print(json.dumps({"queue_s": queued - start}), flush=True)
    hub.close()
    print(json.dumps({"close_s": time.perf_counter() - queued}), flush=True)


def run(workdir: Path, n: int, deadline: float = 600) -> list[dict[str, Any]]:
    results = []
    for system in ("ours", "parsl"):
        sub = workdir / f"backlog-{system}"
        sub.mkdir()
        timings, hung = one(system, n, sub, deadline)
        row = {"system": system, "sent": n, "stored": count(sub / "monitoring.db", "resource"), "hung": hung, **timings}
        results.append(row)
        print(f"backlog {system:5}: {describe(row, deadline)}", flush=True)
    return results


def describe(row: dict[str, Any], deadline: float) -> str:
    """One line: stored of sent, and how long queueing and close() took."""
    close = f"close() did not return within {deadline:.0f} s" if row["hung"] else f"close() took {row['close_s']:.1f} s"
    return f"{row['stored']:>9,} of {row['sent']:,} stored; queued in {row['queue_s']:.1f} s, {close}"


def one(system: str, n: int, sub: Path, deadline: float, url: str | None = None) -> tuple[dict[str, float], bool]:
    """Run one program queueing ``n`` messages and closing; its timings, and whether it hung."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_backlog",
            "--system",
            system,
            "--messages",
            str(n),
            "--workdir",
            str(sub),
            *(["--db", url] if url else []),
        ],
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=deadline)
        hung = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        hung = True
    timings: dict[str, float] = {}
    for line in out.splitlines():
        timings.update(json.loads(line))
    return timings, hung


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--system", choices=["ours", "parsl"], required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--db", help="ours only: the database URL (default: WORKDIR/monitoring.db)")
    args = parser.parse_args()
    _run_one(args.system, args.messages, args.workdir, args.db)


if __name__ == "__main__":
    main()
