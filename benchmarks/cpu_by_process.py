"""Where a no-op workflow's CPU goes: CPU seconds per kind of process, read from Linux's /proc.

    python -m benchmarks.cpu_by_process --monitoring {none,parsl,ours,ours-agent} [--tasks N] [--interval S]

Runs ``benchmarks.noop_workflow`` and, every 0.5 s while it runs, reads the CPU time of
every process whose command line names a part of Parsl or of parsl-monitor. A process's
share is its CPU time at its last reading (minus what it had already used when first seen,
if it was not new then). The workflow's own start-up is included: compare totals between
configurations, not to the timed part alone. Linux only.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
KINDS = (
    ("noop_workflow", "the Parsl program (DataFlowKernel)"),
    ("interchange", "HTEX interchange"),
    ("process_worker_pool", "HTEX worker pool (manager)"),
    ("multiprocessing.spawn", "HTEX workers"),
    ("monitoring zmq router", "Parsl's monitoring router (HTEX)"),
    ("parsl_monitor_hub.writing.process", "our hub's writer process"),
    ("parsl_monitor_hub", "our hub"),
    ("-m parsl_monitor_worker", "our node agent"),
    ("dbm_starter", "Parsl's database manager"),
    ("parsl: ", "other Parsl processes"),
)


def _kind(cmdline: str) -> str | None:
    return next((name for needle, name in KINDS if needle in cmdline), None)


def _readings() -> dict[int, tuple[str, float]]:
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        kind = _kind(cmdline)
        if kind is not None:
            out[int(entry.name)] = (kind, (int(stat[11]) + int(stat[12])) / _TICKS)
    return out


def measure(monitoring: str, tasks: int, interval: float | None) -> tuple[dict[str, float], dict[str, float]]:
    """CPU seconds per kind of process, and the workflow's own result line."""
    workdir = Path(tempfile.mkdtemp(prefix="parsl-monitor-cpu-"))
    env = dict(os.environ, PARSL_MONITOR_AGENT=f"ipc://{workdir / 'agent'}")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [sys.executable, "-m", "benchmarks.noop_workflow", "--monitoring", monitoring, "--tasks", str(tasks)]
    command += ["--run-dir", str(workdir / "runinfo")]
    if interval is not None:
        command += ["--interval", str(interval)]
    before = set(_readings())  # already running: not ours to count
    process = subprocess.Popen(command, cwd=Path(__file__).parent.parent, env=env, stdout=subprocess.PIPE, text=True)
    last: dict[int, tuple[str, float]] = {}
    while process.poll() is None:
        last.update((pid, reading) for pid, reading in _readings().items() if pid not in before)
        time.sleep(0.5)
    out, _ = process.communicate()
    totals: dict[str, float] = collections.defaultdict(float)
    for kind, seconds in last.values():
        totals[kind] += seconds
    return dict(totals), json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--monitoring", choices=["none", "parsl", "ours", "ours-agent"], required=True)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--interval", type=float, help="resource monitoring interval (off when not given)")
    args = parser.parse_args()
    totals, result = measure(args.monitoring, args.tasks, args.interval)
    print(f"{args.monitoring}, {args.tasks:,} tasks: {result['tasks_per_s']:.0f} tasks/s")
    for kind, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {seconds:7.2f} CPU-s  {kind}")
    print(f"  {sum(totals.values()):7.2f} CPU-s  total")


if __name__ == "__main__":
    main()
