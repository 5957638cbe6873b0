"""Interleaved rounds of the no-op workflow, each configuration with its own environment variables.

    python -m benchmarks.interleave [--tasks N] [--rounds R] [--interval S] CONFIG [CONFIG ...]

A CONFIG is a monitoring system of ``benchmarks.noop_workflow`` (none, parsl, ours,
ours-agent), optionally followed by ``+NAME=VALUE,NAME=VALUE`` for its runs only. The
usual use is to compare the working tree with an older checkout in one run, since this
machine's speed drifts between runs::

    git worktree add /tmp/before HEAD~1
    python -m benchmarks.interleave none \\
        "ours+PYTHONPATH=/tmp/before/packages/parsl-monitor-hub/src:/tmp/before/packages/parsl-monitor-worker/src" ours

The first CONFIG is the baseline of the printed ratios. Every other round runs the
configurations in reverse order, so a drift of the machine's speed during the run does
not favour the ones that come first.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from benchmarks.bench_workflow import one


def _environment(config: str) -> tuple[str, dict[str, str]]:
    system, _, assignments = config.partition("+")
    extra = dict(pair.split("=", 1) for pair in assignments.split(",") if pair)
    return system, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("configs", nargs="+", metavar="CONFIG")
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--interval", type=float, help="resource monitoring interval (default: off)")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {config: [] for config in args.configs}
    base = Path(tempfile.mkdtemp(prefix="interleave-"))
    for round_number in range(args.rounds):
        order = list(enumerate(args.configs))
        for index, config in order if round_number % 2 == 0 else order[::-1]:  # every other round reversed: drift
            system, extra = _environment(config)
            workdir = base / f"{index}-{round_number}"
            workdir.mkdir()
            rates[config].append(one(workdir, system, args.tasks, args.interval, extra)["tasks_per_s"])
            print(f"round {round_number + 1}: {config}: {rates[config][-1]:.0f} tasks/s", flush=True)
    baseline = statistics.median(rates[args.configs[0]])
    for config, values in rates.items():
        median = statistics.median(values)
        rounds = ", ".join(f"{v:.0f}" for v in values)
        print(f"{config}: median {median:.0f} tasks/s ({median / baseline:.0%}); rounds {rounds}")


if __name__ == "__main__":
    main()
