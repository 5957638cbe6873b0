"""Links between the dashboard's pages, made from the routes' own paths (Litestar's ``route_reverse``).

The routes keep the paths of Parsl's own parsl-visualize, so its links and tunnels keep
working (Litestar matches a path with or without its trailing "/"; the links it makes
have none). Litestar puts a value into a path as ``str(value)``: a run id, app or
workflow name may hold "/", "?" or "#", so :func:`route_link` quotes string values first.
Templates call it as ``link_to("task", run_id=run.run_id, task_id=3)`` (bound to the app
in :func:`parsl_visualize.app.create_app`, so macros need no request in their context).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar import Litestar

__all__ = ("TASK_ID", "from_segment", "route_link", "segment")


def segment(value: str) -> str:
    """``value`` as one path segment, whatever it holds ("/" included), read back by :func:`from_segment`.

    Quoted twice: servers decode a path once before routing, so a single ``%2F`` would
    become a "/" and split the segment. Parsl's run ids (UUIDs) look the same either way.
    """
    return quote(quote(value, safe=""), safe="")


def from_segment(value: str) -> str:
    """The value :func:`segment` encoded, from the path parameter the router gives (decoded once)."""
    return unquote(value)


class _TaskIdPlaceholder(int):
    """A task id that reads as ``{task_id}``: chart links where the browser puts the clicked task's id."""

    def __str__(self) -> str:
        return "{task_id}"


TASK_ID = _TaskIdPlaceholder()
"""Pass as ``task_id`` for a link a chart completes with the clicked task's id."""


def route_link(app: Litestar, route: str, /, query: Mapping[str, object] | None = None, **path: Any) -> str:
    """The path of the route named ``route`` with its ``path`` values, and ``query`` (empty values left out).

    Raises ``NoRouteMatchFoundException`` for an unknown name or a missing or mistyped
    value, so a broken link fails the page's tests rather than pointing nowhere.
    """
    values = {key: segment(value) if isinstance(value, str) else value for key, value in path.items()}
    kept = {key: value for key, value in (query or {}).items() if value not in (None, "", False)}
    return app.route_reverse(route, **values) + (f"?{urlencode(kept)}" if kept else "")
