"""Workflow overhead: N no-op tasks with no monitoring, Parsl's MonitoringHub and ours, interleaved."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

SYSTEMS = ("none", "parsl", "ours")
WITH_RESOURCES = ("none", "parsl", "ours-agent")
"""With resource monitoring on, ours samples through ZMQRadio and a node agent."""


def one(
    workdir: Path, system: str, tasks: int, interval: float | None, extra_env: Mapping[str, str] | None = None
) -> dict[str, float]:
    """One run of ``benchmarks.noop_workflow``; ``extra_env`` is added to this process's environment for it."""
    env = dict(os.environ, **(extra_env or {}))
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
    ours = systems[-1]
    rates: dict[str, list[float]] = {s: [] for s in systems}
    for r in range(rounds):
        for system in round_order(systems, ours, r):
            sub = workdir / f"wf-{system}-{r}-{interval}"
            sub.mkdir()
            rates[system].append(one(sub, system, tasks, interval)["tasks_per_s"])
    median = {s: statistics.median(v) for s, v in rates.items()}
    per_round = [o / n for o, n in zip(rates[ours], rates["none"], strict=True)]
    print(
        f"workflow, {tasks:,} no-op tasks, {label}, median of {rounds}: "
        + ", ".join(f"{s} {median[s]:,.0f} tasks/s ({median[s] / median['none']:.0%})" for s in systems)
        + (f"; ours / Parsl's = {median[ours] / median['parsl']:.2f}x" if with_parsl else "")
        + "; each round: "
        + "; ".join(f"{s} " + ", ".join(f"{rate:,.0f}" for rate in rates[s]) for s in systems)
        + f"; ours / none by round: {', '.join(f'{x:.0%}' for x in per_round)}"
        + f" (median {statistics.median(per_round):.0%})",
        flush=True,
    )
    return {"label": label, "tasks": tasks, "rounds": rates, "median": median}


def round_order(systems: tuple[str, ...], ours: str, round_number: int) -> tuple[str, ...]:
    """None and ours back to back, the others after them; every other round reversed.

    The machine drifts: ours is compared with the none run right next to it, first after
    it and then before it, and Parsl's slow runs (minutes with resource monitoring) never
    sit between the two.
    """
    order = ("none", ours, *(s for s in systems if s not in ("none", ours)))
    return order if round_number % 2 == 0 else order[::-1]
