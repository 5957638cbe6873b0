"""How a run's tasks moved through their states over time, bucketed by the database."""

from __future__ import annotations

import dataclasses
import datetime  # noqa: TC003 - Litestar resolves the dataclasses' annotations for the API
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from parsl_visualize.queries._common import STATUS, TASK, TRY, WORKFLOW
from parsl_visualize.sqltime import bucket, epoch

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Connection, FromClause

__all__ = ("Concurrency", "GanttTry", "TimeAxis", "concurrency", "gantt_tries", "time_axis")

BUCKETS = 240


@dataclasses.dataclass(frozen=True)
class TimeAxis:
    """Buckets of equal width from the start of the run, in seconds since 1970 (database zone)."""

    start: float
    width: float
    count: int

    def offsets(self) -> list[float]:
        """Each bucket's start, in seconds since the run began."""
        return [round(i * self.width, 3) for i in range(self.count)]


def time_axis(conn: Connection, run_id: str, buckets: int = BUCKETS, min_width: float = 0.001) -> TimeAxis | None:
    """From the run's start to its end (or newest status while it runs); None for an unknown run.

    At most ``buckets`` buckets, each at least ``min_width`` seconds wide.
    """
    began = epoch(WORKFLOW.c.time_began)
    row = conn.execute(
        select(
            began,
            epoch(WORKFLOW.c.time_completed),
            select(epoch(func.max(STATUS.c.timestamp))).where(STATUS.c.run_id == run_id).scalar_subquery(),
        ).where(WORKFLOW.c.run_id == run_id)
    ).first()
    if row is None:
        return None
    start, completed, newest = row
    end = max(value for value in (start, completed, newest) if value is not None)
    width = max((end - start) / buckets, min_width)
    return TimeAxis(start=start, width=width, count=int((end - start) / width) + 1)


@dataclasses.dataclass(frozen=True)
class Concurrency:
    """Per bucket, how many tasks were in each phase; per app, how many were running."""

    axis: TimeAxis
    phases: dict[str, list[int]]
    running_by_app: dict[str, list[int]]


def _net(
    conn: Connection,
    axis: TimeAxis,
    source: FromClause,
    *,
    interval: tuple[ColumnElement[datetime.datetime], ColumnElement[datetime.datetime]],
    where: list[ColumnElement[bool]],
    by: ColumnElement[str] | None = None,
) -> dict[str, list[int]]:
    """Per bucket, how many ``interval``s were open: +1 in the start bucket, -1 in the end bucket.

    An interval that never started (a try that failed while queued has an end but no start
    of running) is not counted at all: its end alone would make the count negative.
    """
    series: dict[str, list[int]] = {}
    group = [by] if by is not None else []
    started = interval[0].is_not(None)
    for column, sign in zip(interval, (1, -1), strict=True):
        index = bucket((epoch(column) - axis.start) / axis.width)
        query = select(*group, index, func.count()).select_from(source).where(*where, started, column.is_not(None))
        for *key, i, n in conn.execute(query.group_by(*group, index)):
            deltas = series.setdefault(str(key[0]) if key else "", [0] * axis.count)
            deltas[min(max(i, 0), axis.count - 1)] += sign * n
    for deltas in series.values():
        total = 0
        for i, delta in enumerate(deltas):
            total += delta
            deltas[i] = total
    return series


def concurrency(conn: Connection, run_id: str, axis: TimeAxis) -> Concurrency:
    """Tasks waiting, queued and running over time, from task and try times (grouped scans only).

    pending: invoked until its first launch (or its return); launched: queued at the
    executor until running; running: until the try returned. Open intervals stay open.
    """
    t, y = TASK.c, TRY.c
    first_launch = (
        select(func.min(y.task_try_time_launched)).where(y.run_id == run_id, y.task_id == t.task_id).scalar_subquery()
    )
    of_run = [t.run_id == run_id]
    tries = [y.run_id == run_id]
    queued_until = func.coalesce(y.task_try_time_running, y.task_try_time_returned)
    pending_until = func.coalesce(first_launch, t.task_time_returned)
    phases = {
        "pending": _net(conn, axis, TASK, interval=(t.task_time_invoked, pending_until), where=of_run),
        "launched": _net(conn, axis, TRY, interval=(y.task_try_time_launched, queued_until), where=tries),
        "running": _net(conn, axis, TRY, interval=(y.task_try_time_running, y.task_try_time_returned), where=tries),
    }
    joined = TRY.join(TASK, (t.run_id == y.run_id) & (t.task_id == y.task_id))
    by_app = _net(
        conn,
        axis,
        joined,
        interval=(y.task_try_time_running, y.task_try_time_returned),
        where=tries,
        by=t.task_func_name,
    )
    return Concurrency(
        axis=axis,
        phases={name: series.get("", [0] * axis.count) for name, series in phases.items()},
        running_by_app=dict(sorted(by_app.items())),
    )


@dataclasses.dataclass(frozen=True)
class GanttTry:
    """One try of one task, as bars: pending, launched, running (seconds since the run began)."""

    task_id: int
    try_id: int
    app: str
    invoked: float | None
    launched: float | None
    running: float | None
    returned: float | None


def gantt_tries(conn: Connection, run_id: str, axis: TimeAxis, limit: int) -> list[GanttTry] | None:
    """Every try of the run, or None when the run has more than ``limit`` tries (draw concurrency instead)."""
    t, y = TASK.c, TRY.c
    count = conn.execute(select(func.count()).select_from(TRY).where(y.run_id == run_id)).scalar_one()
    if count > limit:
        return None

    def since(column: ColumnElement[datetime.datetime]) -> ColumnElement[float]:
        return epoch(column) - axis.start

    query = (
        select(
            t.task_id,
            y.try_id,
            t.task_func_name,
            since(t.task_time_invoked),
            since(y.task_try_time_launched),
            since(y.task_try_time_running),
            since(y.task_try_time_returned),
        )
        .select_from(TASK.join(TRY, (t.run_id == y.run_id) & (t.task_id == y.task_id)))
        .where(t.run_id == run_id)
        .order_by(t.task_id, y.try_id)
    )
    return [GanttTry(*row) for row in conn.execute(query)]
