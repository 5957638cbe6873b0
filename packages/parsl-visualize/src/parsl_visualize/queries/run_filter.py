"""Which runs the workflows list shows: filtered by name, status, owner, start date and a search, a page at a time.

The workflow table holds a row per run, so even 1,000 runs are one read of a few indexed
lookups each (see :func:`parsl_visualize.queries.workflows.list_workflows`); filtering and
sorting them in memory is cheaper than the SQL to express every filter. What costs is a
model per run that has not ended, for its live counts: only the runs on the page shown
get one.
"""

from __future__ import annotations

import dataclasses
import datetime  # noqa: TC003 - Litestar resolves the dataclass's annotations
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parsl_visualize.queries.workflows import WorkflowRow

__all__ = ("RUN_STATUSES", "RunFilter", "RunPage", "filter_runs")

RUN_STATUSES = ("running", "incomplete", "completed", "abandoned")


@dataclasses.dataclass(frozen=True)
class RunFilter:
    """What the workflows list shows.

    Attributes:
        name, status, user: exact values (None: any).
        since, until: start dates, both included (None: open).
        search: text found in the name, run id, host, owner or run directory (case ignored).
    """

    name: str | None = None
    status: str | None = None
    user: str | None = None
    since: datetime.date | None = None
    until: datetime.date | None = None
    search: str | None = None
    page: int = 1
    per_page: int = 50

    def matches(self, run: WorkflowRow) -> bool:
        """Whether the run passes every filter given."""
        began = run.began.date()
        text = self.search.casefold() if self.search else None
        return (
            (self.name is None or run.name == self.name)
            and (self.status is None or run.status == self.status)
            and (self.user is None or run.user == self.user)
            and (self.since is None or began >= self.since)
            and (self.until is None or began <= self.until)
            and (
                text is None
                or any(text in field.casefold() for field in (run.name, run.run_id, run.host, run.user, run.rundir))
            )
        )

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(v is not None for v in (self.name, self.status, self.user, self.since, self.until, self.search))


@dataclasses.dataclass(frozen=True)
class RunPage:
    """One page of the filtered runs, with what the filters can choose from."""

    runs: list[WorkflowRow]
    total: int
    page: int
    per_page: int
    names: list[str]
    users: list[str]

    @property
    def pages(self) -> int:
        """Number of pages, at least 1."""
        return max(1, -(-self.total // self.per_page))


def filter_runs(runs: list[WorkflowRow], spec: RunFilter) -> RunPage:
    """The page of ``runs`` (already sorted) that ``spec`` asks for."""
    matching = [run for run in runs if spec.matches(run)]
    start = (spec.page - 1) * spec.per_page
    return RunPage(
        runs=matching[start : start + spec.per_page],
        total=len(matching),
        page=spec.page,
        per_page=spec.per_page,
        names=sorted({run.name for run in runs}),
        users=sorted({run.user for run in runs}),
    )
