"""Who may read the dashboard, checked before any route runs, and the headers every answer carries.

Three guards, applied to every request (pages, fragments, static files, API, CSV, OpenAPI):

- the ``Host`` header must name this dashboard (loopback names, the listen address, names
  given with ``--allowed-host``): a web page the user visits cannot read a loopback-only
  dashboard by DNS rebinding;
- when a token is set (always when listening beyond loopback, unless ``--no-auth``), the
  request carries it: ``?token=`` once (answered with a session cookie and a redirect that
  drops it from the address bar), the cookie afterwards, or an ``Authorization`` header;
- every answer carries a Content-Security-Policy that runs only our own scripts, and
  ``nosniff``, ``DENY`` framing and ``no-referrer``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import socket
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from litestar.enums import ScopeType

from parsl_visualize.head import HeadAwareLitestar

if TYPE_CHECKING:
    from collections.abc import Iterable

    from litestar.types import (
        HTTPResponseBodyEvent,
        HTTPResponseStartEvent,
        LifeSpanReceive,
        LifeSpanScope,
        LifeSpanSend,
        Receive,
        Scope,
        Send,
    )

__all__ = ("LOOPBACK_HOSTS", "SECURITY_HEADERS", "Access", "GuardedLitestar", "hide_tokens")

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "localhost.localdomain"})
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Only our vendored scripts run (no inline script, no eval); styles may be inline: ECharts and
the state badges set them, and a style cannot run code."""
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_SESSION = b"parsl-visualize session"
_TOKEN_IN_TEXT = re.compile(r"(token=)[^&\s\"]*")
_BRACKETED = re.compile(r"^\[(.*)\](?::\d+)?$")


def hide_tokens(text: str) -> str:
    """``text`` with every ``token=`` value replaced, for logs."""
    return _TOKEN_IN_TEXT.sub(r"\1[hidden]", text)


class _NoTokensInLogs(logging.Filter):
    """Keeps tokens out of uvicorn's access log (``--debug``), whose lines hold the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(hide_tokens(arg) if isinstance(arg, str) else arg for arg in record.args)
        record.msg = hide_tokens(str(record.msg))
        return True


_NO_TOKENS_IN_LOGS = _NoTokensInLogs()


def _host_name(header: str) -> str:
    """The name in a Host header, without port or IPv6 brackets, lower case."""
    header = header.strip().lower()
    bracketed = _BRACKETED.match(header)
    if bracketed:
        return bracketed.group(1)
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _this_machine() -> set[str]:
    """Names and addresses this machine answers to, for a dashboard listening on every interface."""
    machine = (socket.gethostname().lower(), socket.getfqdn().lower())
    names = set(machine)
    for name in machine:
        try:
            names.update(str(info[4][0]).lower() for info in socket.getaddrinfo(name, None))
        except OSError:
            continue
    return names


class Access:
    """The Host names this dashboard answers to, and the token it demands (None: none)."""

    def __init__(self, *, listen: str = "127.0.0.1", allowed_hosts: Iterable[str] = (), token: str | None = None):
        hosts = set(LOOPBACK_HOSTS) | {name.lower() for name in allowed_hosts}
        if listen in {"0.0.0.0", "::", ""}:  # noqa: S104 - a listen address compared, not bound
            hosts |= _this_machine()
        else:
            hosts.add(_host_name(listen))
        self.allowed_hosts = frozenset(hosts)
        self.token = token
        self._session = hmac.new(token.encode(), _SESSION, hashlib.sha256).hexdigest() if token else ""
        logging.getLogger("uvicorn.access").addFilter(_NO_TOKENS_IN_LOGS)  # added once, however many apps

    def _token_ok(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def _cookie_name(self, scope: Scope) -> str:
        server = scope.get("server") or ("", 0)
        return f"parsl_visualize_{server[1] or 'session'}"  # cookies ignore ports: one per dashboard

    def _authorized(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() in {"bearer", "token"} and self._token_ok(given.strip()):
            return True
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(headers.get(b"cookie", b"").decode("latin-1"))
        except Exception:  # noqa: BLE001 - a malformed cookie header is no session
            return False
        session = cookies.get(self._cookie_name(scope))
        return session is not None and hmac.compare_digest(session.value.encode(), self._session.encode())

    async def admit(self, scope: Scope, send: Send) -> bool:
        """Answer the request here if it may not pass (400, 401, or the token's redirect); True if it may."""
        headers = dict(scope.get("headers", ()))
        host = _host_name(headers.get(b"host", b"").decode("latin-1"))
        if host not in self.allowed_hosts:
            reason = f"this dashboard does not answer to the host name {host!r}: add it with --allowed-host"
            await _answer(send, 400, reason, scope)
            return False
        if self.token is None or self._authorized(scope, headers):
            return True
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [value for name, value in query if name == "token"]
        if given and self._token_ok(given[-1]) and scope.get("method") in {"GET", "HEAD"}:
            rest = urlencode([(name, value) for name, value in query if name != "token"])
            location = scope.get("root_path", "") + scope["path"] + (f"?{rest}" if rest else "")
            cookie = f"{self._cookie_name(scope)}={self._session}; Path=/; HttpOnly; SameSite=Strict"
            await _answer(send, 303, "", scope, [(b"location", location.encode()), (b"set-cookie", cookie.encode())])
            return False
        reason = "this dashboard needs its token: open the address parsl-visualize printed when it started"
        await _answer(send, 401, reason, scope)
        return False


async def _answer(
    send: Send, status: int, detail: str, scope: Scope, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A short answer from the guard itself: JSON for the API and for clients not asking for HTML."""
    accept = dict(scope.get("headers", ())).get(b"accept", b"text/html").decode("latin-1")
    if scope["path"].startswith("/api/") or "text/html" not in accept:
        body, kind = json.dumps({"status_code": status, "detail": detail}).encode(), b"application/json"
    else:
        escaped = detail.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        page = f"<!doctype html><title>parsl-visualize</title><p>{escaped}</p>" if detail else ""
        body, kind = page.encode(), b"text/html; charset=utf-8"
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *(extra or []),
        *SECURITY_HEADERS,
    ]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    end: HTTPResponseBodyEvent = {
        "type": "http.response.body",
        "body": b"" if scope.get("method") == "HEAD" else body,
        "more_body": False,
    }
    await send(end)


def with_security_headers(send: Send) -> Send:
    """``send`` that adds :data:`SECURITY_HEADERS` to the response's start."""

    async def secured(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *SECURITY_HEADERS]}
        await send(message)

    return secured


class GuardedLitestar(HeadAwareLitestar):
    """The dashboard's application: every HTTP request passes :attr:`access` first."""

    access: Access = Access()

    async def __call__(
        self, scope: Scope | LifeSpanScope, receive: Receive | LifeSpanReceive, send: Send | LifeSpanSend
    ) -> None:
        """Refuse what may not pass; add the security headers to everything else."""
        if scope["type"] == ScopeType.HTTP:
            if not await self.access.admit(scope, send):  # type: ignore[arg-type]
                return
            send = with_security_headers(send)  # type: ignore[arg-type]
        await super().__call__(scope, receive, send)
