"""A workflow that holds still mid-run, so a test can look at it: tasks done, running, queued, waiting.

python midrun.py --run-dir DIR --release FILE [--monitoring ours|parsl] [--executor htex|threads]
                 [--broken-workers] [--heartbeat-threshold S]

Two workers. Tasks that finish at once, a failure and its dependent, four tasks that block
until FILE exists (two run, two wait in the interchange's queue: "launched"), and tasks
that depend on blocked ones ("pending"). A blocked task creates ``started-N`` beside FILE
when it starts, so a test knows what runs without asking monitoring. It prints
``{"run_id": ...}`` as soon as everything is submitted, then waits for the blocked tasks.
``--executor threads``: a ThreadPoolExecutor of two threads instead of the
HighThroughputExecutor. ``--broken-workers`` gives the workers a ``worker_init`` that
fails, so no worker ever starts. ``--heartbeat-threshold``: how long its workers wait for a
silent interchange before they exit (Parsl's default 120 s).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import parsl
from parsl.app.app import python_app
from parsl.config import Config
from parsl.executors import HighThroughputExecutor, ThreadPoolExecutor
from parsl.providers import LocalProvider


@python_app
def quick(x: int) -> int:
    return x


@python_app
def blocked(release: str, x: int) -> int:
    import pathlib
    import time

    pathlib.Path(release).with_name(f"started-{x}").touch()
    while not pathlib.Path(release).exists():
        time.sleep(0.05)
    return x


@python_app
def after(x: int) -> int:
    return x + 1


@python_app
def broken() -> None:
    raise ValueError("broken on purpose")


def config(
    run_dir: str, monitoring: str, broken_workers: bool, heartbeat_threshold: int = 120, executor: str = "htex"
) -> Config:
    if monitoring == "ours":
        from parsl_monitor_hub import MonitoringHub
    else:
        from parsl.monitoring.monitoring import MonitoringHub  # type: ignore[assignment]
    return Config(
        executors=[
            ThreadPoolExecutor(label="threads", max_threads=2)
            if executor == "threads"
            else HighThroughputExecutor(
                label="htex",
                address="127.0.0.1",
                max_workers_per_node=2,
                heartbeat_threshold=heartbeat_threshold,
                heartbeat_period=min(30, max(1, heartbeat_threshold // 3)),
                provider=LocalProvider(  # type: ignore[no-untyped-call]
                    init_blocks=1, max_blocks=1, worker_init="exit 3" if broken_workers else ""
                ),
            )
        ],
        monitoring=MonitoringHub(hub_address="127.0.0.1", resource_monitoring_interval=1),
        run_dir=run_dir,
        strategy="none",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--release", required=True)
    parser.add_argument("--monitoring", choices=["ours", "parsl"], default="ours")
    parser.add_argument("--executor", choices=["htex", "threads"], default="htex")
    parser.add_argument("--broken-workers", action="store_true")
    parser.add_argument("--heartbeat-threshold", type=int, default=120)
    args = parser.parse_args()
    with parsl.load(
        config(args.run_dir, args.monitoring, args.broken_workers, args.heartbeat_threshold, args.executor)
    ) as dfk:
        futures: list[Any] = [quick(i) for i in range(3)]
        failing = broken()
        futures += [failing, after(failing)]
        for future in futures[:3]:
            future.exception()  # done before anything blocks the two workers
        gates = [blocked(args.release, i) for i in range(4)]
        futures += gates + [after(gate) for gate in gates[:2]] + [after(after(gates[0]))]
        sys.stdout.write(json.dumps({"run_id": dfk.run_id}) + "\n")
        sys.stdout.flush()
        for future in futures:
            future.exception()
    json.dump({"done": True}, sys.stdout)


if __name__ == "__main__":
    main()
