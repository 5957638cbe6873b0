"""Workflow runs: the list, and one run's summary figures."""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from parsl_visualize.queries._common import RESOURCE, STATUS, TASK, TRY, WORKFLOW, latest_states
from parsl_visualize.sqltime import epoch
from parsl_visualize.states import FAILED_STATES, STATE_ORDER

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Connection, Label, Row

__all__ = (
    "QUIET_AFTER",
    "AppSummary",
    "RunSummary",
    "WorkflowRow",
    "app_summary",
    "change_token",
    "find_workflow",
    "list_workflows",
    "overview",
    "run_summary",
    "states_by_app",
)

QUIET_AFTER = datetime.timedelta(minutes=10)
"""A run without an end time and without a status message for this long is shown as incomplete."""

SORT_KEYS = ("began", "name", "run_id", "status", "duration", "completed", "failed", "user", "host")


@dataclasses.dataclass(frozen=True)
class WorkflowRow:
    """One run as the workflows page lists it. Times are naive, in the database's zone."""

    run_id: str
    name: str
    version: str | None
    began: datetime.datetime
    ended: datetime.datetime | None
    last_message: datetime.datetime
    status: str
    host: str
    user: str
    rundir: str
    tasks_completed: int
    tasks_failed: int

    @property
    def duration(self) -> float:
        """Seconds from start to end, or to the last message while running."""
        return ((self.ended or self.last_message) - self.began).total_seconds()


def _status(ended: datetime.datetime | None, last_message: datetime.datetime, now: datetime.datetime) -> str:
    if ended is not None:
        return "completed"
    return "running" if now - last_message < QUIET_AFTER else "incomplete"


def _live_counts(conn: Connection, run_id: str) -> tuple[int, int]:
    # Parsl fills the workflow row's counts only at the end; count final states meanwhile.
    latest = latest_states(conn.dialect.name, run_id)
    rows = conn.execute(select(latest.c.state, func.count()).group_by(latest.c.state))
    counts: dict[str, int] = {state: n for state, n in rows}  # noqa: C416 - dict(Result) would call its keys()
    failed = sum(counts.get(state, 0) for state in FAILED_STATES)
    return counts.get("exec_done", 0) + counts.get("memo_done", 0), failed


def _row(conn: Connection, row: Row[tuple[object, ...]], now: datetime.datetime) -> WorkflowRow:
    w = row._mapping
    ended: datetime.datetime | None = w["time_completed"]
    began: datetime.datetime = w["time_began"]
    last: datetime.datetime = ended or w["last_message"] or began
    status = _status(ended, last, now)
    completed, failed = (
        (w["tasks_completed_count"], w["tasks_failed_count"]) if ended else _live_counts(conn, w["run_id"])
    )
    return WorkflowRow(
        run_id=w["run_id"],
        name=w["workflow_name"] or "(unnamed)",
        version=w["workflow_version"],
        began=began,
        ended=ended,
        last_message=last,
        status=status,
        host=w["host"],
        user=w["user"],
        rundir=w["rundir"],
        tasks_completed=completed,
        tasks_failed=failed,
    )


def _last_message() -> Label[datetime.datetime | None]:
    return (
        select(func.max(STATUS.c.timestamp))
        .where(STATUS.c.run_id == WORKFLOW.c.run_id)
        .scalar_subquery()
        .label("last_message")
    )


def list_workflows(
    conn: Connection, now: datetime.datetime, sort: str = "began", descending: bool = True
) -> list[WorkflowRow]:
    """Every run in the database; live counts only for runs that have not ended."""
    rows = conn.execute(select(WORKFLOW, _last_message())).all()
    runs = [_row(conn, row, now) for row in rows]
    key = sort if sort in SORT_KEYS else "began"
    attribute = {"completed": "tasks_completed", "failed": "tasks_failed", "ended": "ended"}.get(key, key)
    runs.sort(key=lambda run: (getattr(run, attribute) is None, getattr(run, attribute)), reverse=descending)
    return runs


def find_workflow(conn: Connection, run_id: str, now: datetime.datetime) -> WorkflowRow | None:
    """One run, or None when the database does not hold it."""
    row = conn.execute(select(WORKFLOW, _last_message()).where(WORKFLOW.c.run_id == run_id)).first()
    return None if row is None else _row(conn, row, now)


