"""Pieces of SQL shared by the query modules."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from parsl_monitor_core.schema import Resource, Status, Task, Try, Workflow, table_of
from parsl_monitor_core.wire import INT64_MAX
from parsl_visualize.states import PATH_RANKS, UNKNOWN_PATH_RANK

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Subquery
    from sqlalchemy.sql.compiler import SQLCompiler

__all__ = (
    "RESOURCE",
    "STATUS",
    "TASK",
    "TRY",
    "WORKFLOW",
    "latest_states",
    "newest_first",
    "newest_of_group",
    "parse_ids",
    "parse_task_id",
    "path_order",
    "path_rank_of_status",
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


def path_rank_of_status() -> ColumnElement[int]:
    """:func:`~parsl_visualize.states.path_rank` of each status row, in SQL."""
    return case(PATH_RANKS, value=STATUS.c.task_status_name, else_=UNKNOWN_PATH_RANK)


def path_order() -> tuple[ColumnElement[Any], ...]:
    """The ORDER BY of a task's statuses along its path: by try, along the try, then by time and name."""
    s = STATUS.c
    return (s.try_id, path_rank_of_status(), s.timestamp, s.task_status_name)


def newest_first() -> tuple[ColumnElement[Any], ...]:
    """:func:`path_order` reversed: a task's newest status first."""
    return tuple(column.desc() for column in path_order())


def newest_of_group() -> ColumnElement[int]:
    """SQLite: an aggregate whose ``max()`` row is a task's newest status (by try, then along it).

    SQLite returns the other columns of the row holding ``max()``. A number: text with the
    time appended, built for every row, costs half again as much. Rows that tie hold the
    same state (or two states Parsl adds later; then either is taken).
    """
    return func.max(STATUS.c.try_id * (max(PATH_RANKS.values()) + 1) + path_rank_of_status())


def latest_states(dialect: str, run_id: str) -> Subquery:
    """``(task_id, state)``: the newest status of every task of the run, in SQL.

    The in-memory models compute states themselves (``queries.run_rows``); this one pass is
    the unit the live-dashboard benchmark measures against. SQLite returns the other column
    of the row holding ``max()``, grouped along the primary key (task_id first); PostgreSQL
    gets DISTINCT ON, its idiom for the same thing.
    """
    if dialect == "postgresql":
        return (
            select(STATUS.c.task_id, STATUS.c.task_status_name.label("state"))
            .where(STATUS.c.run_id == run_id)
            .distinct(STATUS.c.task_id)
            .order_by(STATUS.c.task_id, *newest_first())
            .subquery("latest")
        )
    query = (
        select(STATUS.c.task_id, STATUS.c.task_status_name.label("state"), newest_of_group())
        .where(unindexed(STATUS.c.run_id) == run_id)
        .group_by(STATUS.c.task_id)
    )
    return query.subquery("latest")
