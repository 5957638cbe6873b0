from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any

import msgpack
import pytest

from parsl_monitor_core.wire import MAX_FRAME_BYTES, encode_frame, pack_frame
from parsl_monitor_core.wire import MessageKind as K

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Client, Messages, RunningHub


def rows(hub: RunningHub, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(hub.db_path)) as conn:
        return conn.execute(sql, args).fetchall()


def run_one_task(client: Client, make: Messages) -> None:
    client.send([(K.WORKFLOW_INFO, make.workflow_start())])
    client.send([(K.TASK_INFO, make.task_info(0, "pending", 1))])
    client.send([(K.TASK_INFO, make.task_info(0, "launched", 2, task_try_time_launched=make.at(2)))])
    client.send(
        [(K.WORKER_TASK_INFO, make.worker_info(0, 3, first=True)), (K.RESOURCE_INFO, make.resource_info(0, 3.5))]
    )
    client.send([(K.WORKER_TASK_INFO, make.worker_info(0, 4, first=False))])
    client.send(
        [
            (
                K.TASK_INFO,
                make.task_info(
                    0,
                    "exec_done",
                    5,
                    task_time_returned=make.at(5),
                    task_try_time_launched=make.at(2),
                    task_try_time_returned=make.at(5),
                    tasks_completed_count=1,
                ),
            )
        ]
    )
    client.send(
        [
            (
                K.WORKFLOW_INFO,
                {
                    "run_id": "run-1",
                    "time_completed": make.at(6),
                    "rundir": "/tmp",
                    "tasks_failed_count": 0,
                    "tasks_completed_count": 1,
                },
            )
        ]
    )


def test_a_task_lifecycle_is_stored_as_parsl_stores_it(hub: RunningHub, client: Client, make: Messages) -> None:
    run_one_task(client, make)
    assert client.flush() == 8
    assert rows(hub, "select task_status_name from status where task_id = 0 order by timestamp") == [
        ("pending",),
        ("launched",),
        ("running",),
        ("running_ended",),
        ("exec_done",),
    ]
    assert rows(hub, "select task_memoize, task_time_invoked, task_time_returned from task") == [
        ("0", "2026-05-01 12:00:00.000000", "2026-05-01 12:00:05.000000")
    ]
    assert rows(
        hub,
        "select task_executor, hostname, block_id, task_try_time_launched, task_try_time_running, "
        "task_try_time_returned from try",
    ) == [
        ("htex", "node1", "0", "2026-05-01 12:00:02.000000", "2026-05-01 12:00:03.000000", "2026-05-01 12:00:05.000000")
    ]
    assert rows(hub, "select time_completed, tasks_completed_count from workflow") == [
        ("2026-05-01 12:00:06.000000", 1)
    ]
    assert rows(hub, "select psutil_process_time_user, psutil_cpu_num from resource") == [(1.25, "1")]


def test_a_worker_message_before_its_try_row_is_kept(hub: RunningHub, client: Client, make: Messages) -> None:
    client.send([(K.WORKFLOW_INFO, make.workflow_start()), (K.WORKER_TASK_INFO, make.worker_info(7, 3, first=True))])
    client.flush()
    client.send([(K.TASK_INFO, make.task_info(7, "launched", 2))])
    client.flush()
    assert rows(hub, "select task_executor, hostname, task_try_time_running from try") == [
        ("htex", "node1", "2026-05-01 12:00:03.000000")
    ]


def test_retries_are_separate_tries(hub: RunningHub, client: Client, make: Messages) -> None:
    client.send([(K.WORKFLOW_INFO, make.workflow_start())])
    client.send([(K.TASK_INFO, make.task_info(1, "launched", 1))])
    client.send(
        [(K.TASK_INFO, make.task_info(1, "fail_retryable", 2, task_fail_count=1, task_fail_history="ValueError"))]
    )
    client.send([(K.TASK_INFO, make.task_info(1, "launched", 3, try_id=1, task_fail_count=1))])
    client.send([(K.TASK_INFO, make.task_info(1, "failed", 4, try_id=1, task_fail_count=2, tasks_failed_count=1))])
    client.send(
        [
            (
                K.WORKFLOW_INFO,
                {"run_id": "run-1", "time_completed": make.at(5), "tasks_failed_count": 1, "tasks_completed_count": 0},
            )
        ]
    )
    client.flush()
    assert rows(hub, "select try_id, task_fail_history from try order by try_id") == [(0, "ValueError"), (1, "")]
    assert rows(hub, "select task_fail_count from task") == [(2,)]
    assert rows(hub, "select tasks_failed_count from workflow") == [(1,)]


def test_node_agent_samples_go_to_the_node_sample_table(hub: RunningHub, client: Client, make: Messages) -> None:
    client.send([(K.WORKFLOW_INFO, make.workflow_start())])
    sample = {
        "run_id": "run-1",
        "hostname": "node7",
        "timestamp": make.at(3),
        "cpu_percent": 87.5,
        "memory_used": 3 * 2**30,
        "tasks_running": 4,
        "messages_dropped": 0,
    }
    client.send([(K.NODE_SAMPLE, sample), (K.NODE_SAMPLE, sample)])  # a re-sent sample is stored once
    client.flush()
    assert rows(hub, "select hostname, cpu_percent, memory_used, tasks_running, gpu_count from node_sample") == [
        ("node7", 87.5, 3 * 2**30, 4, None)
    ]


