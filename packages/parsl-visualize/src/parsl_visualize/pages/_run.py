"""What every per-run page does: find the run, decide whether to answer a live poll, render."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from parsl_visualize.queries.workflows import change_token, find_workflow
from parsl_visualize.urls import from_segment

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from litestar.di import NamedDependency
    from litestar.params import FromPath
    from litestar.plugins.htmx import HTMXRequest
    from sqlalchemy import Connection

    from parsl_visualize.cache import RunCache
    from parsl_visualize.db import Database
    from parsl_visualize.queries.workflows import WorkflowRow

__all__ = ("RunContext", "live_page", "provide_run")

T = TypeVar("T")


class RunContext:
    """The run a page is about, with the token that changes when its data does.

    Injected into handlers as ``ctx`` (see :func:`provide_run`); a plain class because
    Litestar validates dataclass dependencies field by field.
    """

    __slots__ = ("cache", "conn", "db", "run", "token")

    def __init__(self, run: WorkflowRow, token: str, db: Database, conn: Connection, cache: RunCache) -> None:
        self.run = run
        self.token = token
        self.db = db
        self.conn = conn
        self.cache = cache

    def cached(self, what: str, compute: Callable[..., T], *args: Hashable) -> T:
        """``compute(conn, run_id, *args)``, cached until the run changes."""
        key = (what, self.run.run_id, self.token, args)
        return self.cache.get(key, lambda: compute(self.conn, self.run.run_id, *args))

    @property
    def live(self) -> bool:
        """Whether open pages should keep polling."""
        return self.run.status == "running"


def provide_run(
    db: NamedDependency[Database],
    conn: NamedDependency[Connection],
    cache: NamedDependency[RunCache],
    run_id: FromPath[str],
) -> RunContext:
    """The ``ctx`` dependency of every per-run route: the run of the path, or a 404 naming it."""
    run_id = from_segment(run_id)
    run = find_workflow(conn, run_id, db.now())
    if run is None:
        raise NotFoundException(f"no workflow run {run_id!r} in this database")
    return RunContext(run=run, token=change_token(conn, run_id), db=db, conn=conn, cache=cache)


def live_page(
    request: HTMXRequest, ctx: RunContext, templates: tuple[str, str], context: dict[str, Any], since: str | None
) -> Response[Any]:
    """The full page; for an htmx poll only the live fragment, or nothing when nothing changed.

    ``templates`` names the page and its live fragment.

    A poll sends the token it was rendered with (``since``): equal tokens answer 204,
    which htmx leaves alone, so an idle dashboard costs a few index lookups per poll.
    Once the run has ended the fragment comes back without its polling trigger.
    """
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "since"])
    here = request.url.path + (f"?{query}" if query else "")
    context = {**context, "run": ctx.run, "token": ctx.token, "live": ctx.live, "zone": ctx.db.zone_label, "here": here}
    page, fragment = templates
    if request.htmx and since is not None:
        if since == ctx.token and ctx.live:
            return Response(content=b"", status_code=204)
        return Template(template_name=fragment, context=context)
    return Template(template_name=page, context=context)