def change_token(conn: Connection, run_id: str) -> str:
    """Changes whenever anything the pages show of this run may have changed.

    Index lookups on our databases: newest status and resource times, task count, end time.
    """
    row = conn.execute(
        select(
            select(func.max(STATUS.c.timestamp)).where(STATUS.c.run_id == run_id).scalar_subquery(),
            select(func.count()).select_from(TASK).where(TASK.c.run_id == run_id).scalar_subquery(),
            select(WORKFLOW.c.time_completed).where(WORKFLOW.c.run_id == run_id).scalar_subquery(),
            select(func.max(RESOURCE.c.timestamp)).where(RESOURCE.c.run_id == run_id).scalar_subquery(),
        )
    ).one()
    return "|".join(str(value) for value in row)


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """Task statistics of one run.

    Attributes:
        states: tasks per current state, in :data:`STATE_ORDER` order, zero counts left out.
        tasks: number of tasks.
        mean_duration, median_duration, max_duration: seconds from invocation to return,
            over tasks that have returned; None when none has.
    """

    states: list[tuple[str, int]]
    tasks: int
    tries: int
    mean_duration: float | None
    median_duration: float | None
    max_duration: float | None


@dataclasses.dataclass(frozen=True)
class AppSummary:
    """One app of a run: how often it ran, failed, and how long it took (seconds)."""

    app: str
    tasks: int
    failed: int
    running: int
    mean_duration: float | None
    max_duration: float | None


def _duration() -> ColumnElement[float]:
    return epoch(TASK.c.task_time_returned) - epoch(TASK.c.task_time_invoked)


def states_by_app(conn: Connection, run_id: str) -> dict[str, dict[str, int]]:
    """Tasks per app and current state: one pass over ``status``, shared by both summaries."""
    latest = latest_states(conn.dialect.name, run_id)
    app = TASK.c.task_func_name
    query = (
        select(app, latest.c.state, func.count())
        .select_from(latest.join(TASK, (TASK.c.task_id == latest.c.task_id) & (TASK.c.run_id == run_id)))
        .group_by(app, latest.c.state)
    )
    counts: dict[str, dict[str, int]] = {}
    for name, state, n in conn.execute(query):
        counts.setdefault(name, {})[state] = n
    return counts


def run_summary(conn: Connection, run_id: str, by_app: dict[str, dict[str, int]]) -> RunSummary:
    """Counts per state (from :func:`states_by_app`) and duration statistics, computed by the database."""
    counts: dict[str, int] = {}
    for states in by_app.values():
        for state, n in states.items():
            counts[state] = counts.get(state, 0) + n
    order = {state: i for i, state in enumerate(STATE_ORDER)}
    ordered = sorted(counts.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    duration = _duration()
    finished = TASK.c.run_id == run_id, TASK.c.task_time_returned.is_not(None)
    tasks, returned, mean, longest = conn.execute(
        select(
            select(func.count()).select_from(TASK).where(TASK.c.run_id == run_id).scalar_subquery(),
            func.count(),
            func.avg(duration),
            func.max(duration),
        ).where(*finished)
    ).one()
    median = None
    if returned:
        median = conn.execute(
            select(duration).where(*finished).order_by(duration).offset(returned // 2).limit(1)
        ).scalar()
    tries = conn.execute(select(func.count()).select_from(TRY).where(TRY.c.run_id == run_id)).scalar_one()
    return RunSummary(
        states=ordered, tasks=tasks, tries=tries, mean_duration=mean, median_duration=median, max_duration=longest
    )


def app_summary(conn: Connection, run_id: str, by_app: dict[str, dict[str, int]]) -> list[AppSummary]:
    """Each app of the run with its task count, failures, running tasks and durations."""
    app = TASK.c.task_func_name
    duration = _duration()
    rows = conn.execute(
        select(app, func.count(), func.avg(duration), func.max(duration))
        .where(TASK.c.run_id == run_id)
        .group_by(app)
        .order_by(app)
    )
    return [
        AppSummary(
            app=name,
            tasks=n,
            failed=sum(by_app.get(name, {}).get(state, 0) for state in FAILED_STATES),
            running=by_app.get(name, {}).get("running", 0),
            mean_duration=mean,
            max_duration=longest,
        )
        for name, n, mean, longest in rows
    ]


def overview(conn: Connection, run_id: str) -> tuple[RunSummary, list[AppSummary]]:
    """Both summaries of the workflow page, sharing their pass over ``status``."""
    by_app = states_by_app(conn, run_id)
    return run_summary(conn, run_id, by_app), app_summary(conn, run_id, by_app)