MALFORMED: list[tuple[str, list[bytes]]] = [
    ("random bytes", [b"\x00\xff\xc1" * 100]),
    ("empty frame", [b""]),
    ("msgpack but not an array", [msgpack.packb({"kind": 0})]),
    ("wrong protocol version", [msgpack.packb([999, "x", [[0, {}]]])]),
    ("sender not a string", [msgpack.packb([1, 5, []])]),
    ("two data frames", [encode_frame([], "x"), b"extra"]),
]


def test_malformed_frames_are_rejected_one_by_one_and_nothing_valid_is_lost(
    hub: RunningHub, client: Client, make: Messages
) -> None:
    client.send([(K.WORKFLOW_INFO, make.workflow_start())])
    for n, (_name, parts) in enumerate(MALFORMED):
        client.send([(K.RESOURCE_INFO, make.resource_info(n, 1))])
        client.send_raw(*parts)
    bad_messages: list[tuple[int, dict[str, Any]]] = [
        (77, {"run_id": "run-1"}),  # unknown kind
        (K.RESOURCE_INFO, {"run_id": "run-1", "task_id": 1}),  # missing fields
        (K.RESOURCE_INFO, {**make.resource_info(1, 2), "task_id": "one"}),  # mistyped field
        (K.FLUSHED, {"token": 1, "written": 0}),  # a hub's message, not a sender's
    ]
    for n, bad in enumerate(bad_messages, start=1):  # each between two good messages of the same frame
        ids = (100 * n, 100 * n + 1, 100 * n + 2)
        client.send(
            [(K.RESOURCE_INFO, make.resource_info(ids[0], 1)), bad, (K.RESOURCE_INFO, make.resource_info(ids[1], 1))]
        )
        client.send([(K.RESOURCE_INFO, make.resource_info(ids[2], 1))])
    written = client.flush()
    stats = hub.service.stats
    assert stats.rejected_frames == len(MALFORMED)
    assert stats.rejected_messages == len(bad_messages)
    assert written == 1 + len(MALFORMED) + 3 * len(bad_messages)
    assert rows(hub, "select count(*) from resource") == [(len(MALFORMED) + 3 * len(bad_messages),)]
    assert hub.thread.is_alive()


def test_an_oversized_frame_is_never_read_and_the_hub_stays_up(
    hub: RunningHub, client: Client, make: Messages, connect: Callable[[str], Client]
) -> None:
    hostile = connect(hub.service.url)
    client.send([(K.WORKFLOW_INFO, make.workflow_start())])
    huge = msgpack.packb([int(K.RESOURCE_INFO), ["run-1", 1, 0, msgpack.Timestamp(1, 0), "x" * MAX_FRAME_BYTES]])
    hostile.send_raw(pack_frame([huge], "hostile"))
    client.send([(K.RESOURCE_INFO, make.resource_info(2, 1))])
    hostile.send([(K.RESOURCE_INFO, make.resource_info(3, 1))])  # its connection was dropped; ZMQ reconnects
    # Our encoder cuts the text of a message too big for a frame (and says so), so it is written.
    client.send([(K.RESOURCE_INFO, {**make.resource_info(4, 1), "psutil_process_status": "y" * MAX_FRAME_BYTES})])
    client.flush()
    hostile.flush()
    assert rows(hub, "select task_id, length(psutil_process_status) < 1000000 from resource order by task_id") == [
        (2, 1),
        (3, 1),
        (4, 1),
    ]
    assert hub.service.stats.rejected == 0  # never read, so never counted here: the sender's count shows it
    assert hub.thread.is_alive()
    hostile.close()


def test_a_reader_holding_the_database_open_never_makes_the_hub_fail(
    hub: RunningHub, client: Client, make: Messages
) -> None:
    client.send([(K.WORKFLOW_INFO, make.workflow_start())])
    client.flush()
    reader = sqlite3.connect(hub.db_path, isolation_level=None)
    reader.execute("begin")
    assert reader.execute("select count(*) from resource").fetchone() == (0,)  # holds a read snapshot
    for start in range(0, 20_000, 500):
        client.send([(K.RESOURCE_INFO, make.resource_info(i, 1)) for i in range(start, start + 500)])
    client.flush(timeout=120)
    assert reader.execute("select count(*) from resource").fetchone() == (0,)  # still its snapshot
    reader.execute("commit")
    assert reader.execute("select count(*) from resource").fetchone() == (20_000,)
    reader.close()
    assert hub.service.stats.rejected == 0


