"""Sending Parsl's monitoring messages to a hub, from any process of a Parsl program.

Parsl hands ``MonitoringHub.resource_msgs`` to its own code and to processes it spawns
(HighThroughputExecutor's monitoring router takes it as a typeguard-checked
``multiprocessing.queues.Queue``). :class:`HubSender` is therefore such a queue whose
``put`` sends to the hub: it pickles as just the hub's URL, and each process that uses it
opens its own connection on first use. ``put`` only appends to an in-memory queue; a
background thread packs everything waiting into one msgpack frame per send.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing.queues
import multiprocessing.util
import os
import secrets
import socket
import threading
import time
import weakref
from typing import Any

import zmq

from parsl_monitor_core.wire import (
    EncodeError,
    FrameError,
    HubEndpoint,
    MessageError,
    MessageKind,
    decode_frame,
    encode_frame,
    pack_frames,
    pack_message,
    stringify,
    to_wire,
    validate_message,
)

__all__ = ("FlushTicket", "HubSender")

logger = logging.getLogger(__name__)

MAX_MESSAGES_PER_FRAME = 5000
SEND_INTERVAL = 0.05
"""The sending thread wakes this often (or at once for a flush) and sends all that waits, so
Parsl's threads never pay for waking it and a frame carries many messages."""
EXIT_FLUSH_TIMEOUT = 20.0
"""At process exit, how long to wait for the hub to confirm (Parsl joins its helper processes for 30 s)."""
_STOP = object()


