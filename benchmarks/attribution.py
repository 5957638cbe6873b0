"""Where ours costs a no-op workflow its speed: its messages stopped at each step of their way, in one run.

    python -m benchmarks.attribution [--tasks N] [--rounds R] [--burn FRACTION]

``cpu_by_process`` says which process spends the CPU; it cannot say what that costs the
workflow, because the Parsl program is bound by its interpreter lock (its threads take
turns) and a millisecond spent there delays every task, while one spent in another
process may not. This runs the no-op workflow (``benchmarks.noop_workflow``, resource
monitoring off) in these configurations, interleaved, every other round in reverse order:

- ``none``: no monitoring;
- ``none+cpu``: no monitoring, beside a process spinning FRACTION of a core in 25 ms
  slices (default 0.12: about what our hub and writer use at 1,100 tasks/s); what the
  hub's CPU would cost if it were only CPU taken elsewhere;
- ``ours-dropped``: ours, but ``HubSender.put`` takes nothing: Parsl's monitoring hooks
  run and the hub idles;
- ``ours-encoded``: the sending threads pack every message and send none;
- ``ours-received``: sent; the hub drops every frame unread (answering FLUSH);
- ``ours``: as users run it.

The cuts are made by ``benchmarks/cuts/sitecustomize.py``. Printed: each configuration's
tasks/s, its ratio to none of the same round (each round, median and mean: the step
between two neighbours is what that step of the message path costs), and the status rows
its last run stored (0 for a cut that held).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_workflow import one

_CUTS_DIR = Path(__file__).parent / "cuts"
_SPIN = """
import sys, time
fraction, period = float(sys.argv[1]), 0.025
while True:
    end = time.process_time() + fraction * period
    while time.process_time() < end:
        pass
    time.sleep(period * (1 - fraction))
"""
CONFIGS = ("none", "none+cpu", "ours-dropped", "ours-encoded", "ours-received", "ours")


def _status_rows(workdir: Path) -> int | None:
    """Status rows stored by the run (None without monitoring): shows where each cut stopped the messages."""
    db = workdir / "runinfo" / "monitoring.db"
    if not db.exists():
        return None
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return int(connection.execute("select count(*) from status").fetchone()[0])


def _run(config: str, workdir: Path, tasks: int, burn: float) -> float:
    system, _, cut = config.partition("-")
    extra: dict[str, str] = {}
    if cut:
        extra["PYTHONPATH"] = os.pathsep.join(filter(None, (str(_CUTS_DIR), os.environ.get("PYTHONPATH"))))
        extra["PARSL_MONITOR_BENCH_CUT"] = cut
    spinner = None
    if system == "none+cpu":
        system = "none"
        spinner = subprocess.Popen([sys.executable, "-c", _SPIN, str(burn)])
    try:
        return one(workdir, system, tasks, None, extra)["tasks_per_s"]
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--burn", type=float, default=0.12, help="share of a core the none+cpu spinner uses")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {config: [] for config in CONFIGS}
    rows: dict[str, int | None] = {}
    base = Path(tempfile.mkdtemp(prefix="attribution-"))
    for round_number in range(args.rounds):
        for index, config in enumerate(CONFIGS if round_number % 2 == 0 else CONFIGS[::-1]):
            workdir = base / f"{round_number}-{index}"
            workdir.mkdir()
            rates[config].append(_run(config, workdir, args.tasks, args.burn))
            rows[config] = _status_rows(workdir)
            print(f"round {round_number + 1}: {config}: {rates[config][-1]:.0f} tasks/s", flush=True)
    print(f"\n{args.tasks:,} no-op tasks, {args.rounds} rounds, resource monitoring off\n")
    print("| configuration | tasks/s (median) | of none, each round | of none, median | mean | status rows stored |")
    print("|---|---:|---|---:|---:|---:|")
    for config, values in rates.items():
        ratios = [value / none for value, none in zip(values, rates["none"], strict=True)]
        stored = "\u2013" if rows[config] is None else f"{rows[config]:,}"
        print(
            f"| {config} | {statistics.median(values):,.0f} | {', '.join(f'{r:.0%}' for r in ratios)} "
            f"| {statistics.median(ratios):.0%} | {statistics.mean(ratios):.0%} | {stored} |"
        )


if __name__ == "__main__":
    main()
