"""Task pages: the filtered list, an app's page, one task, and CSV export."""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.response import Stream

from parsl_visualize.charts.resources import app_usage_charts, run_time_chart
from parsl_visualize.charts.task import resource_series_chart, status_timeline_chart
from parsl_visualize.links import from_segment
from parsl_visualize.live.model import SORT_COLUMNS, TaskFilter
from parsl_visualize.pages._run import NotYetError, live_page
from parsl_visualize.queries.task_detail import task_detail, task_files
from parsl_visualize.states import STATE_ORDER
from parsl_visualize.task_output import recorded_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from litestar.di import NamedDependency
    from litestar.params import FromPath, FromQuery
    from litestar.plugins.htmx import HTMXRequest
    from litestar.response import Response

    from parsl_visualize.live.model import AppSummary, TaskRow
    from parsl_visualize.pages._run import RunContext
    from parsl_visualize.pages.filters import TaskId
    from parsl_visualize.task_output import FileAccess

__all__ = ("CSV_COLUMNS", "OUTPUT_STREAMS", "TaskController")

OUTPUT_STREAMS = ("stdout", "stderr")

CSV_COLUMNS = (
    "task_id",
    "app",
    "state",
    "invoked",
    "returned",
    "duration_s",
    "waiting_s",
    "queued_s",
    "running_s",
    "result_s",
    "fail_count",
    "depends",
    "host",
    "error",
    "root_task",
)


def _task_list(
    request: HTMXRequest,
    ctx: RunContext,
    spec: TaskFilter,
    *,
    apps: Callable[[], list[str]],
    app_page: AppSummary | None,
    since: str | None,
) -> Response[Any]:
    def context() -> dict[str, Any]:
        charts = ctx.cached("app", lambda: _app_charts(ctx, app_page.app), app_page.app) if app_page else None
        return {
            "app_charts": charts,
            "spec": spec,
            "page": ctx.model.task_page(spec),
            "apps": apps(),
            "hosts": ctx.model.host_names(),
            "states": STATE_ORDER,
            "sort_columns": SORT_COLUMNS,
            "app_page": app_page,
            "failure_group": ctx.model.failure_example(spec.error) if spec.error else None,
        }

    return live_page(request, ctx, ("pages/tasks.html.j2", "fragments/tasks.html.j2"), context, since)


def _app_charts(ctx: RunContext, app: str) -> dict[str, Any]:
    """An app's tasks by run time, and its tries by peak memory and CPU time (when sampled)."""
    bins, counts = ctx.model.run_time_histogram(app)
    charts: dict[str, Any] = {"run_time": run_time_chart(app, bins, counts)} if counts else {}
    usage = ctx.model.app_usage(ctx.conn)
    if app in usage.memory_counts:
        only = dataclasses.replace(
            usage, memory_counts={app: usage.memory_counts[app]}, cpu_counts={app: usage.cpu_counts[app]}
        )
        charts.update(app_usage_charts(only))
    return charts


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: object) -> object:
    """A text cell a spreadsheet will not run as a formula (OWASP's CSV injection advice: a leading ')."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _seconds(value: float | None) -> object:
    return "" if value is None else round(value, 6)


def _csv_row(t: TaskRow) -> tuple[object, ...]:
    row = (
        t.task_id,
        t.app,
        t.state,
        t.invoked or "",
        t.returned or "",
        _seconds(t.duration),
        _seconds(t.waiting),
        _seconds(t.queued),
        _seconds(t.running),
        _seconds(t.result),
        t.fail_count,
        t.depends or "",
        t.host or "",
        t.error or "",
        "" if t.root_task is None else t.root_task,
    )
    return tuple(_inert(value) for value in row)


def _attachment(filename: str) -> str:
    """A Content-Disposition header for any file name: ASCII for old clients, UTF-8 (RFC 6266) for the rest."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


