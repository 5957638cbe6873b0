"""The msgpack framing of monitoring messages.

A frame is the msgpack array ``[protocol_version, sender, messages]`` where ``sender``
is a free-form string naming the process that sent it (for logs) and ``messages`` is an
array of ``[kind, payload]`` pairs, ``payload`` being the kind's values in the order of
its field spec (or a map from field name to value; see ``payloads``).
Many messages travel in one frame, so a busy sender pays the per-frame cost once.

Times travel as the msgpack Timestamp extension (type -1): seconds and nanoseconds since
the Unix epoch, in UTC, so they mean the same instant on every host. A naive ``datetime``
(Parsl's ``datetime.now()``) is read as local time of the sending host, as Parsl means it.
Decoded times are timezone-aware UTC ``datetime`` objects.
"""

from __future__ import annotations

import datetime
import time
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

import msgpack

from parsl_monitor_core.wire.errors import EncodeError, FrameError
from parsl_monitor_core.wire.kinds import PROTOCOL_VERSION

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = (
    "MAX_FRAME_BYTES",
    "MAX_FRAME_MESSAGES",
    "MAX_MESSAGE_BYTES",
    "Frame",
    "decode_frame",
    "encode_frame",
    "pack_frame",
    "pack_frames",
    "pack_message",
    "to_timestamp",
)

MAX_FRAME_BYTES = 4 * 1024 * 1024
"""Frames above this size are refused by the hub's socket before they are read.

Decoded, a frame costs at most about 30 times its size (a one-character string is a
50-byte Python object), so this bounds what one frame can cost the hub."""

MAX_MESSAGE_BYTES = 1024 * 1024
"""Senders shorten the text fields of a message packed larger than this, so it always fits a frame."""

MAX_FRAME_MESSAGES = 100_000
"""Messages in one frame; also the longest array or map a frame may hold."""

_MAX_CONTAINERS = 2 * MAX_FRAME_MESSAGES + 1
"""Arrays and maps per frame: a message is a [kind, payload] pair, and the frame's list holds them."""
_MAX_MAP_LEN = 1024
_TIMESTAMP_EXT_MAX = 12
_FRAME_LENGTH = 3


class Frame(NamedTuple):
    """A decoded frame whose outer shape is valid; its messages are not validated yet."""

    version: int
    sender: str
    messages: list[Any]


class _ContainerBudget:
    """Counts the arrays and maps msgpack builds, and stops a frame built to amplify memory.

    A frame of millions of empty arrays is a few bytes each on the wire and 64 bytes each
    decoded; msgpack's length limits bound one array, not how many there are.
    """

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = _MAX_CONTAINERS

    def __call__(self, container: Any) -> Any:
        self.left -= 1
        if self.left < 0:
            raise ValueError(f"more than {_MAX_CONTAINERS} arrays and maps in one frame")
        return container


_EPOCH_DAY = datetime.date(1970, 1, 1).toordinal()
_MAX_CACHED_MINUTES = 4096
_local_offsets: dict[int, int] = {}
_offsets_zone: list[object] = [None]  # the time.tzname the cached offsets belong to


def _local_seconds(value: datetime.datetime) -> int:
    """Whole seconds since the epoch of a naive local time, exactly as ``value.timestamp()`` gives them.

    ``timestamp()`` asks the C library (``mktime``) for the local offset on every call, the
    largest cost of packing a Parsl message here. Offsets change only at whole minutes, so
    it is asked once per minute of wall-clock time (and per ``fold``). ``time.tzset()``
    makes a new ``time.tzname``, which empties the cache; a ``TZ`` change without
    ``tzset()`` is not noticed.
    """
    wall = (value.toordinal() - _EPOCH_DAY) * 86400 + value.hour * 3600 + value.minute * 60 + value.second
    key = (wall // 60) * 2 + value.fold
    offset = _local_offsets.get(key)
    if offset is None or time.tzname is not _offsets_zone[0]:
        if len(_local_offsets) >= _MAX_CACHED_MINUTES or time.tzname is not _offsets_zone[0]:
            _local_offsets.clear()
            _offsets_zone[0] = time.tzname
        offset = _local_offsets[key] = int(value.replace(second=0, microsecond=0).timestamp()) - (wall - value.second)
    return wall + offset


def to_timestamp(value: datetime.datetime) -> msgpack.Timestamp:
    """Convert a datetime to the wire's UTC timestamp; a naive one is taken as local time."""
    # Whole seconds are exact; adding microseconds as integer nanoseconds keeps full
    # precision, which a float of seconds since 1970 does not.
    seconds = _local_seconds(value) if value.tzinfo is None else int(value.replace(microsecond=0).timestamp())
    return msgpack.Timestamp(seconds, value.microsecond * 1000)


def _default(value: object) -> object:
    if isinstance(value, datetime.datetime):
        return to_timestamp(value)
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"cannot encode a value of type {type(value).__name__}")


