"""What a user waits for around every workflow: the hub's start, ``parsl.load()`` and the close.

    python -m benchmarks.bench_startup [--starts 10] [--rounds 5] [--tasks 100] [--without-parsl]

- hub: ``parsl-monitor-hub`` started as a workflow's own hub is (encrypted, a new SQLite
  file), timed from its launch to its "listening" line, which the Parsl program waits for.
- workflow: ``benchmarks.noop_workflow`` with no monitoring, ours and Parsl's (resource
  monitoring off), in interleaved rounds (every other one reversed): the medians of
  ``parsl.load()`` and of the close, and what monitoring adds to each over none.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_workflow import one, round_order


def hub_starts(workdir: Path, starts: int) -> list[float]:
    """Seconds from launching the hub to its "listening" line, once per start."""
    seconds = []
    for n in range(starts):
        run = workdir / f"hub-{n}"
        run.mkdir()
        command = [sys.executable, "-m", "parsl_monitor_hub", "--db", str(run / "monitoring.db")]
        command += ["--bind", "tcp://127.0.0.1:*", "--log-file", str(run / "hub.log"), "--keys", str(run / "keys")]
        began = time.perf_counter()
        hub = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert hub.stdout is not None
        line = hub.stdout.readline()
        seconds.append(time.perf_counter() - began)
        hub.terminate()
        assert hub.wait(timeout=60) == 0 and "listening on" in line, line
    return seconds


def run(workdir: Path, starts: int, rounds: int, tasks: int, *, with_parsl: bool = True) -> dict[str, Any]:
    hub = hub_starts(workdir, starts)
    print(
        f"hub start to listening, {starts} starts: median {statistics.median(hub):.2f} s "
        f"(each: {', '.join(f'{s:.2f}' for s in hub)})",
        flush=True,
    )
    systems = ("none", "ours", "parsl") if with_parsl else ("none", "ours")
    times: dict[str, dict[str, list[float]]] = {s: {"load_s": [], "close_s": []} for s in systems}
    for r in range(rounds):
        for system in round_order(systems, "ours", r):
            sub = workdir / f"wf-{system}-{r}"
            sub.mkdir()
            result = one(sub, system, tasks, None)
            for key in ("load_s", "close_s"):
                times[system][key].append(result[key])
    median = {s: {k: statistics.median(v) for k, v in t.items()} for s, t in times.items()}
    for key, what in (("load_s", "parsl.load()"), ("close_s", "close")):
        print(
            f"workflow {what}, {tasks} no-op tasks, resource monitoring off, median of {rounds}: "
            + ", ".join(
                f"{s} {median[s][key]:.2f} s"
                + ("" if s == "none" else f" (+{median[s][key] - median['none'][key]:.2f})")
                for s in systems
            ),
            flush=True,
        )
    return {"hub_start_s": hub, "workflow": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--without-parsl", action="store_true", help="leave Parsl's monitoring out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parsl-monitor-bench-") as tmp:
        run(Path(tmp), args.starts, args.rounds, args.tasks, with_parsl=not args.without_parsl)


if __name__ == "__main__":
    main()