class TaskController(Controller):
    """``/workflow/<run_id>/task/``, ``.../task/<task_id>``, ``.../app/<app_name>`` and CSV export."""

    include_in_schema = False

    @get("/workflow/{run_id:str}/task/", name="tasks", sync_to_thread=True)
    def tasks(
        self,
        *,
        request: HTMXRequest,
        ctx: NamedDependency[RunContext],
        spec: NamedDependency[TaskFilter],
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Tasks filtered by state, app, host or id; sorted and paginated by the database."""
        return _task_list(request, ctx, spec, apps=ctx.model.app_names, app_page=None, since=since)

    @get("/workflow/{run_id:str}/app/{app_name:str}", name="app", sync_to_thread=True)
    def app(
        self,
        *,
        request: HTMXRequest,
        ctx: NamedDependency[RunContext],
        spec: NamedDependency[TaskFilter],
        app_name: FromPath[str],
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """The app's figures and its tasks (the task list with the app filter fixed)."""
        app_name = from_segment(app_name)
        summary = next((a for a in ctx.model.apps() if a.app == app_name), None)
        if summary is None:
            raise NotFoundException(f"no app {app_name!r} in workflow run {ctx.run.run_id!r}")
        spec = dataclasses.replace(spec, app=app_name)
        return _task_list(request, ctx, spec, apps=lambda: [app_name], app_page=summary, since=since)

    @get("/workflow/{run_id:str}/task/{task_id:int}", name="task", sync_to_thread=True)
    def task(
        self,
        *,
        request: HTMXRequest,
        ctx: NamedDependency[RunContext],
        files: NamedDependency[FileAccess],
        task_id: TaskId,
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """States, tries, resource samples, files and the end of its output of one task.

        The task's rows are read only when the page is drawn: a poll that finds the run's
        token unchanged is answered without them.
        """

        def context() -> dict[str, Any]:
            detail = task_detail(
                ctx.conn, ctx.run.run_id, task_id, ctx.model.dependents(task_id), ctx.model.root_failure(task_id)
            )
            if detail is None:
                missing = NotYetError if ctx.live else NotFoundException
                raise missing(f"no task {task_id} in workflow run {ctx.run.run_id!r}")
            started = detail.statuses[0].at if detail.statuses else detail.invoked
            return {
                "task": detail,
                "outputs": {
                    stream: files.tail(path)
                    for stream, path in (("stdout", detail.stdout), ("stderr", detail.stderr))
                    if recorded_path(path)
                },
                "timeline": status_timeline_chart(detail.statuses),
                "resources": resource_series_chart(detail.samples, started) if detail.samples and started else None,
            }

        return live_page(request, ctx, ("pages/task.html.j2", "fragments/task.html.j2"), context, since)

    @get("/workflow/{run_id:str}/task/{task_id:int}/{stream:str}", name="task_output", sync_to_thread=True)
    def task_output(
        self,
        *,
        ctx: NamedDependency[RunContext],
        files: NamedDependency[FileAccess],
        task_id: TaskId,
        stream: FromPath[str],
    ) -> Stream:
        """The whole stdout or stderr file of a task, when it lies inside a ``--allow-files`` directory."""
        if stream not in OUTPUT_STREAMS:
            raise NotFoundException(f"no such page: {stream!r} (a task has stdout and stderr)")
        paths = task_files(ctx.conn, ctx.run.run_id, task_id)
        if paths is None:
            raise NotFoundException(f"no task {task_id} in workflow run {ctx.run.run_id!r}")
        opened = files.open(paths[OUTPUT_STREAMS.index(stream)])
        if isinstance(opened, str):
            raise NotFoundException(f"the {stream} of task {task_id}: {opened}")
        fd, _size = opened
        name = f"{ctx.run.run_id}-task{task_id}.{stream}"
        return Stream(
            files.chunks(fd),
            media_type="text/plain",  # Litestar adds the charset
            headers={"Content-Disposition": _attachment(name)},
        )

    @get("/workflow/{run_id:str}/tasks.csv", name="tasks_csv", sync_to_thread=True)
    def tasks_csv(
        self,
        *,
        ctx: NamedDependency[RunContext],
        spec: NamedDependency[TaskFilter],
    ) -> Stream:
        """Every task of the run (or of a filter) as CSV, streamed in chunks from the run's model."""
        run_id, model = ctx.run.run_id, ctx.model

        def rows() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(CSV_COLUMNS)
            for i, t in enumerate(model.iter_rows(spec), 1):
                writer.writerow(_csv_row(t))
                if i % 1000 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

        return Stream(
            rows(), media_type="text/csv", headers={"Content-Disposition": _attachment(f"{run_id}-tasks.csv")}
        )
