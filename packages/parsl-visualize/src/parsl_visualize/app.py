"""The Litestar application: routes, templates, static files, error pages."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar import Litestar, MediaType, Request, Response
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
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
from parsl_visualize.cache import RunCache
from parsl_visualize.db import Database
from parsl_visualize.formatting import FILTERS
from parsl_visualize.pages import ApiController, DagController, ResourceController, TaskController, WorkflowController
from parsl_visualize.pages._run import RunContext, provide_run
from parsl_visualize.states import STATE_COLORS
from parsl_visualize.urls import URLS

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("create_app",)

PACKAGE = Path(str(files("parsl_visualize")))


def _error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """One clear line for a wrong URL or parameter: HTML for pages, JSON for the API."""
    detail = exc.detail if exc.status_code < 500 else "internal error: see the server's log"  # noqa: PLR2004
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", "text/html"):
        return Response(
            content={"status_code": exc.status_code, "detail": detail},
            status_code=exc.status_code,
            media_type=MediaType.JSON,
        )
    return Template(
        template_name="pages/error.html.j2",
        context={"status": exc.status_code, "detail": detail},
        status_code=exc.status_code,
    )


def _engine_setup(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.filters.update(FILTERS)
    env.globals.update(URLS)
    env.globals["state_colors"] = STATE_COLORS
    env.globals["version"] = __version__
    for name in env.list_templates():  # compile now, not during the first page view
        env.get_template(name)


def create_app(db: Database, debug: bool = False) -> Litestar:
    """The dashboard for one read-only database."""
    cache = RunCache()

    def connection() -> Iterator[Connection]:
        with db.engine.connect() as conn:
            yield conn

    return Litestar(
        route_handlers=[
            WorkflowController,
            DagController,
            ResourceController,
            TaskController,
            ApiController,
            create_static_files_router(path="/static", directories=[PACKAGE / "static"], include_in_schema=False),
        ],
        dependencies={
            "db": Provide(lambda: db, use_cache=True, sync_to_thread=False),
            "cache": Provide(lambda: cache, use_cache=True, sync_to_thread=False),
            "conn": Provide(connection),
            "ctx": Provide(provide_run, sync_to_thread=True),
        },
        # Handlers import these names for type checking only; Litestar resolves them here.
        signature_namespace={
            "Connection": Connection,
            "Database": Database,
            "HTMXRequest": HTMXRequest,
            "FromPath": FromPath,
            "FromQuery": FromQuery,
            "NamedDependency": NamedDependency,
            "QueryParameter": QueryParameter,
            "Response": Response,
            "RunCache": RunCache,
            "RunContext": RunContext,
            "Stream": Stream,
        },
        template_config=TemplateConfig(
            directory=PACKAGE / "templates", engine=JinjaTemplateEngine, engine_callback=_engine_setup
        ),
        plugins=[HTMXPlugin()],
        openapi_config=OpenAPIConfig(
            title="parsl-visualize", version=__version__, path="/schema", render_plugins=[JsonRenderPlugin()]
        ),
        exception_handlers={HTTPException: _error_page},
        debug=debug,
    )
