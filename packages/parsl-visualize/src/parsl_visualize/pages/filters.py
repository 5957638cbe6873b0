"""Query parameters of the task list and the workflows list, declared once for the pages, the CSV export and the API."""

from __future__ import annotations

import datetime
from typing import Annotated

from litestar.exceptions import ValidationException
from litestar.params import PathParameter, QueryParameter

from parsl_monitor_core.wire import INT64_MAX
from parsl_visualize.live.model import SORT_COLUMNS, TaskFilter
from parsl_visualize.queries.run_filter import RUN_STATUSES, RunFilter

__all__ = ("MAX_PER_PAGE", "PER_PAGE", "TaskId", "provide_run_filter", "provide_task_filter")

PER_PAGE = 50
MAX_PER_PAGE = 1000

TaskId = Annotated[int, PathParameter(ge=0, le=INT64_MAX, description="A task id (0 to 2**63 - 1)")]
"""A task id as the database can hold it: anything else is a 400 naming the parameter."""


def provide_task_filter(  # noqa: PLR0917 - Litestar passes query parameters by name
    task_state: Annotated[
        str | None, QueryParameter(name="state", description="a task state, or 'failures' for failed and dep_fail")
    ] = None,
    app: Annotated[str | None, QueryParameter(description="an app (function) name")] = None,
    host: Annotated[str | None, QueryParameter(description="tasks with a try on this host")] = None,
    q: Annotated[str | None, QueryParameter(description="a task id")] = None,
    error: Annotated[
        str | None, QueryParameter(max_length=64, description="a failure group's id (from the run's failures)")
    ] = None,
    task_id: Annotated[int | None, QueryParameter(ge=0, le=INT64_MAX, description="a task id (same as q)")] = None,
    sort: Annotated[str, QueryParameter(description=f"one of {', '.join(SORT_COLUMNS)}")] = "task_id",
    desc: Annotated[bool, QueryParameter()] = False,
    page: Annotated[int, QueryParameter(ge=1, le=10_000_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE)] = PER_PAGE,
) -> TaskFilter:
    """The ``spec`` dependency: what the task list shows (an unknown sort column sorts by id)."""
    search = str(task_id) if task_id is not None else q
    return TaskFilter(
        state=task_state or None,
        app=app or None,
        host=host or None,
        search=search or None,
        error=error or None,
        sort=sort if sort in SORT_COLUMNS else "task_id",
        descending=desc,
        page=page,
        per_page=per_page,
    )


def _date(key: str, value: str | None) -> datetime.date | None:
    """A date parameter; empty (a form's blank field) means none, anything else not a date is a 400 naming it."""
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValidationException(extra=[{"key": key, "message": f"not a date (YYYY-MM-DD): {value[:32]!r}"}]) from None


def provide_run_filter(  # noqa: PLR0917 - Litestar passes query parameters by name
    name: Annotated[str | None, QueryParameter(max_length=1000, description="a workflow name")] = None,
    status: Annotated[str | None, QueryParameter(description=f"one of {', '.join(RUN_STATUSES)}")] = None,
    user: Annotated[str | None, QueryParameter(max_length=1000, description="the owner")] = None,
    since: Annotated[str | None, QueryParameter(max_length=32, description="started on or after (YYYY-MM-DD)")] = None,
    until: Annotated[str | None, QueryParameter(max_length=32, description="started on or before (YYYY-MM-DD)")] = None,
    q: Annotated[
        str | None, QueryParameter(max_length=1000, description="text in the name, run id, host, owner or run dir")
    ] = None,
    page: Annotated[int, QueryParameter(ge=1, le=10_000_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE)] = PER_PAGE,
) -> RunFilter:
    """The ``runs`` dependency: which runs the workflows list shows (an unknown status matches nothing)."""
    return RunFilter(
        name=name or None,
        status=status or None,
        user=user or None,
        since=_date("since", since),
        until=_date("until", until),
        search=q or None,
        page=page,
        per_page=per_page,
    )
