"""A workflow that takes long enough to watch: waves of sleeping tasks, monitored by our hub.

python slow.py --run-dir DIR [--tasks N] [--seconds S] [--hub-url URL] [--agent]

Prints the run id and, per task, when it started and ended (seconds, worker clock).
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
from parsl_monitor_worker import ZMQRadio


@python_app
def nap(seconds: float) -> tuple[float, float]:
    import time

    start = time.time()
    time.sleep(seconds)
    return start, time.time()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--hub-url", default=None, help="a running parsl-monitor-hub instead of an embedded one")
    parser.add_argument("--agent", action="store_true", help="ZMQRadio and a node agent sampling every second")
    args = parser.parse_args()
    agent = f"parsl-monitor-worker --daemon --log-file {args.run_dir}/agent.log" if args.agent else ""
    config = Config(
        executors=[
            HighThroughputExecutor(
                label="htex",
                address="127.0.0.1",
                max_workers_per_node=2,
                provider=LocalProvider(init_blocks=1, max_blocks=1, worker_init=agent),  # type: ignore[no-untyped-call]
                remote_monitoring_radio=ZMQRadio() if args.agent else None,
            )
        ],
        monitoring=MonitoringHub(resource_monitoring_interval=1, hub_url=args.hub_url),
        run_dir=args.run_dir,
    )
    with parsl.load(config) as dfk:
        spans = [f.result() for f in [nap(args.seconds) for _ in range(args.tasks)]]
        json.dump({"run_id": dfk.run_id, "spans": spans}, sys.stdout)


if __name__ == "__main__":
    main()
