"""What every per-run page does: find the run, decide whether to answer a live poll, render."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from litestar.exceptions import NotFoundException
from litestar.response import Response, Template

from parsl_visualize.links import from_segment
from parsl_visualize.queries.workflows import find_workflow

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from litestar.di import NamedDependency
    from litestar.params import FromPath
    from litestar.plugins.htmx import HTMXRequest
    from sqlalchemy import Connection

    from parsl_visualize.cache import RunCache
    from parsl_visualize.db import Database
    from parsl_visualize.live.model import RunModel
    from parsl_visualize.live.registry import ModelRegistry
    from parsl_visualize.queries.workflows import WorkflowRow

__all__ = ("NotYetError", "RunContext", "live_page", "provide_run")

T = TypeVar("T")


class NotYetError(NotFoundException):
    """Something of a running run that may still come (a task not submitted yet): the page retries."""

    retry = "The run is still running: this page reloads every few seconds until it appears."


class RunContext:
    """The run a page is about, with the token that changes when its data does.

    Injected into handlers as ``ctx`` (see :func:`provide_run`); a plain class because
    Litestar validates dataclass dependencies field by field.
    """

    __slots__ = ("cache", "conn", "db", "model", "run", "token")

    def __init__(self, run: WorkflowRow, model: RunModel, db: Database, conn: Connection, cache: RunCache) -> None:
        self.run = run
        self.model = model
        self.token = f"{model.token}.{run.last_message.timestamp()}"
        self.db = db
        self.conn = conn
        self.cache = cache

    def cached(self, what: str, compute: Callable[[], T], *args: Hashable) -> T:
        """``compute()``, cached for this run under ``what`` and ``args`` until the run changes."""
        return self.cache.get((what, self.run.run_id, self.token, args), compute)

    @property
    def run_end(self) -> float:
        """Where a run's charts end: its end time, or now while it has not ended."""
        return self.model.completed if self.model.completed is not None else self.now

    @property
    def now(self) -> float:
        """The current time as seconds since 1970 in the database's zone (the model's times)."""
        return self.db.seconds_now()

    @property
    def live(self) -> bool:
        """Whether open pages should keep polling: until the run ends, even while it is quiet.

        A quiet run ("incomplete": no message for a while) may be running long tasks; a
        poll that finds nothing new costs a few index lookups, none while the run is followed.
        """
        return self.run.ended is None


def provide_run(
    db: NamedDependency[Database],
    conn: NamedDependency[Connection],
    cache: NamedDependency[RunCache],
    models: NamedDependency[ModelRegistry],
    run_id: FromPath[str],
) -> RunContext:
    """The ``ctx`` dependency of every per-run route: the run of the path and its model, or a 404 naming it.

    A run the background reader follows is taken as its last look left it, row and model
    (at most a few seconds old): a poll that finds nothing new then reads no database.
    """
    run_id = from_segment(run_id)
    run = models.followed_run(run_id) or find_workflow(conn, run_id, db.now(), ledger=db.has_ledger)
    if run is None:
        raise NotFoundException(f"no workflow run {run_id!r} in this database")
    model = models.model(conn, run_id, running=run.ended is None)
    return RunContext(run=run.with_progress(model.progress()), model=model, db=db, conn=conn, cache=cache)


def live_page(
    request: HTMXRequest,
    ctx: RunContext,
    templates: tuple[str, str],
    context: Callable[[], dict[str, Any]],
    since: str | None,
) -> Response[Any]:
    """The full page; for an htmx poll only the live fragment, or nothing when nothing changed.

    ``templates`` names the page and its live fragment; ``context`` computes what they
    show, and is not called for a poll that finds nothing new.

    A poll sends the token it was rendered with (``since``): equal tokens answer 204,
    which htmx leaves alone, so an idle dashboard costs the model's look for new rows.
    Once the run has ended the fragment comes back without its polling trigger.
    """
    page, fragment = templates
    polled = request.htmx and since is not None
    if polled and since == ctx.token and ctx.live:
        return Response(content=b"", status_code=204)
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "since"])
    here = request.url.path + (f"?{query}" if query else "")
    shown = {
        **context(),
        "run": ctx.run,
        "token": ctx.token,
        "live": ctx.live,
        "zone": ctx.db.zone_label,
        "utc": ctx.db.utc,
        "here": here,
    }
    return Template(template_name=fragment if polled else page, context=shown)
