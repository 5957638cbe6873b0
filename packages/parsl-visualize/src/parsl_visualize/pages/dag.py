"""The two DAG pages: coloured by app and by task state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, get

from parsl_visualize.charts.dag import MAX_NODES, dag_chart
from parsl_visualize.pages._run import live_page, load_run
from parsl_visualize.queries.dag import dag_tasks
from parsl_visualize.urls import task_list_url, task_url

if TYPE_CHECKING:
    from litestar.di import NamedDependency
    from litestar.params import FromPath, FromQuery
    from litestar.plugins.htmx import HTMXRequest
    from litestar.response import Response
    from sqlalchemy import Connection

    from parsl_visualize.cache import RunCache
    from parsl_visualize.charts.dag import ColorBy, DagView
    from parsl_visualize.db import Database

__all__ = ("DagController",)


def _view(conn: Connection, run_id: str, color_by: ColorBy, every_node: bool) -> DagView:
    group_url = task_list_url(run_id) + "?{key}={value}"
    return dag_chart(dag_tasks(conn, run_id), color_by, task_url(run_id, "{task_id}"), group_url, every_node)


def _page(
    request: HTMXRequest,
    *,
    db: Database,
    conn: Connection,
    cache: RunCache,
    run_id: str,
    color_by: ColorBy,
    every_node: bool,
    since: str | None,
) -> Response[Any]:
    ctx = load_run(db, conn, cache, run_id)
    view = ctx.cached("dag", _view, color_by, every_node)
    context = {"view": view, "color_by": color_by, "every_node": every_node, "max_nodes": MAX_NODES}
    return live_page(request, ctx, ("pages/dag.html.j2", "fragments/dag.html.j2"), context, since)


class DagController(Controller):
    """``/workflow/<run_id>/dag_group_by_apps`` and ``.../dag_group_by_states``."""

    include_in_schema = False

    @get("/workflow/{run_id:str}/dag_group_by_apps", name="dag_apps", sync_to_thread=True)
    def by_apps(
        self,
        *,
        request: HTMXRequest,
        db: NamedDependency[Database],
        conn: NamedDependency[Connection],
        cache: NamedDependency[RunCache],
        run_id: FromPath[str],
        all: FromQuery[bool] = False,
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Nodes coloured by app."""
        return _page(
            request, db=db, conn=conn, cache=cache, run_id=run_id, color_by="apps", every_node=all, since=since
        )

    @get("/workflow/{run_id:str}/dag_group_by_states", name="dag_states", sync_to_thread=True)
    def by_states(
        self,
        *,
        request: HTMXRequest,
        db: NamedDependency[Database],
        conn: NamedDependency[Connection],
        cache: NamedDependency[RunCache],
        run_id: FromPath[str],
        all: FromQuery[bool] = False,
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Nodes coloured by current task state."""
        return _page(
            request, db=db, conn=conn, cache=cache, run_id=run_id, color_by="states", every_node=all, since=since
        )
