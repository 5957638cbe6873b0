"""The workflows list and a run's summary page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, get
from litestar.response import Template

from parsl_visualize.charts.timeline import concurrency_chart, gantt_chart, running_by_app_chart
from parsl_visualize.links import TASK_ID, route_link
from parsl_visualize.pages._run import live_page
from parsl_visualize.queries.run_filter import RUN_STATUSES, filter_runs
from parsl_visualize.queries.workflows import list_workflows, sort_runs

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar import Litestar
    from litestar.di import NamedDependency
    from litestar.params import FromQuery
    from litestar.plugins.htmx import HTMXRequest
    from litestar.response import Response
    from sqlalchemy import Connection

    from parsl_visualize.db import Database
    from parsl_visualize.live.registry import ModelRegistry
    from parsl_visualize.pages._run import RunContext
    from parsl_visualize.queries.run_filter import RunFilter

__all__ = ("FAILURE_GROUPS_SHOWN", "GANTT_MAX_TRIES", "WorkflowController")

FAILURE_GROUPS_SHOWN = 20
"""Kinds of failure the summary lists, the most frequent first (the task list has them all)."""

_LIST_PARAMETERS = ("name", "status", "user", "since", "until", "q", "sort", "desc", "per_page")
"""The workflows list's own query parameters, kept by its links and its polls."""
GANTT_MAX_TRIES = 1000
"""Up to this many tries the summary draws one bar per try; above it, tasks per state over time."""


def _timeline(ctx: RunContext, app: Litestar) -> dict[str, Any]:
    model, now = ctx.model, ctx.now
    axis = model.axis(now)
    if axis is None:
        return {}
    tries = model.gantt(GANTT_MAX_TRIES, now)
    data = model.concurrency(axis)
    return {
        "gantt": gantt_chart(tries, route_link(app, "task", run_id=ctx.run.run_id, task_id=TASK_ID))
        if tries is not None
        else None,
        "concurrency": concurrency_chart(data),
        "running_by_app": running_by_app_chart(data),
    }


def _list_link(app: Litestar, query: dict[str, str], sort: str, desc: bool) -> Callable[..., str]:
    """Links of the workflows list that keep its filters: to a page, or sorted by a column (again: reversed)."""

    def link(page: int | None = None, sort_by: str | None = None) -> str:
        params = dict(query)
        if sort_by:
            params["sort"] = sort_by
            params["desc"] = "false" if sort_by == sort and desc else "true"
        params["page"] = str(page or 1)
        return route_link(app, "workflows", params)

    return link


class WorkflowController(Controller):
    """``/`` and ``/workflow/<run_id>/``, at Parsl's paths."""

    include_in_schema = False

    @get("/", name="workflows", sync_to_thread=True)
    def workflows(
        self,
        *,
        request: HTMXRequest,
        db: NamedDependency[Database],
        conn: NamedDependency[Connection],
        models: NamedDependency[ModelRegistry],
        run_filter: NamedDependency[RunFilter],
        sort: FromQuery[str] = "began",
        desc: FromQuery[bool] = True,
    ) -> Template:
        """The runs in the database, filtered, sorted (newest first) and a page at a time; polls for new runs."""
        shown = filter_runs(sort_runs(list_workflows(conn, db.now(), ledger=db.has_ledger), sort, desc), run_filter)
        runs = [  # live counts, for the runs on this page only
            run if run.ended is not None else run.with_progress(models.model(conn, run.run_id, running=True).progress())
            for run in shown.runs
        ]
        query = {k: v for k, v in request.query_params.items() if k in _LIST_PARAMETERS and v}
        context = {
            "runs": runs,
            "listing": shown,
            "query": query,
            "link": _list_link(request.app, query, sort, desc),
            "spec": run_filter,
            "statuses": RUN_STATUSES,
            "sort": sort,
            "desc": desc,
            "zone": db.zone_label,
            "database": db.label if request.app.debug else None,  # a path tells strangers too much
            "utc": db.utc,
        }
        name = "fragments/workflows.html.j2" if request.htmx else "pages/workflows.html.j2"
        return Template(template_name=name, context=context)

    @get("/workflow/{run_id:str}/", name="workflow", sync_to_thread=True)
    def workflow(
        self,
        *,
        request: HTMXRequest,
        ctx: NamedDependency[RunContext],
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Run details, task statistics, the App Summary and the timeline charts."""

        def context() -> dict[str, Any]:
            return {
                "overview": (ctx.model.summary(), ctx.model.apps()),
                "failures": ctx.model.failures(limit=FAILURE_GROUPS_SHOWN),
                "charts": ctx.cached("timeline", lambda: _timeline(ctx, request.app)),
            }

        return live_page(request, ctx, ("pages/workflow.html.j2", "fragments/workflow.html.j2"), context, since)
