"""HEAD requests answered like GET without the body, as HTTP asks (monitoring probes, ``curl -I``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from litestar import Litestar
from litestar.enums import ScopeType

if TYPE_CHECKING:
    from litestar.types import LifeSpanReceive, LifeSpanScope, LifeSpanSend, Receive, Scope, Send

__all__ = ("HeadAwareLitestar",)


class HeadAwareLitestar(Litestar):
    """Litestar routes HEAD only to handlers declared for it; this serves every GET route for HEAD too."""

    async def __call__(
        self, scope: Scope | LifeSpanScope, receive: Receive | LifeSpanReceive, send: Send | LifeSpanSend
    ) -> None:
        """Run the request, as a GET whose body is dropped when it came as HEAD."""
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "HEAD":
            await super().__call__(scope, receive, send)
            return

        async def headers_only(message: Any) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await super().__call__(cast("Scope", {**scope, "method": "GET"}), receive, headers_only)
