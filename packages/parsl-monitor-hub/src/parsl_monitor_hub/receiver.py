"""The hub's listening socket: ZMQ ROUTER frames in, validated messages out.

ROUTER (senders use DEALER) rather than PULL so the hub can answer a sender's FLUSH on
the same connection, after everything that sender sent before it: ZMQ keeps one
connection's messages in order.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import resource
from pathlib import Path
from typing import TYPE_CHECKING

import zmq
import zmq.auth.thread
from zmq.utils.monitor import parse_monitor_message

from parsl_monitor_core.wire import (
    FrameError,
    MessageError,
    MessageKind,
    decode_frame,
    encode_frame,
    validate_message,
)
from parsl_monitor_hub import keys
from parsl_monitor_hub.errors import BindError

if TYPE_CHECKING:
    from collections.abc import Callable

    from parsl_monitor_core.wire import Message
    from parsl_monitor_hub.ledger import Ledger
    from parsl_monitor_hub.stats import HubStats

__all__ = ("FlushRequest", "Receiver")

_PARTS = 2
RECEIVE_QUEUE_FRAMES = 100
"""Frames queued per peer before ZMQ stops reading from it until the hub catches up."""
_PORT = re.compile(r"^(tcp://.+):(\d+|\*)$")
WANTED_OPEN_FILES = 65536
"""Each sender connection costs the hub one file descriptor; one ZMQRadio sender per worker."""
FEW_SENDERS = 4096
"""Below this many possible senders, the hub warns at start."""
_SPARE_FILES = 64
"""Descriptors the hub needs besides connections (database, writer link, logs, libzmq)."""
_FULL_MARGIN = 8
"""Fewer free descriptors than this: new senders are no longer accepted."""
MAX_ASKERS = 4096
"""Senders remembered as having asked for a confirmation (told of database problems); the oldest goes first."""

logger = logging.getLogger(__name__)


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit toward the hard one; returns how many senders it allows.

    The common soft limit of 1024 ended the hub (``Too many open files``, or an abort in
    libzmq) at about 1,000 connections: a run with that many workers.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, WANTED_OPEN_FILES)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    allowed = WANTED_OPEN_FILES if soft == resource.RLIM_INFINITY else soft - _SPARE_FILES
    if allowed < FEW_SENDERS:
        logger.warning(
            "this hub can serve about %d senders (one per worker process): the open-file limit is %d; "
            "raise it (ulimit -n) for more workers",
            allowed,
            soft,
        )
    return allowed


def open_files() -> int | None:
    """How many descriptors this process has open (Linux); None when even listing them fails (none left)."""
    try:
        return sum(1 for _ in Path("/proc/self/fd").iterdir())
    except FileNotFoundError:  # not Linux: unknown, and assumed fine
        return 0
    except OSError:
        return None


class FlushRequest:
    """A sender waiting to hear that its messages are committed (and how many it sent before asking)."""

    __slots__ = ("identity", "sender", "sent", "token")

    def __init__(self, identity: bytes, token: int, sender: str, sent: int | None) -> None:
        self.identity = identity
        self.token = token
        self.sender = sender
        self.sent = sent


class Receiver:
    """Binds the ROUTER socket and turns frames into messages, rejecting bad ones one at a time."""

    def __init__(
        self,
        bind: str,
        *,
        any_port_if_busy: bool,
        max_frame_bytes: int,
        stats: HubStats,
        ledger: Ledger,
        max_senders: int,
        key_dir: Path | None = None,
    ) -> None:
        self.max_senders = max_senders
        """About how many senders can connect at once (open files left, see :func:`raise_open_file_limit`)."""
        self._context = zmq.Context()
        self.socket = self._context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 1000)
        # Inbound pipes push back on a full queue (ZMQ stops reading that peer): nothing is
        # dropped, and the frames queued here stay bounded per peer.
        self.socket.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE_FRAMES)
        self.socket.setsockopt(zmq.MAXMSGSIZE, max_frame_bytes)  # larger frames are never read
        self.socket.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self._authenticator: zmq.auth.thread.ThreadAuthenticator | None = None
        self.monitor: zmq.Socket[bytes] | None = None
        if key_dir is not None:
            try:
                self._encrypt(key_dir)
            except BaseException:
                self.close()
                raise
        self._max_frame_bytes = max_frame_bytes
        self._askers: dict[bytes, int] = {}
        """Connections that asked for a confirmation, with the token of the newest FLUSH read from each."""
        self._told: dict[bytes, str] = {}
        """The problem each of them was last told of."""
        self._stats = stats
        self.ledger = ledger
        self.url = self._bind(bind, any_port_if_busy=any_port_if_busy)

    def _encrypt(self, key_dir: Path) -> None:
        """Accept only CurveZMQ senders whose public key is in the directory's allow-list."""
        _, secret = keys.hub_secret(keys.ensure_keys(key_dir))
        self._authenticator = zmq.auth.thread.ThreadAuthenticator(self._context, log=logging.getLogger("zmq.auth"))
        self._authenticator.start()
        self._authenticator.configure_curve(domain="*", location=str(keys.senders_allowed(key_dir)))
        self.socket.curve_secretkey = secret
        self.socket.curve_server = True
        # Refused handshakes are only visible as socket events: a plaintext sender, a wrong hub
        # key (protocol errors), a client key not allowed (an authentication failure).
        self.monitor = self.socket.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH
        )

    @property
    def encrypted(self) -> bool:
        """True when only CurveZMQ senders with an allowed key get in."""
        return self._authenticator is not None

    def count_refused(self) -> None:
        """Count (and log, within the rejection limit) the handshakes refused since the last call.

        Called every turn: without an event waiting it costs a zero-timeout poll, not a failed receive.
        """
        while self.monitor is not None and self.monitor.poll(0):
            try:
                event = parse_monitor_message(self.monitor.recv_multipart(zmq.NOBLOCK))
            except zmq.Again:
                return
            kind = event["event"]
            reason = (
                "a client key the hub does not allow"
                if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH
                else "not encrypted with this hub's key (a plaintext sender, or another hub's key)"
            )
            self._stats.refuse(reason)

    def _bind(self, bind: str, *, any_port_if_busy: bool) -> str:
        try:
            self.socket.bind(bind)
        except zmq.ZMQError as exc:
            match = _PORT.match(bind)
            if exc.errno == errno.EADDRINUSE and any_port_if_busy and match:
                self.socket.bind(f"{match.group(1)}:*")
            else:
                self.close()
                reason = "port already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
                raise BindError(f"cannot listen on {bind}: {reason}") from None
        return self.socket.getsockopt_string(zmq.LAST_ENDPOINT)

    def receive(
        self,
        max_frames: int,
        on_message: Callable[[Message, str], None],
        on_flush: Callable[[FlushRequest], None],
        enough: Callable[[], bool],
    ) -> int:
        """Take waiting frames without blocking, up to ``max_frames`` or until ``enough()``; returns how many."""
        taken = 0
        while taken < max_frames and not enough():
            try:
                parts = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            taken += 1
            self._handle(parts, on_message, on_flush)
        return taken

    def _handle(
        self,
        parts: list[zmq.Frame],
        on_message: Callable[[Message, str], None],
        on_flush: Callable[[FlushRequest], None],
    ) -> None:
        data_part = parts[-1]
        if len(parts) != _PARTS:
            reason = f"expected one frame per message, got {len(parts) - 1}"
            self._stats.reject("frame", _peer(data_part), reason, frame=True)
            return
        identity = parts[0].bytes
        try:
            frame = decode_frame(data_part.bytes, max_bytes=self._max_frame_bytes)
        except FrameError as exc:
            self._stats.reject("frame", _peer(data_part), str(exc), frame=True)
            return
        sender = frame.sender
        for item in frame.messages:
            try:
                message = validate_message(item)
            except MessageError as exc:
                # The peer's address is looked up only here: it costs a call into libzmq per frame.
                self._stats.reject("message", f"{sender} ({_peer(data_part)})", str(exc), frame=False)
                self.ledger.rejected(sender)
                continue
            if message.kind is MessageKind.FLUSH:
                self._asked(identity, message.get("token"))
                on_flush(FlushRequest(identity, message.get("token"), sender, message.get("sent")))
            elif message.kind >= MessageKind.FLUSHED:
                reason = f"{message.kind.name} is sent by hubs, not to them"
                self._stats.reject("message", f"{sender} ({_peer(data_part)})", reason, frame=False)
                self.ledger.rejected(sender)
            else:
                self._stats.received += 1
                on_message(message, sender)

    def warn_if_full(self) -> None:
        """Say so when senders hold nearly every descriptor.

        libzmq then accepts no new connection: newcomers wait in the kernel's queue (and
        their messages in their own), and come in as others disconnect. Nothing is lost,
        but the hub spends a CPU retrying the accept meanwhile.
        """
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        used = open_files()
        if limit != resource.RLIM_INFINITY and (used is None or used >= limit - _FULL_MARGIN):
            logger.warning(
                "no room for more senders: %s of %d file descriptors in use; new senders wait until others "
                "disconnect; raise the open-file limit (ulimit -n) for more",
                "all" if used is None else used,
                limit,
            )

    def answer_flush(self, request: FlushRequest, written: int) -> None:
        """Tell a sender that everything it sent before its FLUSH is settled, and how much of it that was."""
        settled = self.ledger.answer(request.sender, request.sent)
        self._reply(request, [(MessageKind.FLUSHED, [request.token, written, settled])])
        self._told.pop(request.identity, None)  # a confirmation clears the sender's problem: tell it anew

    def _asked(self, identity: bytes, token: int) -> None:
        self._askers.pop(identity, None)  # newest last: the oldest is forgotten first
        self._askers[identity] = token
        if len(self._askers) > MAX_ASKERS:
            oldest = next(iter(self._askers))
            del self._askers[oldest]
            self._told.pop(oldest, None)

    def tell_askers(self, problem: str | None) -> None:
        """Tell each sender that asked for a confirmation why none comes now, or that it may again.

        Once per problem; an empty problem means the database takes writes again. Each is told
        at once, even if its newest FLUSH waits unread: the hub stops reading its socket while
        the writer holds two batches, so a FLUSH sent while the database is away (a program's
        watch, its close) would otherwise hear nothing until the database is back.
        """
        if problem is None:
            if not self._told:
                return
            for identity in self._told:
                self._send(identity, [(MessageKind.FLUSH_WAITS, [self._askers[identity], ""])])
            self._told.clear()
            return
        for identity, token in self._askers.items():
            if self._told.get(identity) != problem:
                self._told[identity] = problem
                self._send(identity, [(MessageKind.FLUSH_WAITS, [token, problem])])

    def _reply(self, request: FlushRequest, messages: list[tuple[int, list[object]]]) -> None:
        self._send(request.identity, messages)

    def _send(self, identity: bytes, messages: list[tuple[int, list[object]]]) -> None:
        with contextlib.suppress(zmq.ZMQError):  # the sender went away; nobody waits for the answer
            self.socket.send_multipart([identity, encode_frame(messages, "hub")], zmq.NOBLOCK)

    def close(self) -> None:
        """Close the socket and its context."""
        if self.monitor is not None:
            self.socket.disable_monitor()
            self.monitor.close()
        if self._authenticator is not None:
            self._authenticator.stop()
        self.socket.close()
        self._context.term()


def _peer(part: zmq.Frame) -> str:
    try:
        return str(part.get("Peer-Address")) or "unknown peer"
    except zmq.ZMQError:
        return "unknown peer"
