"""The Litestar application: routes, templates, static files, error pages."""

from __future__ import annotations

import functools
import logging
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from litestar import MediaType, Request, Response
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.plugins.htmx import HTMXPlugin, HTMXRequest
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Stream, Template
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from sqlalchemy import Connection

from parsl_visualize.__about__ import __version__
from parsl_visualize.access import Access, GuardedLitestar
from parsl_visualize.cache import RunCache
from parsl_visualize.connections import ConnectionGate
from parsl_visualize.db import Database
from parsl_visualize.formatting import FILTERS
from parsl_visualize.links import route_link
from parsl_visualize.live.model import TaskFilter
from parsl_visualize.live.registry import ModelRegistry
from parsl_visualize.live.running_runs import RunningRunReader
from parsl_visualize.pages import (
    ApiController,
    DagController,
    HistoryController,
    NodeController,
    ResourceController,
    TaskController,
    WorkflowController,
)
from parsl_visualize.pages._run import RunContext, provide_run
from parsl_visualize.pages.filters import TaskId, provide_run_filter, provide_task_filter
from parsl_visualize.queries.run_filter import RunFilter
from parsl_visualize.states import STATE_COLORS
from parsl_visualize.task_output import FileAccess

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("create_app",)

PACKAGE = Path(str(files("parsl_visualize")))
logger = logging.getLogger(__name__)


def _error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """One clear line for a wrong URL or parameter: HTML for pages, JSON for the API."""
    detail = exc.detail if exc.status_code < 500 else "internal error: see the server's log"  # noqa: PLR2004
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):  # name the parameter and why
        reasons = [f"{item.get('key')}: {item.get('message')}" for item in exc.extra if isinstance(item, dict)]
        detail = f"bad request parameter ({'; '.join(reasons)})" if reasons else detail
    return _error_response(request, exc.status_code, detail, exc.headers, getattr(exc, "retry", None))


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A bug or an unexpected database error: the traceback goes to the log the page points to."""
    logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _error_response(request, 500, "internal error: see the server's log", None, None)


def _error_response(
    request: Request[Any, Any, Any], status: int, detail: str, headers: dict[str, str] | None, retry: str | None
) -> Response[Any]:
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", "text/html"):
        return Response(
            content={"status_code": status, "detail": detail},
            status_code=status,
            media_type=MediaType.JSON,
            headers=headers,
        )
    return Template(
        template_name="pages/error.html.j2",
        context={"status": status, "detail": detail, "retry": retry},
        status_code=status,
        headers=headers,
    )


def _engine_setup(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.filters.update(FILTERS)
    env.globals["state_colors"] = STATE_COLORS
    env.globals["version"] = __version__
    for name in env.list_templates():  # compile now, not during the first page view
        env.get_template(name)


def create_app(
    db: Database,
    debug: bool = False,
    access: Access | None = None,
    files: FileAccess | None = None,
    follow_running: Callable[[str], None] | None = None,
) -> GuardedLitestar:
    """The dashboard for one read-only database.

    ``access`` says which Host names it answers to and which token it demands; by default,
    loopback names and no token. ``files``: where tasks' output files may be read (by default nowhere).
    ``follow_running``: read the running runs from start-up on, in the background, and tell
    this function what was read (:mod:`parsl_visualize.live.running_runs`); by default a
    run is read when a page first shows it.
    """
    output_files = files or FileAccess()
    cache = RunCache()
    models = ModelRegistry()
    gate = ConnectionGate(db.engine)
    reader = RunningRunReader(db, models, follow_running) if follow_running is not None else None
    app = GuardedLitestar(
        route_handlers=[
            WorkflowController,
            DagController,
            ResourceController,
            NodeController,
            HistoryController,
            TaskController,
            ApiController,
            create_static_files_router(path="/static", directories=[PACKAGE / "static"], include_in_schema=False),
        ],
        dependencies={
            "db": Provide(lambda: db, use_cache=True, sync_to_thread=False),
            "cache": Provide(lambda: cache, use_cache=True, sync_to_thread=False),
            "models": Provide(lambda: models, use_cache=True, sync_to_thread=False),
            "files": Provide(lambda: output_files, use_cache=True, sync_to_thread=False),
            "conn": Provide(gate.request_connection),
            "ctx": Provide(provide_run, sync_to_thread=True),
            "spec": Provide(provide_task_filter, sync_to_thread=False),
            "run_filter": Provide(provide_run_filter, sync_to_thread=False),
        },
        # Handlers import these names for type checking only; Litestar resolves them here.
        signature_namespace={
            "Connection": Connection,
            "ModelRegistry": ModelRegistry,
            "Database": Database,
            "HTMXRequest": HTMXRequest,
            "FromPath": FromPath,
            "FromQuery": FromQuery,
            "NamedDependency": NamedDependency,
            "QueryParameter": QueryParameter,
            "Response": Response,
            "RunCache": RunCache,
            "RunContext": RunContext,
            "FileAccess": FileAccess,
            "TaskFilter": TaskFilter,
            "RunFilter": RunFilter,
            "TaskId": TaskId,
            "Stream": Stream,
        },
        template_config=TemplateConfig(
            directory=PACKAGE / "templates", engine=JinjaTemplateEngine, engine_callback=_engine_setup
        ),
        plugins=[HTMXPlugin()],
        openapi_config=OpenAPIConfig(
            title="parsl-visualize", version=__version__, path="/schema", render_plugins=[JsonRenderPlugin()]
        ),
        exception_handlers={HTTPException: _error_page, Exception: _internal_error},
        on_startup=[reader.start] if reader is not None else [],
        on_shutdown=[reader.stop] if reader is not None else [],
        debug=debug,
    )
    app.access = access or Access()
    cast("JinjaTemplateEngine", app.template_engine).engine.globals["link_to"] = functools.partial(route_link, app)
    return app
