"""Turning what Parsl puts on its monitoring queue into wire messages.

Parsl sends ``(MessageType, dict)`` tuples. Most dicts are valid payloads as they are;
the exceptions are handled here: BLOCK_INFO carries a list of blocks (one message each),
NODE_INFO carries the manager's whole record (we keep the node table's fields, not the
list of installed packages), and a few fields may hold arbitrary user objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parsl_monitor_core.wire import MessageKind

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ("NODE_FIELDS", "WireMessage", "stringify", "to_wire")

WireMessage = tuple[int, "Mapping[str, Any]"]

NODE_FIELDS = (
    "run_id",
    "hostname",
    "uid",
    "block_id",
    "cpu_count",
    "total_memory",
    "active",
    "worker_count",
    "python_v",
    "timestamp",
    "last_heartbeat",
)
_PAIR = 2
_PLAIN = (str, int, float, bool, type(None))


def _kind(tag: object) -> int:
    value = getattr(tag, "value", tag)
    if not isinstance(value, int):
        raise TypeError(f"not a monitoring message type: {tag!r}")
    return value


def to_wire(item: object) -> list[WireMessage]:
    """Convert one item Parsl queued into zero or more ``(kind, payload)`` pairs.

    Raises:
        TypeError: the item is not a ``(MessageType, payload)`` tuple.
    """
    if not isinstance(item, tuple) or len(item) != _PAIR:
        raise TypeError(f"expected a (MessageType, payload) tuple, got {type(item).__name__}")
    kind = _kind(item[0])
    payload = item[1]
    if kind == MessageKind.BLOCK_INFO:
        blocks = payload if isinstance(payload, (list, tuple)) else [payload]
        return [(kind, {**block, "job_id": _optional_str(block.get("job_id"))}) for block in blocks]
    if not isinstance(payload, dict):
        raise TypeError(f"payload of kind {kind} must be a dict, got {type(payload).__name__}")
    if kind == MessageKind.NODE_INFO:
        return [(kind, {field: payload.get(field) for field in NODE_FIELDS})]
    if kind == MessageKind.TASK_INFO:
        stdin = payload.get("task_stdin")
        if stdin is not None and not isinstance(stdin, str):
            payload = {**payload, "task_stdin": str(stdin)}
    return [(kind, payload)]


def stringify(value: object) -> Any:
    """Keep plain values, turn anything else into its ``str``; used when a payload will not encode."""
    return value if isinstance(value, _PLAIN) else str(value)


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)
