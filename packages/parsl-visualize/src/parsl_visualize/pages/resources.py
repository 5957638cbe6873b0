"""The run's resource usage page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, get

from parsl_visualize.charts.resources import app_usage_charts, node_charts, usage_charts
from parsl_visualize.pages._run import live_page
from parsl_visualize.queries.resources import (
    app_usage,
    has_resource_data,
    node_usage,
    sampling_interval,
    usage_over_time,
)
from parsl_visualize.queries.timeline import time_axis

if TYPE_CHECKING:
    from litestar.di import NamedDependency
    from litestar.params import FromQuery
    from litestar.plugins.htmx import HTMXRequest
    from litestar.response import Response
    from sqlalchemy import Connection

    from parsl_visualize.pages._run import RunContext

__all__ = ("ResourceController",)


def _charts(conn: Connection, run_id: str) -> dict[str, Any]:
    if not has_resource_data(conn, run_id):
        return {}
    axis = time_axis(conn, run_id, min_width=sampling_interval(conn, run_id))
    if axis is None:
        return {}
    usage = app_usage(conn, run_id)
    nodes = node_usage(conn, run_id, axis)
    return {
        **usage_charts(usage_over_time(conn, run_id, axis), axis),
        **app_usage_charts(usage),
        **(node_charts(nodes, axis) if nodes else {}),
        "usage": usage,
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
        context = {"charts": ctx.cached("resources", lambda: _charts(ctx.conn, ctx.run.run_id))}
        return live_page(request, ctx, ("pages/resources.html.j2", "fragments/resources.html.j2"), context, since)
