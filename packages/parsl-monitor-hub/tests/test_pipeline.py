"""The hub's side of the writer process: batches in flight, refusals, FLUSH answers."""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING, Any

import pytest
import zmq

from parsl_monitor_core.wire import Message, MessageKind, validate_message
from parsl_monitor_hub.database import open_database
from parsl_monitor_hub.errors import HubError
from parsl_monitor_hub.ledger import Ledger
from parsl_monitor_hub.receiver import FlushRequest
from parsl_monitor_hub.rows import RowBuilder
from parsl_monitor_hub.statements import compile_statements
from parsl_monitor_hub.stats import HubStats
from parsl_monitor_hub.writing.pipeline import WritePipeline
from parsl_monitor_hub.writing.process import WriterProcess

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from conftest import Messages


def message(kind: MessageKind, payload: dict[str, Any]) -> Message:
    return validate_message([int(kind), payload])


class Pipe:
    def __init__(self, db_path: Path) -> None:
        self.url = f"sqlite:///{db_path}"
        engine = open_database(self.url)
        builder = RowBuilder(compile_statements(engine.dialect))
        engine.dispose()
        self.stats = HubStats(3600)
        self.ledger = Ledger()
        self.answers: list[tuple[bytes, int, int]] = []
        self.writer = WriterProcess(self.url, log_file=None, log_level="WARNING")
        self.pipeline = WritePipeline(self.writer, builder, self.stats, self.ledger, self.answer)

    def answer(self, request: FlushRequest, written: int) -> None:
        self.answers.append((request.identity, written, self.ledger.answer(request.sender, request.sent)))

    def wait_idle(self) -> None:
        while not self.pipeline.idle:
            self.pipeline.wait(100)


@pytest.fixture
def pipe(db_path: Path) -> Iterator[Pipe]:
    running = Pipe(db_path)
    yield running
    running.writer.stop()


def test_batches_sent_after_a_refused_one_are_written_again_in_order(pipe: Pipe, db_path: Path, make: Messages) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "create trigger refuse_66 before insert on resource when new.task_id = 66 "
            "begin select raise(abort, 'task 66 is refused'); end"
        )
    end = {"run_id": "run-1", "time_completed": make.at(9), "tasks_failed_count": 0, "tasks_completed_count": 0}
    # Both sent before any answer is read: the second is in flight when the first is refused.
    pipe.pipeline.submit(
        [message(MessageKind.WORKFLOW_INFO, make.workflow_start())]
        + [message(MessageKind.RESOURCE_INFO, make.resource_info(i, 1)) for i in range(100)],
        ["a"] * 51 + ["b"] * 50,
    )
    pipe.pipeline.submit(
        [message(MessageKind.RESOURCE_INFO, make.resource_info(i, 1)) for i in range(100, 200)]
        + [message(MessageKind.WORKFLOW_INFO, end)],
        ["a"] * 101,
    )
    pipe.pipeline.flush_after_sent(FlushRequest(b"sender", 1, "a", 152))
    pipe.wait_idle()
    pipe.pipeline.submit([], [])  # the rejection's count, written with the hub's next transaction
    pipe.wait_idle()
    # the refused message is settled too (rejected, not lost): a sent all 152, b its 50
    assert pipe.answers == [(b"sender", 1 + 199 + 1, 152)]
    assert pipe.stats.rejected_messages == 1
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("select count(*), sum(task_id = 66) from resource").fetchone() == (199, 0)
        assert conn.execute("select time_completed from workflow").fetchone() == ("2026-05-01 12:00:09.000000",)
        counts = conn.execute("select sender, settled, lost from parsl_monitor_sender order by sender").fetchall()
    assert counts == [("a", 152, 0), ("b", 50, 0)]


def test_a_flush_with_nothing_in_flight_is_answered_at_once(pipe: Pipe) -> None:
    pipe.pipeline.flush_after_sent(FlushRequest(b"sender", 1, "a", None))
    assert pipe.answers == [(b"sender", 0, 0)]


def test_what_a_sender_sent_and_the_hub_never_settled_is_recorded_lost(
    pipe: Pipe, db_path: Path, make: Messages
) -> None:
    pipe.pipeline.submit([message(MessageKind.RESOURCE_INFO, make.resource_info(i, 1)) for i in range(7)], ["a"] * 7)
    pipe.pipeline.flush_after_sent(FlushRequest(b"sender", 1, "a", 10))  # 3 never arrived
    pipe.wait_idle()
    assert pipe.answers == [(b"sender", 7, 7)]
    assert pipe.ledger.has_unwritten
    pipe.pipeline.submit([], [])  # the hub writes its news with the next transaction
    pipe.wait_idle()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("select sender, settled, lost from parsl_monitor_sender").fetchall() == [("a", 7, 3)]
    # a later hub reads the counts back: the sender's next FLUSH is answered over both lives
    assert Ledger.read(open_database(pipe.url)).settled == {"a": 7}


def test_a_dead_writer_is_reported_not_waited_for(pipe: Pipe, make: Messages) -> None:
    pipe.writer.process.kill()
    pipe.writer.process.wait()
    with pytest.raises(HubError, match=r"^the database writer process exited with code -9; see the hub's log$"):
        pipe.pipeline.submit([message(MessageKind.WORKFLOW_INFO, make.workflow_start())], ["a"])  # raises here, or
        while True:
            pipe.pipeline.wait(100)  # here, if ZMQ has not yet seen the connection close


def test_a_writer_that_dies_after_the_room_check_is_reported_not_waited_for(
    pipe: Pipe, make: Messages, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race CI once hit: a check found room, then the writer died before the send. A
    # blocking send would wait for a new writer forever, through the SIGTERM meant to stop it.
    monkeypatch.setattr(pipe.writer, "wait_connected", lambda: None)  # as if checked just before the death
    pipe.writer.process.kill()
    pipe.writer.process.wait()
    deadline = time.monotonic() + 10
    while pipe.writer.socket.poll(0, zmq.POLLOUT):  # until ZMQ has seen the connection close
        assert time.monotonic() < deadline, "ZMQ never saw the writer's connection close"
        time.sleep(0.01)
    with pytest.raises(HubError, match=r"^the database writer process exited with code -9; see the hub's log$"):
        pipe.pipeline.submit([message(MessageKind.WORKFLOW_INFO, make.workflow_start())], ["a"])


def test_a_row_the_database_driver_cannot_bind_is_refused_alone(pipe: Pipe, db_path: Path, make: Messages) -> None:
    # Validation keeps such values out; should one get through, the writer refuses its message and lives on.
    good = [message(MessageKind.RESOURCE_INFO, make.resource_info(i, 1)) for i in range(3)]
    unbindable = Message(MessageKind.RESOURCE_INFO, [2**63 if i == 1 else v for i, v in enumerate(good[0].values)])
    pipe.pipeline.submit([good[0], unbindable, good[1]], ["a"] * 3)
    pipe.pipeline.submit([good[2]], ["a"])
    pipe.pipeline.flush_after_sent(FlushRequest(b"sender", 1, "a", 4))
    pipe.wait_idle()
    assert pipe.answers == [(b"sender", 3, 4)]
    assert pipe.stats.rejected_messages == 1
    assert pipe.writer.process.poll() is None
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("select task_id from resource order by task_id").fetchall() == [(0,), (1,), (2,)]
