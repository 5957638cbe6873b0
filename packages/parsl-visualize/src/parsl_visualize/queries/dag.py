"""The dependency graph of a run: one row per task, laid out by charts.dag."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sqlalchemy import select

from parsl_visualize.queries._common import TASK, latest_states, parse_ids

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ("DagTask", "dag_tasks")


@dataclasses.dataclass(frozen=True, slots=True)
class DagTask:
    """A task, its app, its current state and the ids of the tasks it depends on."""

    task_id: int
    app: str
    state: str
    depends: tuple[int, ...]


def dag_tasks(conn: Connection, run_id: str) -> list[DagTask]:
    """All tasks of the run in id order (the graph needs every node and edge)."""
    latest = latest_states(conn.dialect.name, run_id)
    query = (
        select(TASK.c.task_id, TASK.c.task_func_name, latest.c.state, TASK.c.task_depends)
        .select_from(TASK.outerjoin(latest, latest.c.task_id == TASK.c.task_id))
        .where(TASK.c.run_id == run_id)
        .order_by(TASK.c.task_id)
    )
    return [
        DagTask(task_id, app, state or "unknown", parse_ids(depends))
        for task_id, app, state, depends in conn.execute(query)
    ]
