"""Tasks with known resource use, monitored by our hub with ZMQRadio and a node agent.

python resources.py --run-dir DIR [--interval S] [--no-agent] [--hub-port N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import parsl
from parsl.app.app import bash_app, python_app
from parsl.config import Config
from parsl.executors import HighThroughputExecutor
from parsl.providers import LocalProvider

from parsl_monitor_hub import MonitoringHub
from parsl_monitor_worker import ZMQRadio


@python_app
def hold_memory(megabytes: int, seconds: float) -> int:
    import time

    block = bytearray(megabytes * 2**20)
    for i in range(0, len(block), 4096):  # touch every page: resident, not just reserved
        block[i] = 1
    time.sleep(seconds)
    return len(block)


@python_app
def burn_cpu(seconds: float) -> int:
    import time

    end = time.process_time() + seconds
    n = 0
    while time.process_time() < end:
        n += 1
    return n


@bash_app
def children(n: int, seconds: float) -> str:
    return (
        " & ".join(f"python3 -c 'import time; x = bytearray(30 * 2**20); time.sleep({seconds})'" for _ in range(n))
        + " & wait"
    )


@python_app
def fails_first(marker: str) -> str:
    from pathlib import Path

    path = Path(marker)
    if not path.exists():
        path.write_text("tried")
        raise RuntimeError("first try fails")
    return "second try"


@python_app
def killed() -> None:
    import os
    import signal
    import time

    time.sleep(1.5)
    os.kill(os.getpid(), signal.SIGKILL)


@python_app
def quick() -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--no-agent", action="store_true")
    # The default is the user's; a test gives its own, so that a straggler of the previous run
    # (a worker process still exiting, its socket reconnecting) is not refused by this run's hub.
    parser.add_argument("--hub-port", type=int, default=55055)
    args = parser.parse_args()
    agent = "" if args.no_agent else f"parsl-monitor-worker --daemon --log-file {args.run_dir}/agent.log"
    config = Config(
        executors=[
            HighThroughputExecutor(
                label="htex",
                address="127.0.0.1",
                max_workers_per_node=4,
                remote_monitoring_radio=ZMQRadio(),
                provider=LocalProvider(init_blocks=1, max_blocks=1, worker_init=agent),  # type: ignore[no-untyped-call]
            )
        ],
        monitoring=MonitoringHub(resource_monitoring_interval=args.interval, hub_port=args.hub_port),
        run_dir=args.run_dir,
        retries=1,
    )
    with parsl.load(config) as dfk:
        out = {
            "memory": hold_memory(200, 3).result(),
            "cpu": burn_cpu(3).result(),
            "children": children(3, 3).result(),
            "retried": fails_first(f"{args.run_dir}/marker").result(),
        }
        doomed = killed()
        out["killed"] = type(doomed.exception()).__name__
        end = time.monotonic() + 3
        while time.monotonic() < end:  # a phase of tasks far shorter than the interval
            for future in [quick() for _ in range(10)]:
                future.result()
            time.sleep(0.05)
        out["run_id"] = dfk.run_id
        json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