class FlushTicket:
    """A pending request for the hub to confirm everything sent before it is committed."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._cancelled = threading.Event()
        self.confirmed = False
        self.problem: str | None = None
        """Why the hub cannot confirm yet, if it said so (it cannot write its database)."""
        self.problem_since: float | None = None
        """When (``time.monotonic()``) the hub first said so."""

    def knows(self, problem: str) -> None:
        """The hub cannot write its database, for this reason."""
        self.problem = problem
        if self.problem_since is None:
            self.problem_since = time.monotonic()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the hub confirmed (or the request was cancelled); False on timeout."""
        return self._done.wait(timeout)

    def cancel(self) -> None:
        """Stop waiting for the hub (it is gone)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        """True when :meth:`cancel` was called."""
        return self._cancelled.is_set()

    def finish(self, *, confirmed: bool) -> None:
        """Called by the sending thread when the answer came or waiting ended."""
        self.confirmed = confirmed
        self._done.set()


class _Channel:
    """The per-process half of a :class:`HubSender`: queue, thread, DEALER socket."""

    def __init__(self, endpoint: HubEndpoint) -> None:
        self.endpoint = endpoint
        self.url = str(endpoint)
        """The hub's URL, for logs (the endpoint may hold keys)."""
        # unique per channel: the hub keeps its counts per name, over all its lives
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.unencodable = 0
        self.sent = 0
        """Messages handed to the socket so far."""
        self.lost = 0
        """Messages the hub said it never received (known once a flush is answered)."""
        self.confirmed = 0
        """Messages sent before the hub's latest confirmation."""
        self.problem: str | None = None
        """Why the hub cannot write its database, as it said last (None once it confirms, or writes again)."""
        self._logged: str | None = None
        self._pending: collections.deque[Any] = collections.deque()
        self._wake = threading.Event()
        self._closed = False
        self._confirmed = False
        self._thread = threading.Thread(target=self._run, name="parsl-monitor-sender", daemon=True)
        self._thread.start()
        multiprocessing.util.Finalize(self, self.close, kwargs={"timeout": EXIT_FLUSH_TIMEOUT}, exitpriority=10)

    def submit(self, item: object) -> None:
        # Only an append: waking the sending thread per message (a queue's put) cost about
        # 30 us of the caller's time here, a cross-CPU wake-up each time.
        self._pending.append(item)

    def request_flush(self) -> FlushTicket:
        ticket = FlushTicket()
        problem = self.problem
        if problem is not None:  # no need to wait for the hub to say it again
            self._hear(problem, [ticket])
        self._pending.append(ticket)
        self._wake.set()
        return ticket

    def close(self, timeout: float | None = None) -> bool:
        if self._closed:
            return self._confirmed
        self._closed = True
        ticket = self.request_flush()
        if not ticket.wait(timeout):
            ticket.cancel()
            logger.error(
                "monitoring hub at %s did not confirm within %s s; the %d messages sent since its last "
                "confirmation may be lost",
                self.url,
                timeout,
                self.sent - self.confirmed,
            )
        self._confirmed = ticket.confirmed and not self.lost
        self._pending.append(_STOP)
        self._wake.set()
        self._thread.join(timeout)
        return self._confirmed

    def _encode(self, item: object) -> list[bytes]:
        try:
            pairs = to_wire(item)
        except TypeError as exc:
            self.unencodable += 1
            logger.warning("not a monitoring message, dropped: %s", exc)
            return []
        packed = []
        for kind, payload in pairs:
            try:
                packed.append(pack_message(kind, payload))
            except EncodeError:
                packed.append(pack_message(kind, [stringify(value) for value in payload]))
        return packed

    def _run(self) -> None:
        context = zmq.Context()
        sock = context.socket(zmq.DEALER)
        self.endpoint.connect(sock)
        token = 0
        waiting: dict[int, tuple[FlushTicket, int]] = {}  # flushes unanswered: token -> (ticket, sent before it)
        try:
            while True:
                if not self._pending:
                    if waiting:  # an answer or new work, whichever comes first
                        sock.poll(int(1000 * SEND_INTERVAL))
                    else:
                        self._wake.wait(SEND_INTERVAL)
                        self._wake.clear()
                token, stop = self._send_pending(sock, token, waiting)
                self._read_answers(sock, waiting)
                if stop:
                    return
        finally:
            for ticket, _ in waiting.values():
                ticket.finish(confirmed=False)
            sock.close(linger=5000)
            context.term()

    def _send_pending(
        self, sock: zmq.Socket[bytes], token: int, waiting: dict[int, tuple[FlushTicket, int]]
    ) -> tuple[int, bool]:
        """Send what waits, up to a frame's worth or a flush; returns the last flush token and whether to stop."""
        items: list[Any] = []
        while self._pending and len(items) < MAX_MESSAGES_PER_FRAME:
            items.append(self._pending.popleft())
            if isinstance(items[-1], FlushTicket):
                break
        packed: list[bytes] = []
        stop = False
        for item in items:
            if isinstance(item, FlushTicket):
                self._send(sock, packed)
                packed = []
                token += 1
                sock.send(encode_frame([(MessageKind.FLUSH, [token, self.sent])], self.name))
                waiting[token] = (item, self.sent)
            elif item is _STOP:
                stop = True
            else:
                packed.extend(self._encode(item))
        self._send(sock, packed)
        return token, stop

    def _send(self, sock: zmq.Socket[bytes], packed: list[bytes]) -> None:
        for frame, count in pack_frames(packed, self.name):
            sock.send(frame)
            self.sent += count

    def _read_answers(self, sock: zmq.Socket[bytes], waiting: dict[int, tuple[FlushTicket, int]]) -> None:
        """Take the hub's answers that arrived, without waiting; forget flushes given up on.

        Read even when nothing waits: the hub tells every sender that asked once when its
        database is away, and when it is back.
        """
        while True:
            try:
                data = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            try:
                frame = decode_frame(data)
            except FrameError as exc:
                logger.warning("unreadable answer from the hub: %s", exc)
                continue
            for item in frame.messages:
                try:
                    answer = validate_message(item)
                except MessageError:
                    continue
                if answer.kind is MessageKind.FLUSH_WAITS:  # about every flush of ours, not one token
                    problem = answer.get("problem")
                    if problem:
                        self.problem = problem
                        self._hear(problem, [ticket for ticket, _ in waiting.values()])
                    else:
                        self._writes_again()
                elif answer.kind is MessageKind.FLUSHED:
                    self._writes_again()
                    ticket, sent = waiting.pop(answer.get("token"), (None, 0))
                    if ticket is not None:
                        self._settled(sent, answer.get("settled"))
                        ticket.finish(confirmed=True)
        for token, (ticket, _) in list(waiting.items()):
            if ticket.cancelled:
                del waiting[token]
                ticket.finish(confirmed=False)

    def _hear(self, problem: str, tickets: list[FlushTicket]) -> None:
        """Give waiting ``tickets`` the hub's reason; say it once, when someone waits for it."""
        for ticket in tickets:
            ticket.knows(problem)
        if tickets and problem != self._logged:
            self._logged = problem
            logger.warning("monitoring hub at %s cannot write yet: %s", self.url, problem)

    def _writes_again(self) -> None:
        self.problem = None
        if self._logged is not None:
            self._logged = None
            logger.warning("monitoring hub at %s writes its database again", self.url)

    def _settled(self, sent: int, settled: int | None) -> None:
        self.confirmed = sent
        if settled is None or settled >= sent:
            return
        if sent - settled > self.lost:
            self.lost = sent - settled
            logger.error(
                "monitoring hub at %s never received %d of the %d messages sent from this process "
                "(a hub that died, or a dropped connection); its database counts them as lost",
                self.url,
                self.lost,
                sent,
            )


