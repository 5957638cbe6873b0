"""Where a no-op workflow's CPU and wall time go, per kind of process, for several configurations in one run.

    python -m benchmarks.cpu_by_process [--tasks N] [--rounds R] [CONFIG ...]

A CONFIG is a monitoring system of ``benchmarks.noop_workflow`` (none, parsl, ours,
ours-agent, ours-plain, ours-agent-plain), optionally followed by ``@S`` for resource
monitoring every S seconds. The default, ``none ours ours-agent@10``, answers issue 16's
question: no monitoring, ours with resource monitoring off, and ours sampling every 10 s
(through ZMQRadio and a node agent, as users run it), back to back; every other round
in reverse order, since the machine's speed drifts.

Every 0.5 s while a workflow runs, the CPU time of each of its processes (those that
inherited its environment) whose command line names a part of Parsl or of parsl-monitor is
read from Linux's /proc. A process's share is its CPU time at its last reading. Start-up
is included (the Parsl program's imports, the hub's start), so compare configurations with
each other, not with the timed part alone. Python's bytecode cache is allowed even where
``PYTHONDONTWRITEBYTECODE`` is set (as on our CI machines): otherwise every process
compiles its modules from source at each start (the hub alone spent 0.9 CPU-s so), which a
pip-installed environment never does. Printed: CPU seconds per 10,000 tasks per kind of
process (median over rounds), each round's tasks/s, the wall time and CPU time each
configuration adds per task over the first, and the speed the first reached (a ratio means
little without it). Linux only.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_DASH = "\u2013"  # an en dash: nothing to show in a cell, as the tables of docs/benchmarks.md write it
KINDS = (
    ("noop_workflow", "the Parsl program (DataFlowKernel)"),
    ("interchange", "HTEX interchange"),
    ("process_worker_pool", "HTEX worker pool (manager)"),
    ("multiprocessing.spawn", "HTEX workers"),
    ("monitoring zmq router", "Parsl's monitoring router (HTEX)"),
    ("parsl_monitor_hub.writing", "our hub's writer process"),
    ("parsl_monitor_hub", "our hub"),
    ("-m parsl_monitor_worker", "our node agent"),
    ("dbm_starter", "Parsl's database manager"),
    ("parsl: ", "other Parsl processes"),
)


@dataclass(frozen=True)
class Run:
    """One workflow run: CPU seconds per kind of process, and its speed."""

    cpu: dict[str, float]
    tasks_per_s: float


def _kind(cmdline: str) -> str | None:
    return next((name for needle, name in KINDS if needle in cmdline), None)


def _readings(marker: bytes, theirs: dict[int, bool]) -> dict[int, tuple[str, float]]:
    """CPU seconds of the run's processes: those whose environment holds ``marker`` (``theirs`` caches it per pid).

    Not every Parsl or parsl-monitor process on the machine: another workflow, a test, a
    second user's hub would be counted too. The environment is inherited by everything the
    program starts, also the worker pool and the node agent that leave its process tree.
    """
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            kind = _kind(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " "))
            if kind is not None and pid not in theirs:
                theirs[pid] = marker in Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if kind is not None and theirs[pid]:
            out[pid] = (kind, (int(stat[11]) + int(stat[12])) / _TICKS)
    return out


def measure(monitoring: str, tasks: int, interval: float | None) -> Run:
    """Run the no-op workflow once and read its processes' CPU time."""
    workdir = Path(tempfile.mkdtemp(prefix="parsl-monitor-cpu-"))
    env = dict(os.environ, PARSL_MONITOR_AGENT=f"ipc://{workdir / 'agent'}")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # start-up as installed by pip: modules compiled once, not every run
    command = [sys.executable, "-m", "benchmarks.noop_workflow", "--monitoring", monitoring, "--tasks", str(tasks)]
    command += ["--run-dir", str(workdir / "runinfo")]
    if interval is not None:
        command += ["--interval", str(interval)]
    process = subprocess.Popen(command, cwd=Path(__file__).parent.parent, env=env, stdout=subprocess.PIPE, text=True)
    last: dict[int, tuple[str, float]] = {}
    marker, theirs = env["PARSL_MONITOR_AGENT"].encode(), {}  # unique to this run's directory
    while process.poll() is None:
        last.update(_readings(marker, theirs))
        time.sleep(0.5)
    out, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}")
    totals: dict[str, float] = collections.defaultdict(float)
    for kind, seconds in last.values():
        totals[kind] += seconds
    return Run(dict(totals), json.loads(out.strip().splitlines()[-1])["tasks_per_s"])


