"""The run's resource usage page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, get

from parsl_visualize.charts.resources import app_usage_charts, node_charts, usage_charts
from parsl_visualize.live.capacity import capacity_over_time
from parsl_visualize.pages._run import live_page
from parsl_visualize.queries.nodes import capacities, run_nodes

if TYPE_CHECKING:
    from litestar.di import NamedDependency
    from litestar.params import FromQuery
    from litestar.plugins.htmx import HTMXRequest
    from litestar.response import Response

    from parsl_visualize.pages._run import RunContext

__all__ = ("ResourceController",)


def _charts(ctx: RunContext) -> dict[str, Any]:
    shown = ctx.model.usage(ctx.conn, ctx.run_end)
    if shown is None:
        return {}
    axis = shown.axis
    capacity = capacity_over_time(capacities(run_nodes(ctx.conn, ctx.run.run_id)), axis, ctx.run_end)
    return {
        **usage_charts(shown.over_time, axis, capacity),
        **app_usage_charts(shown.apps),
        **(node_charts(shown.nodes, axis) if shown.nodes else {}),
        "usage": shown.apps,
    }


class ResourceController(Controller):
    """``/workflow/<run_id>/resource_usage``."""

    include_in_schema = False

    @get("/workflow/{run_id:str}/resource_usage", name="resource_usage", sync_to_thread=True)
    def resource_usage(
        self,
        *,
        request: HTMXRequest,
        ctx: NamedDependency[RunContext],
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """CPU and memory across workers and per host over time; per-app distributions and efficiency."""

        def context() -> dict[str, Any]:
            return {"charts": ctx.cached("resources", lambda: _charts(ctx))}

        return live_page(request, ctx, ("pages/resources.html.j2", "fragments/resources.html.j2"), context, since)
