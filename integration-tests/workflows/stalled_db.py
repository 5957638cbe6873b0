"""A Parsl program whose monitoring database stops taking writes while it runs.

python stalled_db.py DB_URL RUN_DIR GO_FILE

Runs 10 tasks with our MonitoringHub writing DB_URL, waits until the hub confirms they are
written, prints ``ready``, waits for GO_FILE
(the test makes the database read-only meanwhile), runs 10 more, then closes and prints
``{"close_seconds": ...}``: how long the DataFlowKernel's cleanup (monitoring's close) took.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import parsl
from parsl.app.app import python_app
from parsl.config import Config
from parsl.executors.threads import ThreadPoolExecutor

from parsl_monitor_hub import MonitoringHub


@python_app
def inc(x: int) -> int:
    return x + 1


def main() -> None:
    url, run_dir, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    monitoring = MonitoringHub(logging_endpoint=url, resource_monitoring_enabled=False)
    parsl.load(Config(executors=[ThreadPoolExecutor(max_threads=2)], monitoring=monitoring, run_dir=run_dir))
    assert [inc(i).result() for i in range(10)] == list(range(1, 11))
    time.sleep(0.5)  # the last state messages follow the results
    assert monitoring.resource_msgs.request_flush().wait(60), "the hub did not confirm the first half"
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while not go.exists():
        time.sleep(0.1)
    assert [inc(i).result() for i in range(10)] == list(range(1, 11))
    started = time.monotonic()
    parsl.dfk().cleanup()
    json.dump({"close_seconds": time.monotonic() - started}, sys.stdout)


if __name__ == "__main__":
    main()
