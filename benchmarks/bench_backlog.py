"""A backlog at shutdown: a program queues N messages, then closes its MonitoringHub.

Ours: the adapter's own path (HubSender into an embedded hub process; close() waits for the
hub's confirmation, then stops it). Parsl's: its MonitoringHub, whose close() joins the
database process for 30 s and then terminates it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from benchmarks import messages as m
from benchmarks.hubs import count

if TYPE_CHECKING:
    from pathlib import Path


class _Tag:
    def __init__(self, value: int) -> None:
        self.value = value


def ours(workdir: Path, n: int) -> dict[str, Any]:
    from parsl_monitor_hub.adapter import MonitoringHub

    hub = MonitoringHub()
    hub.start(str(workdir / "run"), str(workdir))
    hub.resource_msgs.put((_Tag(m.WORKFLOW_INFO), m.workflow_start()))
    start = time.perf_counter()
    for i in range(n):
        hub.resource_msgs.put((_Tag(m.RESOURCE_INFO), m.resource_info(i)))
    queued = time.perf_counter()
    hub.close()
    done = time.perf_counter()
    return {
        "system": "ours",
        "sent": n,
        "stored": count(workdir / "monitoring.db", "resource"),
        "queue_s": queued - start,
        "close_s": done - queued,
    }


def parsl(workdir: Path, n: int) -> dict[str, Any]:
    from parsl.monitoring.message_type import MessageType
    from parsl.monitoring.monitoring import MonitoringHub

    hub = MonitoringHub()
    hub.start(str(workdir / "run"), str(workdir), None)
    hub.resource_msgs.put((MessageType.WORKFLOW_INFO, m.workflow_start()))
    start = time.perf_counter()
    for i in range(n):
        hub.resource_msgs.put((MessageType.RESOURCE_INFO, m.resource_info(i)))
    queued = time.perf_counter()
    hub.close()
    done = time.perf_counter()
    return {
        "system": "parsl",
        "sent": n,
        "stored": count(workdir / "monitoring.db", "resource"),
        "queue_s": queued - start,
        "close_s": done - queued,
    }


def run(workdir: Path, n: int) -> list[dict[str, Any]]:
    results = []
    for system, bench in (("ours", ours), ("parsl", parsl)):
        sub = workdir / f"backlog-{system}"
        sub.mkdir()
        row = bench(sub, n)
        results.append(row)
        print(
            f"backlog {system:5}: {row['stored']:>9,} of {row['sent']:,} stored; queued in {row['queue_s']:.1f} s, "
            f"close() took {row['close_s']:.1f} s",
            flush=True,
        )
    return results
