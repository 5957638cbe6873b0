"""Pieces of SQL shared by the query modules."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import String, case, cast, func, select, type_coerce

from parsl_monitor_core.schema import Resource, Status, Task, Try, Workflow, table_of
from parsl_monitor_core.wire import INT64_MAX
from parsl_visualize.states import FINAL_STATES

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Subquery

__all__ = ("RESOURCE", "STATUS", "TASK", "TRY", "WORKFLOW", "final_last", "latest_states", "parse_ids", "parse_task_id")

WORKFLOW = table_of(Workflow)
TASK = table_of(Task)
TRY = table_of(Try)
STATUS = table_of(Status)
RESOURCE = table_of(Resource)


_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_task_id(text: str) -> int | None:
    """A task id typed by a user or stored as text: ASCII digits within 64 bits, else None."""
    text = text.strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= INT64_MAX else None


def parse_ids(text: str | None) -> tuple[int, ...]:
    """The ids in Parsl's ``task_depends`` text ("1,2,3"); anything else in it is skipped."""
    if not text:
        return ()
    if text.isascii() and text.replace(",", "").isdigit():
        try:
            ids = tuple(map(int, text.split(",")))  # the usual "1,2,3"
        except ValueError:  # an empty part ("1,,2")
            pass
        else:
            if max(ids) <= INT64_MAX:
                return ids
    return tuple(value for part in text.split(",") if (value := parse_task_id(part)) is not None)


def final_last() -> ColumnElement[int]:
    """1 for final states, else 0: of two statuses with the same time, the final one is newer.

    A worker's ``running_ended`` and the DataFlowKernel's ``exec_done`` can carry the same time.
    """
    return case((STATUS.c.task_status_name.in_(sorted(FINAL_STATES)), 1), else_=0)


def latest_states(dialect: str, run_id: str) -> Subquery:
    """``(task_id, state)``: the newest status of every task of the run.

    SQLite returns the other column of the row holding ``max()``; walking the primary key
    (task_id first) avoids sorting 5 rows per task (0.23 s instead of 0.6 s at 100k tasks).
    PostgreSQL gets DISTINCT ON, its idiom for the same thing.
    """
    if dialect == "postgresql":
        return (
            select(STATUS.c.task_id, STATUS.c.task_status_name.label("state"))
            .where(STATUS.c.run_id == run_id)
            .distinct(STATUS.c.task_id)
            .order_by(STATUS.c.task_id, STATUS.c.timestamp.desc(), final_last().desc())
            .subquery("latest")
        )
    # SQLite stores times as fixed-width text ("YYYY-MM-DD HH:MM:SS.ffffff", ours and Parsl's),
    # so the text with the rank appended orders as (time, rank). Typed as text, "+" is "||":
    # on the DateTime column it was a numeric sum that kept only the year.
    newest = func.max(type_coerce(STATUS.c.timestamp, String) + cast(final_last(), String))
    query = (
        select(STATUS.c.task_id, STATUS.c.task_status_name.label("state"), newest)
        .where(STATUS.c.run_id == run_id)
        .group_by(STATUS.c.task_id)
        .with_hint(STATUS, "INDEXED BY sqlite_autoindex_status_1", "sqlite")
    )
    return query.subquery("latest")
