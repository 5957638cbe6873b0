"""The two DAG pages: coloured by app and by task state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, get

from parsl_visualize.charts.dag import MAX_NODES, dag_chart, dag_groups_chart
from parsl_visualize.links import TASK_ID, route_link
from parsl_visualize.pages._run import live_page

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.di import NamedDependency
    from litestar.params import FromQuery
    from litestar.plugins.htmx import HTMXRequest
    from litestar.response import Response

    from parsl_visualize.charts.dag import ColorBy, DagView
    from parsl_visualize.pages._run import RunContext

__all__ = ("DagController",)


def _view(ctx: RunContext, color_by: ColorBy, every_node: bool, app: Litestar) -> DagView:
    run_id = ctx.run.run_id
    if every_node or len(ctx.model.tasks) <= MAX_NODES:
        return dag_chart(ctx.model.dag_tasks(), color_by, route_link(app, "task", run_id=run_id, task_id=TASK_ID))
    members, edges, levels_per_group = ctx.model.dag_groups(color_by)
    return dag_groups_chart(
        members, edges, color_by, route_link(app, "tasks", run_id=run_id) + "?{key}={value}", levels_per_group
    )


def _page(
    request: HTMXRequest, ctx: RunContext, color_by: ColorBy, every_node: bool, since: str | None
) -> Response[Any]:
    def context() -> dict[str, Any]:
        view = ctx.cached("dag", lambda: _view(ctx, color_by, every_node, request.app), color_by, every_node)
        return {"view": view, "color_by": color_by, "every_node": every_node, "max_nodes": MAX_NODES}

    return live_page(request, ctx, ("pages/dag.html.j2", "fragments/dag.html.j2"), context, since)


class DagController(Controller):
    """``/workflow/<run_id>/dag_group_by_apps`` and ``.../dag_group_by_states``."""

    include_in_schema = False

    @get("/workflow/{run_id:str}/dag_group_by_apps", name="dag_apps", sync_to_thread=True)
    def by_apps(
        self,
        *,
        request: HTMXRequest,
        ctx: NamedDependency[RunContext],
        all: FromQuery[bool] = False,
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Nodes coloured by app."""
        return _page(request, ctx, "apps", all, since)

    @get("/workflow/{run_id:str}/dag_group_by_states", name="dag_states", sync_to_thread=True)
    def by_states(
        self,
        *,
        request: HTMXRequest,
        ctx: NamedDependency[RunContext],
        all: FromQuery[bool] = False,
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Nodes coloured by current task state."""
        return _page(request, ctx, "states", all, since)
