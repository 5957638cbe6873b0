"""Pieces of SQL shared by the query modules."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, case, cast, func, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from parsl_monitor_core.schema import Resource, Status, Task, Try, Workflow, table_of
from parsl_monitor_core.wire import INT64_MAX
from parsl_visualize.states import FINAL_STATES

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Subquery
    from sqlalchemy.sql.compiler import SQLCompiler

__all__ = (
    "RESOURCE",
    "STATUS",
    "TASK",
    "TRY",
    "WORKFLOW",
    "final_last",
    "latest_states",
    "parse_ids",
    "parse_task_id",
    "unindexed",
)

WORKFLOW = table_of(Workflow)
TASK = table_of(Task)
TRY = table_of(Try)
STATUS = table_of(Status)
RESOURCE = table_of(Resource)


class unindexed(FunctionElement[str]):  # noqa: N801 - reads like SQL
    """A text column that SQLite may not look up through an index (``+column``; the column itself elsewhere).

    SQLite picks the (run_id, timestamp) indexes for "the rows of run X" even where the
    primary key (task_id first) serves better: one task's statuses, every task's newest
    status in task order. SQLAlchemy does not render index hints for SQLite.
    """

    type = String()
    inherit_cache = True


@compiles(unindexed)
def _unindexed_default(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


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
    """``(task_id, state)``: the newest status of every task of the run, in SQL.

    The in-memory models compute states themselves (``queries.run_rows``); this one pass is
    the unit the live-dashboard benchmark measures against. SQLite returns the other column
    of the row holding ``max()``, grouped along the primary key (task_id first), which
    covers every column read; PostgreSQL gets DISTINCT ON, its idiom for the same thing.
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
        .where(unindexed(STATUS.c.run_id) == run_id)
        .group_by(STATUS.c.task_id)
    )
    return query.subquery("latest")
