"""The hub's main loop: receive, batch, write; and a clean stop that loses nothing it can keep."""

from __future__ import annotations

import contextlib
import datetime
import gc
import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

import zmq

from parsl_monitor_core.wire import MessageKind
from parsl_monitor_hub.batcher import Batcher
from parsl_monitor_hub.config import shown_url
from parsl_monitor_hub.database import open_database
from parsl_monitor_hub.errors import HubError
from parsl_monitor_hub.ledger import Ledger
from parsl_monitor_hub.receiver import FlushRequest, Receiver, raise_open_file_limit
from parsl_monitor_hub.rows import RowBuilder
from parsl_monitor_hub.statements import compile_statements
from parsl_monitor_hub.stats import HubStats
from parsl_monitor_hub.writing.pipeline import WritePipeline
from parsl_monitor_hub.writing.process import GC_THRESHOLDS, WriterProcess

if TYPE_CHECKING:
    from parsl_monitor_core.wire import Message
    from parsl_monitor_hub.config import HubConfig

__all__ = ("HubService",)

logger = logging.getLogger(__name__)

FRAMES_PER_TURN = 1000
"""Frames taken between two checks of the batch clock, so a flood cannot delay writes."""
POLL_CEILING = 0.1
"""Longest wait in one poll: the loop must notice a stop request or a dead parent quickly."""
DRAIN_QUIET = 0.05
"""While stopping: how long the socket must stay empty before everything sent is taken as received."""
PARENT_GONE_GRACE = 2.0
"""Seconds the hub serves on once its program is gone: the interchange that program started
notices within a second (``parsl_monitor_hub.parsl.interchange.PARENT_CHECK``) and sends its
last node records; without the grace they found no hub."""
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

    def __init__(self, config: HubConfig, writer: WriterProcess | None = None) -> None:
        """``writer``: the writer process, already started; by default it is started here, first.

        The writer imports SQLAlchemy while this process opens the database (and, when the
        CLI starts it before importing this module, while this process imports too).
        """
        self.config = config
        self.stats = HubStats(config.stats_interval)
        if writer is None:
            writer = WriterProcess(config.db_url, log_file=config.log_file, log_level=config.log_level)
        try:  # the writer opens the database at its first request: after the check below
            engine = open_database(config.db_url)  # checked and upgraded here, so errors come before we listen
            builder = RowBuilder(compile_statements(engine.dialect))
            self.ledger = Ledger.read(engine)
            engine.dispose()
            max_senders = raise_open_file_limit()
            writer.wait_connected()  # before senders can take every descriptor
            self._receiver = Receiver(
                config.bind,
                any_port_if_busy=config.any_port_if_busy,
                max_frame_bytes=config.max_frame_bytes,
                stats=self.stats,
                ledger=self.ledger,
                max_senders=max_senders,
                key_dir=config.keys,
            )
        except BaseException:
            writer.close()
            raise
        self._builder = builder
        self._pipeline = WritePipeline(writer, builder, self.stats, self.ledger, self._receiver.answer_flush)
        self._batcher = Batcher(config.batch_size, config.batch_delay)
        self._flushes: list[FlushRequest] = []
        self._open_runs: dict[str, None] = {}
        self._stop = threading.Event()
        self._stop_reason: str | None = None
        # stop() writes a byte here so that a wait in the loop's poll ends at once: pyzmq
        # resumes a poll a signal interrupted, which delayed every stop by up to POLL_CEILING.
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_write.setblocking(False)

    @property
    def url(self) -> str:
        """Where senders connect (the bound endpoint, with the real port)."""
        return self._receiver.url

    def stop(self, reason: str | None = None) -> None:
        """Ask :meth:`run` to finish: safe from signal handlers and other threads.

        Only sets a flag and wakes the loop: :meth:`run` logs ``reason``. A signal handler
        that logged itself could interrupt a log write of the main thread and break it
        (Python's logging is not reentrant).
        """
        self._stop_reason = reason
        self._stop.set()
        with contextlib.suppress(OSError):  # already woken (the buffer is full) or closed
            self._wake_write.send(b"\0")

    def _on_message(self, message: Message, sender: str) -> None:
        if message.kind is MessageKind.WORKFLOW_INFO:
            run_id = message.get("run_id")
            if message.is_workflow_start:
                self._open_runs[run_id] = None
            else:
                self._open_runs.pop(run_id, None)
        if sender not in self.ledger.known:
            self.ledger.saw(sender, message.get("run_id"))
        self._batcher.add(message, sender)

    def _write(self) -> None:
        """Send the waiting batch (and the ledger's news) to the writer, and pending FLUSHes after it."""
        messages, senders = self._batcher.take()
        if messages or self.ledger.has_unwritten:
            self._pipeline.submit(messages, senders)
        if not self._batcher.pending:  # a FLUSH waits for every message received before it
            for request in self._flushes:
                self._pipeline.flush_after_sent(request)
            self._flushes.clear()

    def _parent_gone(self) -> bool:
        return self.config.parent_pid is not None and os.getppid() != self.config.parent_pid

    def _turn(self, poller: zmq.Poller, timeout: float, *, receive: bool = True) -> int:
        """Receive what waits (up to ``timeout`` seconds for it), write what is due; returns frames taken.

        ``receive=False``: only wait (up to ``timeout``) for the writer and settle its answers.
        """
        pipeline = self._pipeline
        taken = 0
        if not pipeline.has_room:
            pipeline.wait(int(1000 * timeout))  # frames wait in ZMQ's queue meanwhile
        else:
            if not receive:
                pipeline.wait(int(1000 * timeout))
            elif self._receiver.socket in dict(poller.poll(int(1000 * timeout))):
                taken = self._receiver.receive(
                    FRAMES_PER_TURN, self._on_message, self._flushes.append, self._batcher.full
                )
            pipeline.settle()
            if self._flushes or self._batcher.due() or (self.ledger.has_unwritten and pipeline.idle):
                self._write()
        self._receiver.count_refused()
        self._receiver.tell_askers(pipeline.problem)
        if self.stats.maybe_log():
            self._receiver.warn_if_full()
        return taken

    def run(self) -> None:
        """Serve until :meth:`stop`; then drain, write, close abandoned workflows and release everything.

        Raises:
            HubError: the writer process died, or the database took no write for ``stop_grace``
                seconds while stopping; the log says how many messages were not written.
        """
        logger.info(
            "listening on %s, writing %s; room for about %d senders",
            self.url,
            shown_url(self.config.db_url),
            self._receiver.max_senders,
        )
        if self._receiver.encrypted:
            logger.info("encrypted (CurveZMQ): senders need the keys in %s", self.config.keys)
        else:
            logger.warning(
                "NOT ENCRYPTED: anyone who can reach %s can read what senders send and add rows to %s; "
                "start with --keys DIR (a workflow's own hub does so unless encrypted=False)",
                self.url,
                shown_url(self.config.db_url),
            )
        gc.freeze()  # start-up objects (SQLAlchemy, compiled statements) never need collecting
        gc.set_threshold(*GC_THRESHOLDS)
        poller = zmq.Poller()  # a frame or the writer's answer, whichever comes first
        poller.register(self._receiver.socket, zmq.POLLIN)
        poller.register(self._pipeline.writer.socket, zmq.POLLIN)
        poller.register(self._wake_read, zmq.POLLIN)
        orphaned_at: float | None = None
        try:
            while not self._stop.is_set():
                taken = self._turn(poller, min(self._batcher.seconds_until_due(), POLL_CEILING))
                if 0 < taken < FRAMES_PER_TURN // 10:
                    time.sleep(TRICKLE_PAUSE)
                if orphaned_at is None and self._parent_gone():
                    logger.warning(
                        "the process that started this hub is gone; stopping in %.0f s, once what it started "
                        "has sent its last messages",
                        PARENT_GONE_GRACE,
                    )
                    orphaned_at = time.monotonic()
                if orphaned_at is not None and time.monotonic() - orphaned_at >= PARENT_GONE_GRACE:
                    self._stop.set()
            poller.unregister(self._wake_read)  # stays readable: the drain's waits must still wait
            if self._stop_reason is not None:
                logger.info("%s: writing what has arrived, then exiting", self._stop_reason)
            self._drain(poller)
            self._pipeline.writer.stop()
        finally:
            self._receiver.close()
            self._pipeline.writer.close()
            self._wake_read.close()
            self._wake_write.close()
            self.stats.maybe_log(force=True)
        lost = sum(self.ledger.lost().values())
        logger.info(
            "stopped: %d messages written, %d rejected, %d connections refused; senders counted %d lost",
            self.stats.written,
            self.stats.rejected,
            self.stats.refused,
            lost,
        )

    def _check_stalled(self) -> None:
        pipeline = self._pipeline
        stalled = time.monotonic() - pipeline.last_progress
        if pipeline.problem is not None and stalled > self.config.stop_grace:
            unwritten = pipeline.waiting_messages + self._batcher.pending
            message = (
                f"stopping with {unwritten} messages not written: the database took no write "
                f"for {stalled:.0f} s ({pipeline.problem})"
            )
            logger.error("%s", message)
            raise HubError(message)

    def _drain(self, poller: zmq.Poller) -> None:
        """Write what already arrived, then end workflows that never ended, as Parsl does.

        Gives up (raising) if the database takes no write for ``stop_grace`` seconds.
        """
        self._pipeline.last_progress = time.monotonic()
        while True:
            self._check_stalled()
            taken = self._turn(poller, 0 if self._pipeline.has_room else POLL_CEILING)
            if self._batcher.pending or self._flushes:
                self._batcher.make_due()
                continue
            room = self._pipeline.has_room  # a turn without room takes nothing: not drained yet
            if taken or not room:
                continue
            # The queue is empty now; frames still in the kernel's buffers (ZMQ stops reading a
            # sender whose queue is full) reach it a moment later.
            if not self._receiver.socket.poll(int(1000 * DRAIN_QUIET)):
                break
        if self._open_runs:
            logger.info("workflows without an end message, marked abandoned now: %s", ", ".join(self._open_runs))
            while not self._pipeline.has_room:
                self._check_stalled()
                self._pipeline.wait(int(1000 * POLL_CEILING))
            now = datetime.datetime.now(datetime.timezone.utc)
            self._pipeline.submit([], [], self._builder.abandoned(list(self._open_runs), now))
            self._open_runs.clear()
        while not self._pipeline.idle or self.ledger.has_unwritten:
            self._check_stalled()
            self._turn(poller, POLL_CEILING, receive=False)  # a frame taken now would never be written
