"""Checking decoded messages against :mod:`parsl_monitor_core.wire.payloads`."""

from __future__ import annotations

import math
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from parsl_monitor_core.wire.errors import MessageError
from parsl_monitor_core.wire.kinds import MessageKind
from parsl_monitor_core.wire.payloads import (
    FIELD_INDEX,
    PAYLOAD_FIELDS,
    WORKFLOW_END_REQUIRED,
    WORKFLOW_START_REQUIRED,
    FieldSpec,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("INT64_MAX", "INT64_MIN", "Message", "validate_message")

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""Integers outside this range fit neither SQLite's INTEGER nor PostgreSQL's BIGINT (msgpack carries up to 2**64-1)."""
_INT64_LIMIT = 2**63

_PAIR = 2
_KINDS = {int(kind): kind for kind in MessageKind}
_NONE = type(None)


class Message(NamedTuple):
    """A message of a known kind whose values are in the kind's field order, all correctly typed."""

    kind: MessageKind
    values: list[Any]

    def get(self, name: str) -> Any:
        """The value of field ``name`` (None when absent)."""
        return self.values[FIELD_INDEX[self.kind][name]]

    @property
    def is_workflow_start(self) -> bool:
        """True for the WORKFLOW_INFO that starts a workflow (it carries ``python_version``)."""
        return self.kind is MessageKind.WORKFLOW_INFO and self.get("python_version") is not None


class _Check(NamedTuple):
    """A kind's spec compiled for C-level checks: the exact types allowed at each position, the numeric values."""

    names: tuple[str, ...]
    allowed: tuple[frozenset[type], ...]
    numbers: Callable[[list[Any]], tuple[Any, ...]]


def _compile(fields: tuple[FieldSpec, ...]) -> _Check:
    # Exact types: ``bool`` is not accepted where ``int`` is meant unless the spec names it.
    # Fields that also take text (psutil_cpu_num, task_memoize) are stored as text: any integer fits.
    numeric = [i for i, f in enumerate(fields) if set(f.types) & {int, float} and str not in f.types]
    pick = itemgetter(*numeric) if len(numeric) > 1 else lambda values: tuple(values[i] for i in numeric)
    return _Check(
        tuple(f.name for f in fields),
        tuple(frozenset(f.types) | (frozenset() if f.required else {_NONE}) for f in fields),
        pick,
    )


_CHECKS = {kind: _compile(fields) for kind, fields in PAYLOAD_FIELDS.items()}
_WORKFLOW_ORDER = tuple(field.name for field in PAYLOAD_FIELDS[MessageKind.WORKFLOW_INFO])
_new_message = tuple.__new__  # a NamedTuple built in C: Message(...) runs Python code, twice as slow here


def _explain(kind: MessageKind, values: list[Any]) -> MessageError:
    for field, value in zip(PAYLOAD_FIELDS[kind], values, strict=True):
        if value is None:
            if field.required:
                return MessageError(f"{kind.name}: missing field {field.name!r}")
        elif type(value) not in field.types:
            expected = " or ".join(t.__name__ for t in field.types)
            return MessageError(f"{kind.name}: field {field.name!r} must be {expected}, got {type(value).__name__}")
    return MessageError(f"{kind.name}: invalid payload")  # pragma: no cover - the fast check agrees with this one


def _out_of_range(kind: MessageKind, values: list[Any]) -> MessageError | None:
    """The first value no database column can hold: an integer beyond 64 bits, an infinite or NaN float."""
    for field, value in zip(PAYLOAD_FIELDS[kind], values, strict=True):
        kind_of_value = type(value)
        if str in field.types:
            continue  # stored as text
        if kind_of_value is int and not INT64_MIN <= value <= INT64_MAX:
            return MessageError(f"{kind.name}: field {field.name!r} is outside the 64-bit integer range")
        if kind_of_value is float and not math.isfinite(value):
            return MessageError(f"{kind.name}: field {field.name!r} must be a finite number, got {value}")
    return None


def _values(kind: MessageKind, payload: object, names: tuple[str, ...]) -> list[Any]:
    if isinstance(payload, list):
        missing = len(names) - len(payload)
        return payload + [None] * missing if missing > 0 else payload[: len(names)]
    if isinstance(payload, dict):
        return list(map(payload.get, names))
    raise MessageError(f"{kind.name}: payload must be an array or a map, got {type(payload).__name__}")


def validate_message(item: object) -> Message:
    """Turn one element of a frame's message array into a :class:`Message`.

    Raises:
        MessageError: with a one-line reason naming the kind and the field.
    """
    if not isinstance(item, list) or len(item) != _PAIR:
        raise MessageError(f"a message must be a [kind, payload] array, got {type(item).__name__}")
    raw_kind, payload = item
    kind = _KINDS.get(raw_kind) if type(raw_kind) is int else None
    if kind is None:
        raise MessageError(f"unknown message kind {raw_kind!r}")
    check = _CHECKS[kind]
    values = _values(kind, payload, check.names)
    # The hub validates every message: the check runs in C; Python only words the error.
    if not all(map(frozenset.__contains__, check.allowed, map(type, values))):
        raise _explain(kind, values)
    # One C-level sum over the numeric fields: below 2**63 unless a value is out of range,
    # NaN or infinite (or legitimately huge floats, which the exact check then lets through).
    if not sum(map(abs, filter(None, check.numbers(values)))) < _INT64_LIMIT:
        problem = _out_of_range(kind, values)
        if problem is not None:
            raise problem
    message = _new_message(Message, (kind, values))
    if kind is MessageKind.WORKFLOW_INFO:
        required = WORKFLOW_START_REQUIRED if message.is_workflow_start else WORKFLOW_END_REQUIRED
        for name in _WORKFLOW_ORDER:
            if name in required and message.get(name) is None:
                phase = "start" if message.is_workflow_start else "end"
                raise MessageError(f"WORKFLOW_INFO ({phase}): missing field {name!r}")
    return message
