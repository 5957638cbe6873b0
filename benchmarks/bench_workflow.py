"""Workflow overhead: N no-op tasks with no monitoring, Parsl's MonitoringHub and ours, interleaved."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

SYSTEMS = ("none", "parsl", "ours")
WITH_RESOURCES = ("none", "parsl", "ours-agent")
"""With resource monitoring on, ours samples through ZMQRadio and a node agent."""


def one(workdir: Path, system: str, tasks: int, interval: float | None) -> dict[str, float]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PARSL_MONITOR_AGENT"] = f"ipc://{workdir / 'agent'}"  # the run's own node agent
    command = [
        sys.executable,
        "-m",
        "benchmarks.noop_workflow",
        "--monitoring",
        system,
        "--tasks",
        str(tasks),
        "--run-dir",
        str(workdir / "runinfo"),
    ]
    if interval is not None:
        command += ["--interval", str(interval)]
    result = subprocess.run(
        command, cwd=Path(__file__).parent.parent, env=env, capture_output=True, text=True, timeout=3600, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(
    workdir: Path, tasks: int, rounds: int, interval: float | None = None, *, with_parsl: bool = True
) -> dict[str, Any]:
    label = "resource monitoring off" if interval is None else f"resource monitoring every {interval:g} s"
    systems = tuple(s for s in (SYSTEMS if interval is None else WITH_RESOURCES) if with_parsl or s != "parsl")
    rates: dict[str, list[float]] = {s: [] for s in systems}
    for r in range(rounds):
        for system in systems:  # interleaved, so drift on a noisy machine hits all three alike
            sub = workdir / f"wf-{system}-{r}-{interval}"
            sub.mkdir()
            rates[system].append(one(sub, system, tasks, interval)["tasks_per_s"])
    median = {s: statistics.median(v) for s, v in rates.items()}
    ours = systems[-1]
    print(
        f"workflow, {tasks:,} no-op tasks, {label}, median of {rounds}: "
        + ", ".join(f"{s} {median[s]:,.0f} tasks/s ({median[s] / median['none']:.0%})" for s in systems)
        + (f"; ours / Parsl's = {median[ours] / median['parsl']:.2f}x" if with_parsl else "")
        + "; each round: "
        + "; ".join(f"{s} " + ", ".join(f"{rate:,.0f}" for rate in rates[s]) for s in systems),
        flush=True,
    )
    return {"label": label, "tasks": tasks, "rounds": rates, "median": median}
