"""Turning Parsl's monitoring messages (what it queues, what its radios send) into wire messages.

Parsl sends ``(MessageType, dict)`` tuples. Each dict becomes the kind's positional
payload (the values of the fields in core's spec, in order): Parsl's dicts carry more
than the hub stores (NODE_INFO even carries every installed package), and field names
would cost packing here and decoding at the hub. BLOCK_INFO carries a list of blocks
(one message each); a few fields may hold arbitrary objects (sent as their ``str``).

Parsl before 2026.5.11 sent a task's first and last messages as ``RESOURCE_INFO`` with
``first_msg`` or ``last_msg`` set (its database manager turned them into the ``running`` and
``running_ended`` states); they become ``WORKER_TASK_INFO`` here, as newer Parsl sends them,
so nothing past this point knows which Parsl it serves.
"""

from __future__ import annotations

from typing import Any

from parsl_monitor_core.wire.kinds import MessageKind
from parsl_monitor_core.wire.payloads import FIELD_INDEX, PAYLOAD_FIELDS

__all__ = ("WireMessage", "stringify", "to_wire")

WireMessage = tuple[int, list[Any]]

_NAMES: dict[int, tuple[str, ...]] = {int(k): tuple(f.name for f in fields) for k, fields in PAYLOAD_FIELDS.items()}
_STDIN = FIELD_INDEX[MessageKind.TASK_INFO]["task_stdin"]
_JOB_ID = FIELD_INDEX[MessageKind.BLOCK_INFO]["job_id"]
_PAIR = 2
_PLAIN = (str, int, float, bool, type(None))


def _kind(tag: object) -> int:
    value = getattr(tag, "value", tag)
    if not isinstance(value, int) or value not in _NAMES:
        raise TypeError(f"not a monitoring message type: {tag!r}")
    return value


def _positional(payload: dict[str, Any], names: tuple[str, ...]) -> list[Any]:
    return list(map(payload.get, names))


def to_wire(item: object) -> list[WireMessage]:
    """Convert one item Parsl queued into zero or more ``(kind, values)`` pairs.

    Raises:
        TypeError: the item is not a ``(MessageType, payload)`` tuple.
    """
    if not isinstance(item, tuple) or len(item) != _PAIR:
        raise TypeError(f"expected a (MessageType, payload) tuple, got {type(item).__name__}")
    kind = _kind(item[0])
    payload = item[1]
    names = _NAMES[kind]
    if kind == MessageKind.BLOCK_INFO:
        out: list[WireMessage] = []
        for block in payload if isinstance(payload, (list, tuple)) else [payload]:
            values = _positional(block, names)
            values[_JOB_ID] = None if values[_JOB_ID] is None else str(values[_JOB_ID])
            out.append((kind, values))
        return out
    if not isinstance(payload, dict):
        raise TypeError(f"payload of kind {kind} must be a dict, got {type(payload).__name__}")
    if kind == MessageKind.RESOURCE_INFO and (payload.get("first_msg") or payload.get("last_msg")):
        kind = MessageKind.WORKER_TASK_INFO  # Parsl < 2026.5.11: see the module's docstring
        names = _NAMES[kind]
    values = _positional(payload, names)
    if kind == MessageKind.TASK_INFO and not isinstance(values[_STDIN], (str, type(None))):
        values[_STDIN] = str(values[_STDIN])
    return [(kind, values)]


def stringify(value: object) -> Any:
    """Keep plain values, turn anything else into its ``str``; used when a payload will not encode."""
    return value if isinstance(value, _PLAIN) else str(value)
