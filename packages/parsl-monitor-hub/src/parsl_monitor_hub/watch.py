"""Problems of the hub reported to the Parsl program while it runs, not only at ``close()``.

A hub that cannot write its database (full disk, read-only file, a PostgreSQL standby)
tells only senders that wait for a confirmation. Without a waiting sender the program
would learn of it at the end of the run. :class:`HubWatch` keeps one confirmation request
outstanding, renewed every few seconds, so the sender's warnings reach the program's log
within seconds; it also notices an embedded hub that exited.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parsl_monitor_hub.embedded import EmbeddedHub
    from parsl_monitor_hub.sender import FlushTicket, HubSender

__all__ = ("HubWatch",)

logger = logging.getLogger(__name__)

WATCH_INTERVAL = 5.0
"""Seconds between two confirmation requests: one small message each, from the program only."""
SILENT_HUB_WARNING = 60.0
"""A hub that neither confirms nor says why for this long is reported as not answering."""


class HubWatch:
    """A daemon thread that asks the hub for a confirmation every ``interval`` seconds."""

    def __init__(self, sender: HubSender, embedded: EmbeddedHub | None, interval: float = WATCH_INTERVAL) -> None:
        self._sender = sender
        self._embedded = embedded
        self._interval = interval
        self._stopped = threading.Event()
        self._ticket: FlushTicket | None = None
        self._thread = threading.Thread(target=self._run, name="parsl-monitor-hub-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asked = time.monotonic()
        while not self._stopped.wait(self._interval):
            if self._embedded is not None and not self._embedded.alive:
                logger.error(
                    "the monitoring hub exited (code %s) while the workflow runs: messages from now on are "
                    "lost; see monitoring_hub.log",
                    self._embedded.process.returncode,
                )
                return
            ticket = self._ticket
            waited = time.monotonic() - asked
            if ticket is not None and not ticket.wait(0):
                if ticket.problem is not None or waited < SILENT_HUB_WARNING:
                    continue  # the hub said why it waits, or may still answer
                # a restarted hub never saw that request: ask again, and the answer says what was lost
                logger.warning("monitoring hub at %s has not confirmed for %.0f s", self._sender.endpoint, waited)
                ticket.cancel()
            self._ticket = self._sender.request_flush()
            asked = time.monotonic()

    def stop(self) -> None:
        """Stop asking (before the sender's own last flush); an outstanding request is dropped."""
        self._stopped.set()
        self._thread.join()
        if self._ticket is not None and not self._ticket.wait(0):
            self._ticket.cancel()
