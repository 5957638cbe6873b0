"""What the hub and its writer process say to each other, over a PAIR socket: msgpack tuples.

The hub sends :class:`Request` ``(seq, op, rows)``; the writer answers :class:`Reply`
``(seq, status, reason)``:

- ``BATCH``: rows of several messages in one transaction. When the database refuses it,
  the writer answers ``REFUSED`` and ``SKIPPED`` to every batch after it, untouched, until
  ``RESUME``: the hub then sends the refused batch's messages one by one, and the skipped
  batches again, so the order of writes is kept.
- ``SINGLE``: the rows of one message; a refusal is answered and nothing is skipped.
- ``RESUME``: no answer. ``STOP``: answered ``STOPPED``; the writer then exits.
- While the database is unavailable (locked, read-only, disk full, connection lost), the
  writer retries the transaction with backoff and answers ``RETRYING`` with the reason
  before each wait; that answer settles nothing.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

import msgpack

if TYPE_CHECKING:
    from parsl_monitor_hub.rows import Rows

__all__ = ("Op", "Reply", "Request", "Status", "pack", "unpack_reply", "unpack_request")


class Op(str, Enum):
    """What the hub asks of the writer."""

    BATCH = "batch"
    SINGLE = "single"
    RESUME = "resume"
    STOP = "stop"


class Status(str, Enum):
    """How the writer answers a request."""

    OK = "ok"
    REFUSED = "refused"
    SKIPPED = "skipped"
    STOPPED = "stopped"
    RETRYING = "retrying"


class Request(NamedTuple):
    """Hub -> writer."""

    seq: int
    op: Op
    rows: Rows | None


class Reply(NamedTuple):
    """Writer -> hub: the answer to request ``seq``."""

    seq: int
    status: Status
    reason: str


def pack(message: Request | Reply) -> bytes:
    """One message as msgpack (its op or status as the enum's value)."""
    seq, kind, body = message
    return msgpack.packb((seq, kind.value, body), use_bin_type=True)  # type: ignore[no-any-return]


def unpack_request(data: Any) -> Request:
    """A request from the bytes (or buffer) the hub sent."""
    seq, op, rows = msgpack.unpackb(data, use_list=False)
    return Request(seq, Op(op), rows)


def unpack_reply(data: Any) -> Reply:
    """A reply from the bytes (or buffer) the writer sent."""
    seq, status, reason = msgpack.unpackb(data)
    return Reply(seq, Status(status), reason)
