"""Workflow runs: the list, and one run's row."""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, literal, select

from parsl_monitor_core.schema import RUN_ABANDONED, NodeSample, RunEnd, SenderCount, table_of
from parsl_visualize.live.model import RunProgress  # noqa: TC001 - Litestar reads the dataclass at runtime
from parsl_visualize.queries._common import RESOURCE, STATUS, WORKFLOW

if TYPE_CHECKING:
    from sqlalchemy import Connection, Label, Row, Select, Table

__all__ = ("QUIET_AFTER", "WorkflowRow", "find_workflow", "list_workflows", "open_workflows", "sort_runs")

QUIET_AFTER = datetime.timedelta(minutes=10)
"""A run without an end time and without any message (status, resource or node sample) for this long is incomplete."""

SORT_KEYS = ("began", "name", "run_id", "status", "duration", "completed", "failed", "user", "host")


@dataclasses.dataclass(frozen=True)
class WorkflowRow:
    """One run as the workflows page lists it. Times are naive, in the database's zone.

    While a run has not ended, its task counts are those of its model (Parsl writes the
    workflow row's counts only at the end): see :meth:`with_progress`.
    """

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
    progress: RunProgress | None = None
    """Tasks per phase so far (from the run's model), for runs that have not ended."""
    lost: int = 0
    """Messages of this run the hub counted as sent and never received (schema version 3)."""

    @property
    def duration(self) -> float:
        """Seconds from start to end, or to the last message while running."""
        return ((self.ended or self.last_message) - self.began).total_seconds()

    def with_progress(self, progress: RunProgress) -> WorkflowRow:
        """The row with the live counts of a run that has not ended."""
        if self.ended is not None:
            return self
        return dataclasses.replace(self, tasks_completed=progress.done, tasks_failed=progress.failed, progress=progress)


def _status(
    ended: datetime.datetime | None, last_message: datetime.datetime, now: datetime.datetime, end_reason: str | None
) -> str:
    if ended is not None:
        return "abandoned" if end_reason == RUN_ABANDONED else "completed"
    return "running" if now - last_message < QUIET_AFTER else "incomplete"


def _row(row: Row[tuple[object, ...]], now: datetime.datetime) -> WorkflowRow:
    w = row._mapping
    ended: datetime.datetime | None = w["time_completed"]
    began: datetime.datetime = w["time_began"]
    newest = (w["last_status"], w["last_sample"], w["last_node_sample"], began)
    last: datetime.datetime = ended or max(filter(None, newest))
    return WorkflowRow(
        run_id=w["run_id"],
        name=w["workflow_name"] or "(unnamed)",
        version=w["workflow_version"],
        began=began,
        ended=ended,
        last_message=last,
        status=_status(ended, last, now, w["end_reason"]),
        host=w["host"],
        user=w["user"],
        rundir=w["rundir"],
        tasks_completed=w["tasks_completed_count"],
        tasks_failed=w["tasks_failed_count"],
        lost=w["lost"] or 0,
    )


def _newest(table: Table, label: str) -> Label[datetime.datetime | None]:
    column = table.c
    return select(func.max(column.timestamp)).where(column.run_id == WORKFLOW.c.run_id).scalar_subquery().label(label)


def _runs(ledger: bool) -> Select[Any]:
    """Runs with their newest message times (index lookups), and what the hub noted of them.

    Args:
        ledger: the database has the hub's bookkeeping tables (schema version 3 and later,
            which also has the node agents' ``node_sample``).
    """
    newest = (_newest(STATUS, "last_status"), _newest(RESOURCE, "last_sample"))
    if not ledger:
        nothing = (literal(None).label("last_node_sample"), literal(None).label("end_reason"))
        return select(WORKFLOW, *newest, *nothing, literal(0).label("lost"))
    ends, senders = table_of(RunEnd), table_of(SenderCount)
    reason = select(ends.c.reason).where(ends.c.run_id == WORKFLOW.c.run_id).scalar_subquery().label("end_reason")
    lost = select(func.sum(senders.c.lost)).where(senders.c.run_id == WORKFLOW.c.run_id).scalar_subquery()
    node_sample = _newest(table_of(NodeSample), "last_node_sample")  # the node agents' samples count too
    return select(WORKFLOW, *newest, node_sample, reason, lost.label("lost"))


def list_workflows(
    conn: Connection,
    now: datetime.datetime,
    sort: str = "began",
    descending: bool = True,
    *,
    ledger: bool = False,
) -> list[WorkflowRow]:
    """Every run in the database (counts of runs that have not ended: see :meth:`WorkflowRow.with_progress`).

    ``ledger``: the database has the hub's bookkeeping (``Database.has_ledger``).
    """
    return sort_runs([_row(row, now) for row in conn.execute(_runs(ledger))], sort, descending)


def sort_runs(runs: list[WorkflowRow], sort: str = "began", descending: bool = True) -> list[WorkflowRow]:
    """``runs`` ordered by one of :data:`SORT_KEYS` (``began`` for anything else)."""
    key = sort if sort in SORT_KEYS else "began"
    attribute = {"completed": "tasks_completed", "failed": "tasks_failed", "ended": "ended"}.get(key, key)
    return sorted(runs, key=lambda run: (getattr(run, attribute) is None, getattr(run, attribute)), reverse=descending)


def open_workflows(conn: Connection, now: datetime.datetime, *, ledger: bool = False) -> list[WorkflowRow]:
    """The runs that have not ended (running or incomplete), in no particular order."""
    return [_row(row, now) for row in conn.execute(_runs(ledger).where(WORKFLOW.c.time_completed.is_(None)))]


def find_workflow(conn: Connection, run_id: str, now: datetime.datetime, *, ledger: bool = False) -> WorkflowRow | None:
    """One run, or None when the database does not hold it."""
    row = conn.execute(_runs(ledger).where(WORKFLOW.c.run_id == run_id)).first()
    return None if row is None else _row(row, now)
