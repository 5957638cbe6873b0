"""Pieces of SQL shared by the query modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from parsl_monitor_core.schema import Resource, Status, Task, Try, Workflow, table_of

if TYPE_CHECKING:
    from sqlalchemy import Subquery

__all__ = ("RESOURCE", "STATUS", "TASK", "TRY", "WORKFLOW", "latest_states")

WORKFLOW = table_of(Workflow)
TASK = table_of(Task)
TRY = table_of(Try)
STATUS = table_of(Status)
RESOURCE = table_of(Resource)


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
            .order_by(STATUS.c.task_id, STATUS.c.timestamp.desc())
            .subquery("latest")
        )
    query = (
        select(STATUS.c.task_id, STATUS.c.task_status_name.label("state"), func.max(STATUS.c.timestamp))
        .where(STATUS.c.run_id == run_id)
        .group_by(STATUS.c.task_id)
        .with_hint(STATUS, "INDEXED BY sqlite_autoindex_status_1", "sqlite")
    )
    return query.subquery("latest")
