"""A workflow that takes long enough to watch: waves of sleeping tasks, monitored by our hub.

python slow.py --run-dir DIR [--tasks N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import sys

import parsl
from parsl.app.app import python_app
from parsl.config import Config
from parsl.executors import HighThroughputExecutor
from parsl.providers import LocalProvider

from parsl_monitor_hub import MonitoringHub


@python_app
def nap(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    config = Config(
        executors=[
            HighThroughputExecutor(
                label="htex",
                address="127.0.0.1",
                max_workers_per_node=2,
                provider=LocalProvider(init_blocks=1, max_blocks=1),  # type: ignore[no-untyped-call]
            )
        ],
        monitoring=MonitoringHub(resource_monitoring_interval=1),
        run_dir=args.run_dir,
    )
    with parsl.load(config) as dfk:
        total = sum(f.result() for f in [nap(args.seconds) for _ in range(args.tasks)])
        json.dump({"run_id": dfk.run_id, "total": total}, sys.stdout)


if __name__ == "__main__":
    main()