def parse_config(config: str) -> tuple[str, float | None]:
    """``ours-agent@10`` -> ("ours-agent", 10.0); ``none`` -> ("none", None)."""
    system, _, interval = config.partition("@")
    return system, float(interval) if interval else None


def report(configs: list[str], runs: dict[str, list[Run]], tasks: int) -> str:
    """The table: median CPU-s per 10,000 tasks per kind, speeds, and what each adds over the first."""
    per_10k = 10_000 / tasks
    kinds = [name for _, name in KINDS if any(name in r.cpu for rs in runs.values() for r in rs)]
    lines = [f"| process | {' | '.join(configs)} |", "|---|" + "---:|" * len(configs)]
    for kind in kinds:
        cells = [statistics.median(r.cpu.get(kind, 0.0) for r in runs[c]) * per_10k for c in configs]
        lines.append(f"| {kind} | " + " | ".join(f"{v:.1f}" if v else _DASH for v in cells) + " |")
    totals = {c: statistics.median(sum(r.cpu.values()) for r in runs[c]) * per_10k for c in configs}
    speeds = {c: statistics.median(r.tasks_per_s for r in runs[c]) for c in configs}
    base = configs[0]
    lines.append("| **total CPU-s** | " + " | ".join(f"**{totals[c]:.1f}**" for c in configs) + " |")
    lines.append("| tasks/s (median) | " + " | ".join(f"{speeds[c]:.0f}" for c in configs) + " |")
    lines.append(
        "| tasks/s, each round | "
        + " | ".join(", ".join(f"{r.tasks_per_s:.0f}" for r in runs[c]) for c in configs)
        + " |"
    )
    lines.append(f"| of {base} (median) | " + " | ".join(f"{speeds[c] / speeds[base]:.0%}" for c in configs) + " |")
    lines.append(
        f"| of {base}, each round | "
        + " | ".join(
            ", ".join(f"{r.tasks_per_s / b.tasks_per_s:.0%}" for r, b in zip(runs[c], runs[base], strict=True))
            for c in configs
        )
        + " |"
    )
    lines.append(
        "| wall time added per task | "
        + " | ".join(_DASH if c == base else f"{1000 / speeds[c] - 1000 / speeds[base]:+.3f} ms" for c in configs)
        + " |"
    )
    lines.append(
        "| CPU time added per task | "
        + " | ".join(_DASH if c == base else f"{(totals[c] - totals[base]) * 100:+.0f} µs" for c in configs)
        + " |"
    )
    lines.append(f"\n{base} ran at {speeds[base]:.0f} tasks/s (median of {len(runs[base])} rounds).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("configs", nargs="*", metavar="CONFIG", default=["none", "ours", "ours-agent@10"])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    runs: dict[str, list[Run]] = {config: [] for config in args.configs}
    for round_number in range(args.rounds):
        order = args.configs if round_number % 2 == 0 else args.configs[::-1]
        for config in order:
            system, interval = parse_config(config)
            run = measure(system, args.tasks, interval)
            runs[config].append(run)
            print(f"round {round_number + 1}: {config}: {run.tasks_per_s:.0f} tasks/s", flush=True)
    print(f"\n{args.tasks:,} no-op tasks, {args.rounds} rounds; CPU seconds per 10,000 tasks, median of the rounds\n")
    print(report(args.configs, runs, args.tasks))


if __name__ == "__main__":
    main()
