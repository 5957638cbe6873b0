"""One non-blocking ZMQ channel per process and hub: what task processes and the node agent send on.

Sending never blocks: messages wait in the socket's own queue (its high-water mark is the
bound) while the hub is slow or unreachable, and a message that does not fit is dropped
and counted. A task is never held up or failed by monitoring.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
from typing import TYPE_CHECKING

import zmq

from parsl_monitor_core.wire import EncodeError, HubEndpoint, pack_frames, pack_message

if TYPE_CHECKING:
    from collections.abc import Iterable

    from parsl_monitor_core.wire import WireMessage

__all__ = ("DEFAULT_BUFFER", "HubChannel", "channel_for", "close_channels")

logger = logging.getLogger(__name__)

DEFAULT_BUFFER = 10_000
"""Frames held while the hub is unreachable; beyond that, new ones are dropped and counted."""

LINGER_MS = 2_000
"""At process exit, how long queued frames may still take to leave (then they are dropped)."""

_channels: dict[tuple[int, str], HubChannel] = {}
_creating = threading.Lock()


def _after_fork_in_child() -> None:
    global _creating  # noqa: PLW0603 - a lock another thread held at the fork stays held in the child
    _creating = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


class HubChannel:
    """A DEALER socket connected to one hub, owned by one process.

    Sends are serialized by a lock: a ZMQ socket is not thread-safe, and the tasks of a
    ThreadPoolExecutor all send from threads of one process. ``url`` may be a packed
    :class:`~parsl_monitor_core.wire.HubEndpoint`: the socket then encrypts and
    authenticates with its keys.
    """

    def __init__(self, url: str, buffer: int = DEFAULT_BUFFER) -> None:
        endpoint = HubEndpoint.parse(url)
        self.url = str(endpoint)
        """The hub's URL alone, for logs."""
        self.dropped = 0
        self.sent = 0
        self._sender = f"worker:{socket.gethostname()}:{os.getpid()}"
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.SNDHWM, buffer)
        self._socket.setsockopt(zmq.LINGER, LINGER_MS)
        endpoint.connect(self._socket)
        self._lock = threading.Lock()

    def send(self, messages: Iterable[WireMessage]) -> bool:
        """Queue the messages as one frame; False (and counted) when the buffer is full."""
        packed = []
        for kind, values in messages:
            try:
                packed.append(pack_message(kind, values))
            except EncodeError as exc:
                logger.warning("not sent, cannot encode: %s", exc)
                self.dropped += 1
        return self.send_packed(packed)

    def send_packed(self, packed: list[bytes]) -> bool:
        """Queue already packed messages as one frame; False (and counted) when the buffer is full."""
        if not packed:
            return False
        frames = pack_frames(packed, self._sender)
        with self._lock:
            return self._send_frames(frames)

    def _send_frames(self, frames: list[tuple[bytes, int]]) -> bool:
        for i, (frame, count) in enumerate(frames):
            try:
                self._socket.send(frame, zmq.NOBLOCK)
            except zmq.Again:
                lost = sum(n for _frame, n in frames[i:])
                self.dropped += lost
                if self.dropped == lost or self.dropped % 1000 < lost:
                    logger.warning(
                        "hub %s unreachable or slow: %d monitoring messages dropped so far", self.url, self.dropped
                    )
                return False
            self.sent += count
        return True

    def close(self) -> None:
        """Close the socket, letting queued frames leave for up to LINGER_MS."""
        with self._lock:
            self._socket.close()
        self._context.term()


def channel_for(url: str, buffer: int = DEFAULT_BUFFER) -> HubChannel:
    """This process's channel to ``url``; a forked child gets its own, never its parent's.

    Channels are closed at exit, which gives queued frames LINGER_MS to leave.
    """
    key = (os.getpid(), url)
    channel = _channels.get(key)
    if channel is None:
        with _creating:
            channel = _channels.get(key)
            if channel is None:
                if not any(pid == key[0] for pid, _url in _channels):
                    atexit.register(close_channels)
                channel = _channels[key] = HubChannel(url, buffer)
    return channel


def close_channels() -> None:
    """Close this process's channels (queued frames get LINGER_MS to leave)."""
    for key in [key for key in _channels if key[0] == os.getpid()]:
        _channels.pop(key).close()