def _cut_text(value: object, keep: int) -> object:
    if isinstance(value, str) and len(value) > keep:
        return f"{value[:keep]}... [{len(value) - keep} characters cut: message over {MAX_MESSAGE_BYTES} bytes]"
    return value


def pack_message(kind: int, payload: Mapping[str, object] | Sequence[object]) -> bytes:
    """Pack one ``[kind, payload]`` pair; join many with :func:`pack_frame` or :func:`pack_frames`.

    ``payload`` is the kind's values in spec order (see ``payloads``), or a map of them.
    A message packing larger than :data:`MAX_MESSAGE_BYTES` (a task's inputs printed in
    full, say) has its long text fields cut, saying so in the text, so it fits any frame.

    Raises:
        EncodeError: the payload holds a value msgpack cannot carry.
    """
    try:
        packed: bytes = msgpack.packb((int(kind), payload), default=_default, use_bin_type=True)
        if len(packed) > MAX_MESSAGE_BYTES:
            keep = MAX_MESSAGE_BYTES // (4 * (len(payload) + 1))  # UTF-8 takes up to 4 bytes a character
            if isinstance(payload, dict):
                payload = {name: _cut_text(value, keep) for name, value in payload.items()}
            else:
                payload = [_cut_text(value, keep) for value in payload]
            packed = msgpack.packb((int(kind), payload), default=_default, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise EncodeError(f"kind {kind}: {exc}") from None
    return packed


def pack_frame(packed_messages: Sequence[bytes], sender: str) -> bytes:
    """Wrap already packed messages into one frame without packing them again."""
    packer = msgpack.Packer(use_bin_type=True)
    head = packer.pack_array_header(_FRAME_LENGTH) + packer.pack(PROTOCOL_VERSION) + packer.pack(sender)
    return b"".join((head, packer.pack_array_header(len(packed_messages)), *packed_messages))


def pack_frames(
    packed_messages: Sequence[bytes], sender: str, max_bytes: int = MAX_FRAME_BYTES // 2
) -> list[tuple[bytes, int]]:
    """Wrap packed messages into as few frames as keep each under ``max_bytes`` and the message limit.

    Returns:
        ``(frame, number of messages in it)`` pairs, in order.
    """
    frames: list[tuple[bytes, int]] = []
    start, size = 0, 0
    for end, message in enumerate(packed_messages):
        if end > start and (size + len(message) > max_bytes or end - start >= MAX_FRAME_MESSAGES):
            frames.append((pack_frame(packed_messages[start:end], sender), end - start))
            start, size = end, 0
        size += len(message)
    if start < len(packed_messages):
        frames.append((pack_frame(packed_messages[start:], sender), len(packed_messages) - start))
    return frames


def encode_frame(messages: Iterable[tuple[int, Mapping[str, object] | Sequence[object]]], sender: str) -> bytes:
    """Pack ``(kind, payload)`` pairs into one frame."""
    return pack_frame([pack_message(kind, payload) for kind, payload in messages], sender)


def decode_frame(data: bytes, *, max_bytes: int = MAX_FRAME_BYTES) -> Frame:
    """Decode a frame and check its outer shape and protocol version.

    Raises:
        FrameError: with a one-line reason; nothing of the frame can be trusted.
    """
    if len(data) > max_bytes:
        raise FrameError(f"frame of {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    # Every array or map takes at least one byte on the wire: a frame no longer than the
    # budget cannot exceed it, and is spared a Python call per container.
    budget = None if len(data) <= _MAX_CONTAINERS else _ContainerBudget()
    try:
        frame = msgpack.unpackb(
            data,
            timestamp=3,
            raw=False,
            strict_map_key=True,
            max_str_len=max_bytes,
            max_bin_len=max_bytes,
            max_array_len=MAX_FRAME_MESSAGES,
            max_map_len=_MAX_MAP_LEN,
            max_ext_len=_TIMESTAMP_EXT_MAX,
            list_hook=budget,
            object_hook=budget,
        )
    except Exception as exc:  # noqa: BLE001 - msgpack raises many unrelated types on garbage
        raise FrameError(f"not a msgpack frame ({type(exc).__name__}: {exc})") from None
    if not isinstance(frame, list) or len(frame) != _FRAME_LENGTH:
        raise FrameError(f"a frame must be an array of {_FRAME_LENGTH} items, got {type(frame).__name__}")
    version, sender, messages = frame
    if version != PROTOCOL_VERSION or isinstance(version, bool):
        raise FrameError(f"unsupported protocol version {version!r} (this hub speaks {PROTOCOL_VERSION})")
    if not isinstance(sender, str):
        raise FrameError(f"sender must be a string, got {type(sender).__name__}")
    if not isinstance(messages, list):
        raise FrameError(f"messages must be an array, got {type(messages).__name__}")
    return Frame(version, sender, messages)
