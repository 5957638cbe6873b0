"""Database connections for requests, taken off the event loop and never more than the pool holds.

Taking a connection from an exhausted pool blocks the calling thread. Done on the event
loop (as a plain generator dependency does), that froze the whole server: 16 concurrent
requests against a pool of 15 waited 30 s for a connection that only the blocked loop
could give back. Here a request first waits, on the loop and without blocking it, for one
of :data:`REQUEST_SLOTS`, and the pool holds as many connections as there are slots, so
taking one never waits. Requests beyond :data:`MAX_WAITING` are answered 503 at once.
(CSV exports stream from a run's in-memory model: they hold no connection.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from litestar.exceptions import ServiceUnavailableException

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy import Connection, Engine

__all__ = (
    "MAX_WAITING",
    "POOL_SIZE",
    "REQUEST_SLOTS",
    "WAIT_TIMEOUT",
    "ConnectionGate",
)

REQUEST_SLOTS = 8
"""Requests reading the database at once; queries release the GIL, so more than the cores is useful."""
POOL_SIZE = REQUEST_SLOTS + 1
"""Connections the engine keeps: one per slot, so taking one never blocks, and one for the background reader."""
MAX_WAITING = 256
"""Requests waiting for a slot; beyond that the server is overloaded and says so (503)."""
WAIT_TIMEOUT = 60.0
"""Seconds a request waits for a slot before it is answered 503."""


class ConnectionGate:
    """Hands out the engine's connections to requests, a bounded number at a time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._requests = anyio.Semaphore(REQUEST_SLOTS)
        self._waiting = 0

    async def request_connection(self) -> AsyncIterator[Connection]:
        """The ``conn`` dependency: a connection for the request, returned to the pool after it."""
        if self._waiting >= MAX_WAITING:
            raise ServiceUnavailableException("the dashboard is overloaded: try again in a moment")
        self._waiting += 1
        try:
            with anyio.move_on_after(WAIT_TIMEOUT) as scope:
                await self._requests.acquire()
        finally:
            self._waiting -= 1
        if scope.cancelled_caught:
            raise ServiceUnavailableException("the dashboard is busy: try again in a moment")
        try:
            conn = await anyio.to_thread.run_sync(self._engine.connect)
            try:
                yield conn
            finally:
                await anyio.to_thread.run_sync(conn.close)
        finally:
            self._requests.release()