class HubSender(multiprocessing.queues.Queue):  # type: ignore[type-arg]
    """A stand-in for Parsl's monitoring queue that delivers to a hub over ZMQ.

    Only the queue methods Parsl's senders use are meaningful: ``put`` / ``put_nowait``,
    plus ``close``. Reading from it is not supported: the hub is the reader. It is a
    :class:`~parsl_monitor_core.wire.HubQueue`: radios read ``url`` (the packed endpoint, keys
    included: never log it) and ``resource_monitoring_interval`` from it when they are created.
    """

    def __init__(self, url: str, resource_monitoring_interval: float = 0.0) -> None:  # no super().__init__
        self.url = url
        self.endpoint = HubEndpoint.parse(url)
        self.resource_monitoring_interval = resource_monitoring_interval
        self._channel: _Channel | None = None
        self._pid = -1

    def __getstate__(self) -> dict[str, Any]:  # type: ignore[override]
        return {"url": self.url, "interval": self.resource_monitoring_interval}

    def __setstate__(self, state: dict[str, Any]) -> None:  # type: ignore[override]
        self.url = state["url"]
        self.endpoint = HubEndpoint.parse(self.url)
        self.resource_monitoring_interval = state.get("interval", 0.0)
        self._channel = None
        self._pid = -1

    def _local(self) -> _Channel:
        # A fork or spawn child must never touch its parent's ZMQ context: one channel per
        # process (a spawn child unpickles without one; a fork child forgets it, see below).
        if self._channel is None:
            self._channel = _Channel(self.endpoint)
            self._pid = os.getpid()
            _SENDERS.add(self)
        return self._channel

    def put(self, obj: object, block: bool = True, timeout: float | None = None) -> None:  # noqa: ARG002 - Queue's signature
        """Queue one ``(MessageType, payload)`` for the hub; never blocks the caller."""
        (self._channel or self._local()).submit(obj)

    def put_nowait(self, obj: object) -> None:
        """Same as :meth:`put`."""
        (self._channel or self._local()).submit(obj)

    def request_flush(self) -> FlushTicket:
        """Ask the hub to confirm that everything put so far (from this process) is committed."""
        return self._local().request_flush()

    def close(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Flush (waiting up to ``timeout`` seconds for the hub's confirmation) and stop sending.

        Returns:
            True if the hub confirmed everything this process sent (or it sent nothing), False
            if it did not answer in time or said some messages never reached it.
        """
        if self._channel is None or self._pid != os.getpid():
            return True
        confirmed = self._channel.close(timeout)
        self._channel = None
        return confirmed

    def join_thread(self) -> None:
        """Nothing to join: :meth:`close` already waited."""

    def cancel_join_thread(self) -> None:
        """Nothing to cancel."""

    def empty(self) -> bool:
        """Always True: messages leave this process as soon as the sending thread runs."""
        return True


_SENDERS: weakref.WeakSet[HubSender] = weakref.WeakSet()
"""Senders with a channel in this process, forgotten in a fork child (no per-message getpid)."""


def _forget_channels() -> None:
    for sender in list(_SENDERS):
        sender._channel = None
    _SENDERS.clear()


os.register_at_fork(after_in_child=_forget_channels)
