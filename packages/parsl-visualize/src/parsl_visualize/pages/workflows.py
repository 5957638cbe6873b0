"""The workflows list and a run's summary page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, get
from litestar.response import Template

from parsl_visualize.charts.timeline import concurrency_chart, gantt_chart, running_by_app_chart
from parsl_visualize.pages._run import live_page
from parsl_visualize.queries.workflows import list_workflows, sort_runs
from parsl_visualize.urls import task_url

if TYPE_CHECKING:
    from litestar.di import NamedDependency
    from litestar.params import FromQuery
    from litestar.plugins.htmx import HTMXRequest
    from litestar.response import Response
    from sqlalchemy import Connection

    from parsl_visualize.db import Database
    from parsl_visualize.live.registry import ModelRegistry
    from parsl_visualize.pages._run import RunContext

__all__ = ("FAILURE_GROUPS_SHOWN", "GANTT_MAX_TRIES", "WorkflowController")

FAILURE_GROUPS_SHOWN = 20
"""Kinds of failure the summary lists, the most frequent first (the task list has them all)."""

GANTT_MAX_TRIES = 1000
"""Up to this many tries the summary draws one bar per try; above it, tasks per state over time."""


def _timeline(ctx: RunContext) -> dict[str, Any]:
    model, now = ctx.model, ctx.now
    axis = model.axis(now)
    if axis is None:
        return {}
    tries = model.gantt(GANTT_MAX_TRIES, now)
    data = model.concurrency(axis)
    return {
        "gantt": gantt_chart(tries, task_url(ctx.run.run_id, "{task_id}")) if tries is not None else None,
        "concurrency": concurrency_chart(data),
        "running_by_app": running_by_app_chart(data),
    }


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
        sort: FromQuery[str] = "began",
        desc: FromQuery[bool] = True,
    ) -> Template:
        """Every run in the database, newest first; polls while any run is running."""
        runs = [
            run if run.ended is not None else run.with_progress(models.model(conn, run.run_id).progress())
            for run in list_workflows(conn, db.now(), ledger=db.has_ledger)
        ]
        runs = sort_runs(runs, sort, desc)
        context = {
            "runs": runs,
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
                "charts": ctx.cached("timeline", lambda: _timeline(ctx)),
            }

        return live_page(request, ctx, ("pages/workflow.html.j2", "fragments/workflow.html.j2"), context, since)
