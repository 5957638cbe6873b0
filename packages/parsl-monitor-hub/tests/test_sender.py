from __future__ import annotations

import multiprocessing
import pickle
import sqlite3
import subprocess
import sys
from typing import TYPE_CHECKING

from parsl_monitor_core.wire import HubQueue
from parsl_monitor_hub.sender import HubSender

if TYPE_CHECKING:
    from conftest import Messages, RunningHub


class FakeMessageType:
    """Parsl's MessageType is an Enum; the sender only reads ``.value``. (No Parsl in this package's tests.)"""

    def __init__(self, value: int) -> None:
        self.value = value


def count(hub: RunningHub, table: str) -> int:
    with sqlite3.connect(hub.db_path) as conn:
        return int(conn.execute(f"select count(*) from {table}").fetchone()[0])  # noqa: S608 - test table names


def test_it_is_a_multiprocessing_queue_that_pickles_as_its_url_and_interval() -> None:
    sender = HubSender("tcp://127.0.0.1:1", 10.0)
    assert isinstance(sender, multiprocessing.queues.Queue)
    assert isinstance(sender, HubQueue)  # what ZMQRadio looks for
    copy = pickle.loads(pickle.dumps(sender))
    assert (copy.url, copy.resource_monitoring_interval) == ("tcp://127.0.0.1:1", 10.0)
    assert copy.__getstate__() == {"url": "tcp://127.0.0.1:1", "interval": 10.0}


def test_put_then_flush_means_committed(hub: RunningHub, make: Messages) -> None:
    sender = HubSender(hub.service.url)
    sender.put((FakeMessageType(2), make.workflow_start()))
    for i in range(3000):
        sender.put((FakeMessageType(1), make.resource_info(i, 1)))
    ticket = sender.request_flush()
    assert ticket.wait(30)
    assert ticket.confirmed
    assert count(hub, "resource") == 3000
    sender.close(timeout=10)


def test_block_info_lists_become_one_row_per_block(hub: RunningHub, make: Messages) -> None:
    sender = HubSender(hub.service.url)
    sender.put((FakeMessageType(2), make.workflow_start()))
    blocks = [
        {
            "run_id": "run-1",
            "status": s,
            "timestamp": make.at(i),
            "executor_label": "htex",
            "job_id": 1234 + i,
            "block_id": str(i),
        }
        for i, s in enumerate(["PENDING", "RUNNING"])
    ]
    sender.put((FakeMessageType(4), blocks))
    sender.close(timeout=30)
    with sqlite3.connect(hub.db_path) as conn:
        assert conn.execute("select block_id, job_id, status from block order by block_id").fetchall() == [
            ("0", "1234", "PENDING"),
            ("1", "1235", "RUNNING"),
        ]


CHILD = """
import pickle, sys

class FakeMessageType:
    def __init__(self, value):
        self.value = value

sender, payloads = pickle.load(sys.stdin.buffer)
for payload in payloads:
    sender.put((FakeMessageType(1), payload))
# no close(): process exit must deliver, as when Parsl's monitoring router process returns
"""


def test_another_process_given_the_pickled_sender_delivers_everything_at_exit(hub: RunningHub, make: Messages) -> None:
    sender = HubSender(hub.service.url)
    sender.put((FakeMessageType(2), make.workflow_start()))
    assert sender.request_flush().wait(30)
    payload = pickle.dumps((sender, [make.resource_info(i, 2) for i in range(500)]))
    child = subprocess.run([sys.executable, "-c", CHILD], input=payload, capture_output=True, timeout=60, check=False)
    assert child.returncode == 0, child.stderr
    assert sender.request_flush().wait(30)
    assert count(hub, "resource") == 500
    sender.close(timeout=10)


def _put_in_fork_child(sender: HubSender, payloads: list[dict[str, object]]) -> None:
    for payload in payloads:
        sender.put((FakeMessageType(1), payload))
    sender.close(timeout=30)


def test_a_fork_child_opens_its_own_channel(hub: RunningHub, make: Messages) -> None:
    # The parent's channel (thread, socket) does not exist in a fork child; using it would lose everything.
    sender = HubSender(hub.service.url)
    sender.put((FakeMessageType(2), make.workflow_start()))
    assert sender.request_flush().wait(30)
    child = multiprocessing.get_context("fork").Process(
        target=_put_in_fork_child, args=(sender, [make.resource_info(i, 3) for i in range(200)])
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    sender.put((FakeMessageType(1), make.resource_info(999, 3)))  # the parent's channel still works
    assert sender.request_flush().wait(30)
    assert count(hub, "resource") == 201
    sender.close(timeout=10)


def test_first_and_last_messages_of_parsl_before_2026_5_11_give_the_rows_newer_parsl_gives(
    hub: RunningHub, make: Messages
) -> None:
    """Parsl < 2026.5.11 sent them as RESOURCE_INFO with first_msg / last_msg; the database must not tell."""
    sender = HubSender(hub.service.url)
    for run_id, worker_kind in (("old-parsl", 1), ("new-parsl", 5)):
        sender.put((FakeMessageType(2), make.workflow_start(run_id)))
        for task in range(3):
            sender.put((FakeMessageType(0), make.task_info(task, "launched", 1, run_id=run_id)))
            sender.put((FakeMessageType(worker_kind), make.worker_info(task, 2, first=True, run_id=run_id)))
            sample = make.resource_info(task, 3, run_id=run_id)
            if worker_kind == 1:
                sample |= {"first_msg": False, "last_msg": False}  # how old Parsl marked a periodic sample
            sender.put((FakeMessageType(1), sample))
            sender.put((FakeMessageType(worker_kind), make.worker_info(task, 4, first=False, run_id=run_id)))
            sender.put((FakeMessageType(0), make.task_info(task, "exec_done", 5, run_id=run_id)))
    assert sender.close(timeout=30)

    def rows(run_id: str) -> dict[str, list[tuple[object, ...]]]:
        queries = {
            "status": "select task_id, task_status_name, timestamp from status where run_id = ? order by 1, 3",
            "try": "select task_id, task_try_time_running, hostname, block_id from try where run_id = ? order by 1",
            "resource": "select task_id, timestamp, psutil_process_pid from resource where run_id = ? order by 1",
        }
        with sqlite3.connect(hub.db_path) as conn:
            return {table: conn.execute(sql, (run_id,)).fetchall() for table, sql in queries.items()}

    old, new = rows("old-parsl"), rows("new-parsl")
    assert old == new
    assert [name for task, name, _ in old["status"] if task == 0] == [
        "launched",
        "running",
        "running_ended",
        "exec_done",
    ]
    assert all(running is not None and host == "node1" for _, running, host, _ in old["try"])
    assert len(old["resource"]) == 3  # the periodic samples only: no all-NULL rows for first and last
