"""The hub's main loop: receive, batch, write; and a clean stop that loses nothing."""

from __future__ import annotations

import datetime
import gc
import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from parsl_monitor_core.wire import MessageKind
from parsl_monitor_hub.batcher import Batcher
from parsl_monitor_hub.database import open_database
from parsl_monitor_hub.receiver import FlushRequest, Receiver
from parsl_monitor_hub.stats import HubStats
from parsl_monitor_hub.writer import Writer

if TYPE_CHECKING:
    from parsl_monitor_core.wire import Message
    from parsl_monitor_hub.config import HubConfig

__all__ = ("HubService",)

logger = logging.getLogger(__name__)

FRAMES_PER_TURN = 1000
"""Frames taken between two checks of the batch clock, so a flood cannot delay writes."""
POLL_CEILING = 0.1
"""Longest wait in one poll: the loop must notice a stop request or a dead parent quickly."""


class HubService:
    """One hub: a listening socket and the single writer of one database.

    ``HubService(config)`` opens the database and binds the socket (raising one-line
    :class:`~parsl_monitor_hub.errors.HubError` subclasses); :meth:`run` serves until
    :meth:`stop` is called, then writes everything it has received and returns.
    """

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.stats = HubStats(config.stats_interval)
        self._writer = Writer(open_database(config.db_url))
        try:
            self._receiver = Receiver(
                config.bind,
                any_port_if_busy=config.any_port_if_busy,
                max_frame_bytes=config.max_frame_bytes,
                stats=self.stats,
            )
        except BaseException:
            self._writer.close()
            raise
        self._batcher = Batcher(config.batch_size, config.batch_delay)
        self._flushes: list[FlushRequest] = []
        self._open_runs: dict[str, None] = {}
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        """Where senders connect (the bound endpoint, with the real port)."""
        return self._receiver.url

    def stop(self) -> None:
        """Ask :meth:`run` to finish: safe from signal handlers and other threads."""
        self._stop.set()

    def _on_message(self, message: Message) -> None:
        if message.kind is MessageKind.WORKFLOW_INFO:
            run_id = message.get("run_id")
            if message.is_workflow_start:
                self._open_runs[run_id] = None
            else:
                self._open_runs.pop(run_id, None)
        self._batcher.add(message)

    def _write(self) -> None:
        messages = self._batcher.take()
        if messages:
            started = time.perf_counter()
            result = self._writer.write(messages)
            logger.debug(
                "wrote %d of %d messages in %.1f ms",
                result.written,
                len(messages),
                1000 * (time.perf_counter() - started),
            )
            self.stats.written += result.written
            for message, reason in result.rejected:
                self.stats.reject(f"{message.kind.name} message", message.get("run_id") or "?", reason, frame=False)
        for request in self._flushes:
            self._receiver.answer_flush(request, self.stats.written)
        self._flushes.clear()

    def _parent_gone(self) -> bool:
        return self.config.parent_pid is not None and os.getppid() != self.config.parent_pid

    def run(self) -> None:
        """Serve until :meth:`stop`; then drain, write, close abandoned workflows and release everything."""
        logger.info("listening on %s, writing %s", self.url, self.config.db_url)
        gc.freeze()  # start-up objects (SQLAlchemy, compiled statements) never need collecting
        try:
            while not self._stop.is_set():
                timeout = min(self._batcher.seconds_until_due(), POLL_CEILING)
                if self._receiver.socket.poll(int(timeout * 1000)):
                    self._receiver.receive(FRAMES_PER_TURN, self._on_message, self._flushes.append)
                if self._flushes or self._batcher.due():
                    self._write()
                if self._parent_gone():
                    logger.warning("the process that started this hub is gone; stopping")
                    self._stop.set()
                self.stats.maybe_log()
            self._drain()
        finally:
            self._receiver.close()
            self._writer.close()
        self.stats.maybe_log(force=True)
        logger.info("stopped: %d messages written, %d rejected", self.stats.written, self.stats.rejected)

    def _drain(self) -> None:
        """Write what already arrived, then mark workflows that never ended, as Parsl does."""
        while self._receiver.receive(FRAMES_PER_TURN, self._on_message, self._flushes.append):
            if self._batcher.due():
                self._write()
        self._write()
        if self._open_runs:
            logger.info("workflows without an end message, marked completed now: %s", ", ".join(self._open_runs))
            self._writer.mark_abandoned(list(self._open_runs), datetime.datetime.now(datetime.timezone.utc))
            self._open_runs.clear()
