"""One hub under node agents' load: simulated nodes report their tasks every interval.

Each simulated node sends, once per interval and at its own moment within it (nodes are
not synchronized), one frame holding a RESOURCE_INFO per running task and its NODE_SAMPLE,
stamped with the time of sampling, as the node agent does. A reader polls the database
every 0.1 s for new rows and records each row's latency (sampled -> queryable) with
SQLite's own clock. The hub's CPU share is its CPU time (with its writer process's) over the measured
wall time.
"""

from __future__ import annotations

import datetime
import sqlite3
import statistics
import threading
import time
from typing import TYPE_CHECKING, Any

import psutil

from benchmarks import messages
from benchmarks.hubs import OurHub
from parsl_monitor_core.wire import FIELD_INDEX, PAYLOAD_FIELDS, MessageKind, pack_frame, pack_message

if TYPE_CHECKING:
    from pathlib import Path

TASKS_PER_NODE = 64
_R = FIELD_INDEX[MessageKind.RESOURCE_INFO]
_N = FIELD_INDEX[MessageKind.NODE_SAMPLE]


def _resource_template() -> list[Any]:
    fields = messages.resource_info(0)
    return [fields.get(spec.name) for spec in PAYLOAD_FIELDS[MessageKind.RESOURCE_INFO]]


def _node_frame(node: int, tasks: int, when: datetime.datetime, template: list[Any]) -> bytes:
    packed = []
    for i in range(tasks):
        values = list(template)
        values[_R["task_id"]] = node * TASKS_PER_NODE + i
        values[_R["timestamp"]] = when
        values[_R["hostname"]] = f"node{node:05d}"
        packed.append(pack_message(MessageKind.RESOURCE_INFO, values))
    sample: list[Any] = [None] * len(_N)
    sample[_N["run_id"]] = messages.RUN_ID
    sample[_N["hostname"]] = f"node{node:05d}"
    sample[_N["timestamp"]] = when
    sample[_N["cpu_percent"]] = 87.5
    sample[_N["tasks_running"]] = tasks
    packed.append(pack_message(MessageKind.NODE_SAMPLE, sample))
    return pack_frame(packed, f"node{node:05d}")


class _LatencyReader(threading.Thread):
    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.latencies: list[float] = []
        self.recording = False
        self.stopping = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.db)
        last = conn.execute("select coalesce(max(rowid), 0) from resource").fetchone()[0]
        while not self.stopping.wait(0.1):
            rows = conn.execute(
                "select rowid, (julianday('now') - julianday(timestamp)) * 86400.0 from resource where rowid > ?",
                (last,),
            ).fetchall()
            if rows:
                last = rows[-1][0]
                if self.recording:
                    self.latencies.extend(latency for _rowid, latency in rows)
        conn.close()


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    """The hub's CPU time: its own and its writer process's."""
    return sum(times.user + times.system for times in (process.cpu_times() for process in processes))


def _load(workdir: Path, tasks: int, interval: float, intervals: int) -> dict[str, Any]:
    db = workdir / f"load-{tasks}.db"
    hub = OurHub(db)
    hub.send(hub.frames([(messages.WORKFLOW_INFO, messages.workflow_start())]))
    hub.flush()
    reader = _LatencyReader(db)
    reader.start()
    nodes = max(1, tasks // TASKS_PER_NODE)
    template = _resource_template()
    hub_processes = [psutil.Process(hub.process.pid), *psutil.Process(hub.process.pid).children(recursive=True)]
    sent = 0
    start = time.monotonic()
    cpu_start = wall_start = None
    for round_no in range(intervals + 1):  # the first interval warms up
        if round_no == 1:
            reader.recording = True
            cpu_start, wall_start = _cpu_seconds(hub_processes), time.monotonic()
        for node in range(nodes):
            due = start + (round_no + node / nodes) * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            running = min(TASKS_PER_NODE, tasks - node * TASKS_PER_NODE)
            hub.socket.send(_node_frame(node, running, datetime.datetime.now(datetime.timezone.utc), template))
            sent += running + 1
    hub.flush()
    time.sleep(0.3)  # the reader's last poll
    assert cpu_start is not None and wall_start is not None
    cpu_share = (_cpu_seconds(hub_processes) - cpu_start) / (time.monotonic() - wall_start)
    reader.stopping.set()
    reader.join()
    hub.stop()
    latencies = sorted(reader.latencies)
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")
    result = {
        "tasks": tasks,
        "nodes": nodes,
        "messages_per_s": tasks / interval,
        "rows_measured": len(latencies),
        "p50_s": statistics.median(latencies) if latencies else float("nan"),
        "p99_s": p99,
        "max_s": latencies[-1] if latencies else float("nan"),
        "hub_cpu_share": cpu_share,
    }
    print(
        f"node load, {tasks:>7,} tasks on {nodes:,} nodes every {interval:g} s "
        f"({tasks / interval:,.0f} resource msg/s): "
        f"latency p50 {result['p50_s']:.2f} s, p99 {p99:.2f} s, max {result['max_s']:.2f} s; "
        f"hub CPU (with its writer process) {cpu_share:.0%} of a core",
        flush=True,
    )
    return result


def run(workdir: Path, loads: list[int], interval: float, intervals: int) -> list[dict[str, Any]]:
    return [_load(workdir, tasks, interval, intervals) for tasks in loads]
