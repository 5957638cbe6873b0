"""The hub's main loop: receive, batch, write; and a clean stop that loses nothing."""

from __future__ import annotations

import datetime
import gc
import logging
import os
import threading
import time
from typing import TYPE_CHECKING

import zmq

from parsl_monitor_core.wire import MessageKind
from parsl_monitor_hub.batcher import Batcher
from parsl_monitor_hub.database import open_database
from parsl_monitor_hub.pipeline import WritePipeline
from parsl_monitor_hub.receiver import FlushRequest, Receiver
from parsl_monitor_hub.rows import RowBuilder
from parsl_monitor_hub.statements import compile_statements
from parsl_monitor_hub.stats import HubStats
from parsl_monitor_hub.writer_process import GC_THRESHOLDS, WriterProcess

if TYPE_CHECKING:
    from parsl_monitor_core.wire import Message
    from parsl_monitor_hub.config import HubConfig

__all__ = ("HubService",)

logger = logging.getLogger(__name__)

FRAMES_PER_TURN = 1000
"""Frames taken between two checks of the batch clock, so a flood cannot delay writes."""
POLL_CEILING = 0.1
"""Longest wait in one poll: the loop must notice a stop request or a dead parent quickly."""
TRICKLE_PAUSE = 0.01
"""After a turn that found only a few frames, let more gather before the next: waking per
frame (thousands per second from workers) costs more than handling the frames, and a
batch waits 0.2 s anyway."""


class HubService:
    """One hub: a listening socket and the single writer of one database.

    ``HubService(config)`` opens the database and binds the socket (raising one-line
    :class:`~parsl_monitor_hub.errors.HubError` subclasses); :meth:`run` serves until
    :meth:`stop` is called, then writes everything it has received and returns.
    """

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.stats = HubStats(config.stats_interval)
        engine = open_database(config.db_url)  # checked and upgraded here, so errors come before we listen
        builder = RowBuilder(compile_statements(engine.dialect))
        engine.dispose()
        self._receiver = Receiver(
            config.bind,
            any_port_if_busy=config.any_port_if_busy,
            max_frame_bytes=config.max_frame_bytes,
            stats=self.stats,
        )
        try:
            writer = WriterProcess(config.db_url, log_file=config.log_file, log_level=config.log_level)
        except BaseException:
            self._receiver.close()
            raise
        self._builder = builder
        self._pipeline = WritePipeline(writer, builder, self.stats, self._receiver.answer_flush)
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
        """Send the waiting batch to the writer, and pending FLUSHes after it."""
        messages = self._batcher.take()
        if messages:
            self._pipeline.submit(messages)
        for request in self._flushes:
            self._pipeline.flush_after_sent(request)
        self._flushes.clear()

    def _parent_gone(self) -> bool:
        return self.config.parent_pid is not None and os.getppid() != self.config.parent_pid

    def run(self) -> None:
        """Serve until :meth:`stop`; then drain, write, close abandoned workflows and release everything.

        Raises:
            HubError: the writer process died; what it had not written is lost.
        """
        logger.info("listening on %s, writing %s", self.url, self.config.db_url)
        gc.freeze()  # start-up objects (SQLAlchemy, compiled statements) never need collecting
        gc.set_threshold(*GC_THRESHOLDS)
        pipeline = self._pipeline
        poller = zmq.Poller()  # a frame or the writer's answer, whichever comes first
        poller.register(self._receiver.socket, zmq.POLLIN)
        poller.register(pipeline.writer.socket, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                timeout = int(1000 * min(self._batcher.seconds_until_due(), POLL_CEILING))
                if not pipeline.has_room:
                    pipeline.wait(timeout)  # frames wait in ZMQ's queue meanwhile
                    continue
                taken = 0
                if self._receiver.socket in dict(poller.poll(timeout)):
                    taken = self._receiver.receive(
                        FRAMES_PER_TURN, self._on_message, self._flushes.append, self._batcher.full
                    )
                pipeline.settle()
                if self._flushes or self._batcher.due():
                    self._write()
                elif 0 < taken < FRAMES_PER_TURN // 10:
                    time.sleep(TRICKLE_PAUSE)
                if self._parent_gone():
                    logger.warning("the process that started this hub is gone; stopping")
                    self._stop.set()
                self.stats.maybe_log()
            self._drain()
            pipeline.writer.stop()
        finally:
            self._receiver.close()
            pipeline.writer.close()
        self.stats.maybe_log(force=True)
        logger.info("stopped: %d messages written, %d rejected", self.stats.written, self.stats.rejected)

    def _wait_for_room(self) -> None:
        while not self._pipeline.has_room:
            self._pipeline.wait(int(1000 * POLL_CEILING))

    def _drain(self) -> None:
        """Write what already arrived, then mark workflows that never ended, as Parsl does."""
        self._wait_for_room()
        while True:
            taken = self._receiver.receive(FRAMES_PER_TURN, self._on_message, self._flushes.append, self._batcher.full)
            if self._batcher.due():
                self._write()
                self._wait_for_room()
            elif not taken:
                break
        self._write()
        if self._open_runs:
            logger.info("workflows without an end message, marked completed now: %s", ", ".join(self._open_runs))
            self._wait_for_room()
            self._pipeline.submit_rows(
                self._builder.abandoned(list(self._open_runs), datetime.datetime.now(datetime.timezone.utc))
            )
            self._open_runs.clear()
        while not self._pipeline.idle:
            self._pipeline.wait(int(1000 * POLL_CEILING))
