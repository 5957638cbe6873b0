"""The update rules (Parsl's DatabaseManager) as rows, without a database: what each batch writes."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.dialects import sqlite

from parsl_monitor_core.wire import MessageKind, validate_message
from parsl_monitor_hub.rows import RowBuilder
from parsl_monitor_hub.statements import compile_statements

if TYPE_CHECKING:
    from conftest import Messages
    from parsl_monitor_core.wire import Message

STATEMENTS = compile_statements(sqlite.dialect())


def message(kind: MessageKind, payload: dict[str, Any]) -> Message:
    return validate_message([int(kind), payload])


def rows_of(*messages: Message) -> dict[str, list[dict[str, Any]]]:
    """Each statement's rows as dicts of its fields."""
    built = RowBuilder(STATEMENTS).rows(list(messages))
    return {
        name: [dict(zip(getattr(STATEMENTS, name).fields, row, strict=True)) for row in rows]
        for name, rows in built.items()
    }


@pytest.fixture
def task(make: Messages) -> Any:
    return lambda *args, **kw: message(MessageKind.TASK_INFO, make.task_info(*args, **kw))


def test_a_task_seen_three_times_in_one_batch_is_one_upsert_with_its_latest_values(task: Any) -> None:
    launched = {"task_try_time_launched": datetime.datetime(2026, 5, 1, 12, 0, 2, tzinfo=datetime.timezone.utc)}
    rows = rows_of(  # as Parsl sends them: each message carries the task record so far
        task(0, "pending", 1, task_stdout="first.out"),
        task(0, "launched", 2, **launched),
        task(
            0,
            "exec_done",
            3,
            task_time_returned=datetime.datetime(2026, 5, 1, 12, 0, 3, tzinfo=datetime.timezone.utc),
            **launched,
        ),
    )
    (task_row,) = rows["task_upsert"]
    assert task_row["task_time_returned"] == "2026-05-01 12:00:03.000000"  # the last message's, as UTC text
    assert task_row["task_stdout"] == "first.out"  # Parsl sets it at insert and never updates it
    (try_row,) = rows["try_upsert"]
    assert try_row["task_try_time_launched"] == "2026-05-01 12:00:02.000000"
    assert [r["task_status_name"] for r in rows["status_insert"]] == ["pending", "launched", "exec_done"]


def test_the_workflow_counts_are_the_newest_of_the_batch_and_dropped_by_the_run_s_end(
    task: Any, make: Messages
) -> None:
    counted = rows_of(task(0, "exec_done", 1, tasks_completed_count=1), task(1, "failed", 2, tasks_completed_count=1))
    assert [(r["tasks_completed_count"], r["tasks_failed_count"]) for r in counted["workflow_counts"]] == [(1, 0)]
    end = {"run_id": "run-1", "time_completed": make.at(9), "tasks_failed_count": 1, "tasks_completed_count": 1}
    ended = rows_of(task(0, "exec_done", 1, tasks_completed_count=1), message(MessageKind.WORKFLOW_INFO, end))
    assert "workflow_counts" not in ended  # the end message's counts are final
    assert [r["time_completed"] for r in ended["workflow_end"]] == ["2026-05-01 12:00:09.000000"]


def test_a_worker_s_first_and_last_messages_mark_the_try_running_and_its_end(make: Messages) -> None:
    first = message(MessageKind.WORKER_TASK_INFO, make.worker_info(4, 5, first=True))
    last = message(MessageKind.WORKER_TASK_INFO, make.worker_info(4, 8, first=False))
    rows = rows_of(first, last)
    (running,) = rows["try_running_upsert"]
    assert (running["task_id"], running["task_try_time_running"], running["hostname"]) == (
        4,
        "2026-05-01 12:00:05.000000",
        "node1",
    )
    assert [(r["task_status_name"], r["timestamp"]) for r in rows["status_insert"]] == [
        ("running", "2026-05-01 12:00:05.000000"),
        ("running_ended", "2026-05-01 12:00:08.000000"),
    ]


def test_values_parsl_stores_as_text_are_text(task: Any) -> None:
    rows = rows_of(task(0, "pending", 1, task_memoize=True))
    assert rows["task_upsert"][0]["task_memoize"] == "1"  # as Parsl's SQLite databases hold it


def test_abandoned_runs_get_an_end_time_and_a_reason() -> None:
    when = datetime.datetime(2026, 5, 1, 13, tzinfo=datetime.timezone.utc)
    built = RowBuilder(STATEMENTS).abandoned(["run-a", "run-b"], when)
    ends = [dict(zip(STATEMENTS.run_end.fields, row, strict=True)) for row in built["run_end"]]
    assert ends == [
        {"run_id": "run-a", "reason": "abandoned", "noted": "2026-05-01 13:00:00.000000"},
        {"run_id": "run-b", "reason": "abandoned", "noted": "2026-05-01 13:00:00.000000"},
    ]
    assert len(built["workflow_abandoned"]) == 2