def test_stop_writes_what_arrived_and_ends_unfinished_workflows(
    hub: RunningHub, client: Client, make: Messages
) -> None:
    client.send([(K.WORKFLOW_INFO, make.workflow_start("run-crashed"))])
    client.send([(K.TASK_INFO, make.task_info(0, "pending", 1, run_id="run-crashed"))])
    client.flush()
    hub.stop()
    assert rows(hub, "select count(*) from status") == [(1,)]
    ((completed,),) = rows(hub, "select time_completed from workflow")
    assert completed is not None
    # ...and says the hub ended it, so a killed program does not pass for a success
    assert rows(hub, "select run_id, reason, noted from parsl_monitor_run_end") == [
        ("run-crashed", "abandoned", completed)
    ]
    # every message is accounted for: 2 settled of sender "test"
    assert rows(hub, "select sender, run_id, settled, lost from parsl_monitor_sender") == [
        ("test", "run-crashed", 2, 0)
    ]


@pytest.mark.parametrize("hub_settings", [{"batch_size": 500, "batch_delay": 30}])  # batches due by size only
def test_a_stop_while_another_writer_holds_the_database_still_writes_everything_that_arrived(
    hub: RunningHub, client: Client, make: Messages
) -> None:
    # The writer waits for the lock with batches in flight, so the hub stops taking frames and
    # they wait in ZMQ's queue when the stop comes. The drain used to take "nothing taken" for
    # "nothing left", then wrote only full batches until the writer was idle, and exited 0 with
    # the rest unwritten (seen in CI: 192,000 of 200,000 stored).
    client.send([(K.WORKFLOW_INFO, make.workflow_start())])
    client.flush()
    other = sqlite3.connect(hub.db_path, isolation_level=None)
    other.execute("begin immediate")  # another program writing the same file
    total = 19_800
    for start in range(0, total, 300):
        client.send([(K.RESOURCE_INFO, make.resource_info(i, 1)) for i in range(start, start + 300)])
    end = {"run_id": "run-1", "time_completed": make.at(9), "tasks_failed_count": 0, "tasks_completed_count": 0}
    client.send([(K.WORKFLOW_INFO, end)])
    client.socket.close(linger=-1)  # returns once every frame is handed to the hub's connection
    stopping = threading.Thread(target=hub.stop)
    stopping.start()
    time.sleep(1)  # the drain meets a writer with no room
    other.execute("commit")
    other.close()
    stopping.join()
    assert rows(hub, "select count(*) from resource") == [(total,)]
    assert rows(hub, "select time_completed from workflow") == [("2026-05-01 12:00:09.000000",)]
    assert hub.service.stats.written == total + 2


@pytest.mark.parametrize("count", [1, 5000])
def test_flush_answers_after_everything_before_it_is_committed(
    hub: RunningHub, client: Client, make: Messages, count: int
) -> None:
    client.send([(K.WORKFLOW_INFO, make.workflow_start())])
    client.send([(K.RESOURCE_INFO, make.resource_info(i, 1)) for i in range(count)])
    client.flush()
    assert rows(hub, "select count(*) from resource") == [(count,)]


@pytest.mark.parametrize("hub_settings", [{"batch_size": 50}])  # many batches
def test_a_refused_message_costs_only_itself_and_later_batches_keep_their_order(
    hub: RunningHub, client: Client, make: Messages
) -> None:
    # A database-side refusal (here a trigger, as a constraint or a type check would be) in one of
    # many batches: the rest of its batch and every batch after it are written, in order.
    with sqlite3.connect(hub.db_path) as conn:
        conn.execute(
            "create trigger refuse_666 before insert on resource when new.task_id = 666 "
            "begin select raise(abort, 'task 666 is refused'); end"
        )
    client.send([(K.WORKFLOW_INFO, make.workflow_start())])
    for start in range(0, 1000, 100):
        client.send([(K.RESOURCE_INFO, make.resource_info(i, 1)) for i in range(start, start + 100)])
    end = {"run_id": "run-1", "time_completed": make.at(9), "tasks_failed_count": 0, "tasks_completed_count": 0}
    client.send([(K.WORKFLOW_INFO, end)])  # an update: it must still come after the workflow's insert
    written = client.flush()
    assert written == 1 + 999 + 1
    assert hub.service.stats.rejected_messages == 1
    assert rows(hub, "select count(*), sum(task_id = 666) from resource") == [(999, 0)]
    assert rows(hub, "select time_completed from workflow") == [("2026-05-01 12:00:09.000000",)]


def test_a_stopped_hub_leaves_its_database_readable_without_write_access(
    hub: RunningHub, client: Client, make: Messages
) -> None:
    # WAL needs a -shm file beside the database even to read it; a reader that may not write
    # the directory (another user's run) could not read it. Rollback mode needs none.
    run_one_task(client, make)
    client.flush()
    assert rows(hub, "pragma journal_mode") == [("wal",)]
    hub.stop()
    with hub.db_path.open("rb") as database:
        header = database.read(20)
    assert header[18:20] == b"\x01\x01"  # rollback journal
    assert sorted(p.name for p in hub.db_path.parent.iterdir()) == ["monitoring.db"]
