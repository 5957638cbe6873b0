"""A Parsl program whose monitoring database stops taking writes while it runs.

python stalled_db.py DB_URL RUN_DIR GO_FILE

Runs 10 tasks with our MonitoringHub writing DB_URL, waits until the hub confirms they are
written, prints ``ready``, waits for GO_FILE
(the test makes the database read-only meanwhile), runs 10 more, waits (up to a minute) until
its own log says the hub cannot write, then closes and prints ``{"reported_seconds": ...,
"close_seconds": ...}``: how long after GO_FILE the log said so, and how long the
DataFlowKernel's cleanup (monitoring's close) took.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import parsl
from parsl.app.app import python_app
from parsl.config import Config
from parsl.executors.threads import ThreadPoolExecutor

from parsl_monitor_hub import MonitoringHub


class FirstWarning(logging.Handler):
    """Notes when the program's log first says the hub cannot write."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.at: float | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.at is None and "cannot write yet" in record.getMessage():
            self.at = time.monotonic()


@python_app
def inc(x: int) -> int:
    return x + 1


def main() -> None:
    url, run_dir, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    logging.basicConfig(level=logging.WARNING)  # the program's log: its standard error
    monitoring = MonitoringHub(logging_endpoint=url, resource_monitoring_enabled=False)
    parsl.load(Config(executors=[ThreadPoolExecutor(max_threads=2)], monitoring=monitoring, run_dir=run_dir))
    assert [inc(i).result() for i in range(10)] == list(range(1, 11))
    time.sleep(0.5)  # the last state messages follow the results
    assert monitoring.resource_msgs.request_flush().wait(60), "the hub did not confirm the first half"
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    warning = FirstWarning()
    logging.getLogger("parsl_monitor_hub").addHandler(warning)
    while not go.exists():
        time.sleep(0.1)
    went = time.monotonic()
    assert [inc(i).result() for i in range(10)] == list(range(1, 11))
    while warning.at is None and time.monotonic() - went < 60:
        time.sleep(0.1)
    reported = None if warning.at is None else warning.at - went
    started = time.monotonic()
    parsl.dfk().cleanup()
    json.dump({"reported_seconds": reported, "close_seconds": time.monotonic() - started}, sys.stdout)


if __name__ == "__main__":
    main()
