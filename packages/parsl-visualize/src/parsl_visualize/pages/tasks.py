"""Task pages: the filtered list, an app's page, one task, and CSV export."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Annotated, Any

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from parsl_visualize.charts.task import resource_series_chart, status_timeline_chart
from parsl_visualize.pages._run import live_page
from parsl_visualize.queries.tasks import (
    SORT_COLUMNS,
    TaskFilter,
    app_names,
    host_names,
    iter_tasks,
    list_tasks,
    task_detail,
)
from parsl_visualize.queries.workflows import overview
from parsl_visualize.states import STATE_ORDER

if TYPE_CHECKING:
    from collections.abc import Iterator

    from litestar.di import NamedDependency
    from litestar.plugins.htmx import HTMXRequest
    from litestar.response import Response

    from parsl_visualize.pages._run import RunContext
    from parsl_visualize.queries.workflows import AppSummary

__all__ = ("CSV_COLUMNS", "TaskController")

PER_PAGE = 50
CSV_COLUMNS = ("task_id", "app", "state", "invoked", "returned", "duration_s", "fail_count", "depends")


def _filter(
    *, state: str | None, app: str | None, host: str | None, q: str | None, sort: str, desc: bool, page: int
) -> TaskFilter:
    return TaskFilter(
        state=state or None,
        app=app or None,
        host=host or None,
        search=q or None,
        sort=sort if sort in SORT_COLUMNS else "task_id",
        descending=desc,
        page=max(page, 1),
        per_page=PER_PAGE,
    )


def _task_list(
    request: HTMXRequest,
    ctx: RunContext,
    spec: TaskFilter,
    *,
    apps: list[str],
    app_page: AppSummary | None,
    since: str | None,
) -> Response[Any]:
    context = {
        "spec": spec,
        "page": list_tasks(ctx.conn, ctx.run.run_id, spec),
        "apps": apps,
        "hosts": ctx.cached("host_names", host_names),
        "states": STATE_ORDER,
        "sort_columns": SORT_COLUMNS,
        "app_page": app_page,
    }
    return live_page(request, ctx, ("pages/tasks.html.j2", "fragments/tasks.html.j2"), context, since)


class TaskController(Controller):
    """``/workflow/<run_id>/task/``, ``.../task/<task_id>``, ``.../app/<app_name>`` and CSV export."""

    include_in_schema = False

    @get("/workflow/{run_id:str}/task/", name="tasks", sync_to_thread=True)
    def tasks(
        self,
        *,
        request: HTMXRequest,
        ctx: NamedDependency[RunContext],
        task_state: Annotated[str | None, QueryParameter(name="state")] = None,
        app: FromQuery[str | None] = None,
        host: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        sort: FromQuery[str] = "task_id",
        desc: FromQuery[bool] = False,
        page: FromQuery[int] = 1,
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Tasks filtered by state, app, host or id; sorted and paginated by the database."""
        spec = _filter(state=task_state, app=app, host=host, q=q, sort=sort, desc=desc, page=page)
        return _task_list(request, ctx, spec, apps=ctx.cached("app_names", app_names), app_page=None, since=since)

    @get("/workflow/{run_id:str}/app/{app_name:str}", name="app", sync_to_thread=True)
    def app(
        self,
        *,
        request: HTMXRequest,
        ctx: NamedDependency[RunContext],
        app_name: FromPath[str],
        task_state: Annotated[str | None, QueryParameter(name="state")] = None,
        host: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        sort: FromQuery[str] = "task_id",
        desc: FromQuery[bool] = False,
        page: FromQuery[int] = 1,
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """The app's figures and its tasks (the task list with the app filter fixed)."""
        summary = next((a for a in ctx.cached("overview", overview)[1] if a.app == app_name), None)
        if summary is None:
            raise NotFoundException(f"no app {app_name!r} in workflow run {ctx.run.run_id!r}")
        spec = _filter(state=task_state, app=app_name, host=host, q=q, sort=sort, desc=desc, page=page)
        return _task_list(request, ctx, spec, apps=[app_name], app_page=summary, since=since)

    @get("/workflow/{run_id:str}/task/{task_id:int}", name="task", sync_to_thread=True)
    def task(
        self,
        *,
        request: HTMXRequest,
        ctx: NamedDependency[RunContext],
        task_id: FromPath[int],
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """States, tries, resource samples and files of one task."""
        detail = task_detail(ctx.conn, ctx.run.run_id, task_id)
        if detail is None:
            raise NotFoundException(f"no task {task_id} in workflow run {ctx.run.run_id!r}")
        started = detail.statuses[0].at if detail.statuses else detail.invoked
        context = {
            "task": detail,
            "timeline": status_timeline_chart(detail.statuses),
            "resources": resource_series_chart(detail.samples, started) if detail.samples and started else None,
        }
        return live_page(request, ctx, ("pages/task.html.j2", "fragments/task.html.j2"), context, since)

    @get("/workflow/{run_id:str}/tasks.csv", name="tasks_csv", sync_to_thread=True)
    def tasks_csv(
        self,
        *,
        ctx: NamedDependency[RunContext],
        task_state: Annotated[str | None, QueryParameter(name="state")] = None,
        app: FromQuery[str | None] = None,
        host: FromQuery[str | None] = None,
    ) -> Stream:
        """Every task of the run (or of a filter) as CSV, streamed in chunks."""
        spec = _filter(state=task_state, app=app, host=host, q=None, sort="task_id", desc=False, page=1)
        engine, run_id = ctx.db.engine, ctx.run.run_id

        def rows() -> Iterator[str]:
            # The request's connection closes when the handler returns; the stream has its own.
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(CSV_COLUMNS)
            with engine.connect() as stream_conn:
                for i, t in enumerate(iter_tasks(stream_conn, run_id, spec), 1):
                    writer.writerow(
                        (
                            t.task_id,
                            t.app,
                            t.state,
                            t.invoked or "",
                            t.returned or "",
                            "" if t.duration is None else round(t.duration, 6),
                            t.fail_count,
                            t.depends or "",
                        )
                    )
                    if i % 1000 == 0:
                        yield buffer.getvalue()
                        buffer.seek(0)
                        buffer.truncate()
            yield buffer.getvalue()

        filename = f"{run_id}-tasks.csv".replace('"', "")
        return Stream(
            rows(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
        )
