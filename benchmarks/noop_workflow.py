"""N no-op tasks on a local HighThroughputExecutor (2 workers), timed from first submit to last result.

Also timed: ``parsl.load()`` (the executor and monitoring starting) and the close.

    python -m benchmarks.noop_workflow --monitoring SYSTEM --tasks N --run-dir DIR [--interval S]

SYSTEM: none, parsl, ours, ours-agent, ours-plain or ours-agent-plain.

Resource monitoring is off unless --interval is given (then on, at that interval).
``ours-agent`` is ours with ZMQRadio and a node agent started by worker_init. Ours
encrypts its links (CurveZMQ, the default); ``-plain`` turns that off (``encrypted=False``).
"""

from __future__ import annotations

import argparse
import json
import time

import parsl
from parsl.app.app import python_app
from parsl.config import Config
from parsl.executors import HighThroughputExecutor
from parsl.providers import LocalProvider


@python_app
def noop() -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    systems = ["none", "parsl", "ours", "ours-agent", "ours-plain", "ours-agent-plain"]
    parser.add_argument("--monitoring", choices=systems, required=True)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--interval", type=float)
    args = parser.parse_args()
    from parsl.monitoring.monitoring import MonitoringHub as ParslHub

    from parsl_monitor_hub import MonitoringHub
    from parsl_monitor_worker import ZMQRadio

    plain = args.monitoring.endswith("-plain")
    args.monitoring = args.monitoring.removesuffix("-plain")
    enabled = args.interval is not None
    interval = args.interval or 30.0
    hub: ParslHub | None = None
    if args.monitoring == "parsl":
        hub = ParslHub(resource_monitoring_enabled=enabled, resource_monitoring_interval=interval)
    elif args.monitoring in ("ours", "ours-agent"):
        hub = MonitoringHub(
            resource_monitoring_enabled=enabled, resource_monitoring_interval=interval, encrypted=not plain
        )
    agent = args.monitoring == "ours-agent"
    worker_init = f"parsl-monitor-worker --daemon --log-file {args.run_dir}/agent.log" if agent else ""
    config = Config(
        executors=[
            HighThroughputExecutor(
                label="htex",
                address="127.0.0.1",
                loopback_address="127.0.0.1",
                max_workers_per_node=2,
                remote_monitoring_radio=ZMQRadio() if agent else None,
                provider=LocalProvider(init_blocks=1, max_blocks=1, worker_init=worker_init),  # type: ignore[no-untyped-call]
            )
        ],
        monitoring=hub,
        strategy="none",
        run_dir=args.run_dir,
    )
    loading = time.perf_counter()
    with parsl.load(config):
        loaded = time.perf_counter() - loading
        noop().result()  # workers are up
        start = time.perf_counter()
        futures = [noop() for _ in range(args.tasks)]
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - start
        closing = time.perf_counter()
    closed = time.perf_counter() - closing
    print(json.dumps({"tasks_per_s": args.tasks / elapsed, "load_s": loaded, "close_s": closed}))


if __name__ == "__main__":
    main()
