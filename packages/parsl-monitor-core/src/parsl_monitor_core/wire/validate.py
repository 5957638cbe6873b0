"""Checking decoded messages against :mod:`parsl_monitor_core.wire.payloads`."""

from __future__ import annotations

from typing import Any, NamedTuple

from parsl_monitor_core.wire.errors import MessageError
from parsl_monitor_core.wire.kinds import MessageKind
from parsl_monitor_core.wire.payloads import (
    PAYLOAD_FIELDS,
    WORKFLOW_END_FIELDS,
    WORKFLOW_START_FIELDS,
    FieldSpec,
)

__all__ = ("Message", "validate_message")

_PAIR = 2
_KINDS = {int(kind): kind for kind in MessageKind}


class Message(NamedTuple):
    """A message whose kind is known and whose payload has every required field, correctly typed."""

    kind: MessageKind
    payload: dict[str, Any]


def _check(kind: MessageKind, payload: dict[str, Any], fields: tuple[FieldSpec, ...]) -> None:
    for name, types, required in fields:
        value = payload.get(name)
        if value is None:
            if required:
                raise MessageError(f"{kind.name}: missing field {name!r}")
        elif not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = " or ".join(t.__name__ for t in types)
            raise MessageError(f"{kind.name}: field {name!r} must be {expected}, got {type(value).__name__}")


def validate_message(item: object) -> Message:
    """Turn one element of a frame's message array into a :class:`Message`.

    Raises:
        MessageError: with a one-line reason naming the kind and the field.
    """
    if not isinstance(item, list) or len(item) != _PAIR:
        raise MessageError(f"a message must be a [kind, payload] array, got {type(item).__name__}")
    raw_kind, payload = item
    kind = _KINDS.get(raw_kind) if isinstance(raw_kind, int) and not isinstance(raw_kind, bool) else None
    if kind is None:
        raise MessageError(f"unknown message kind {raw_kind!r}")
    if not isinstance(payload, dict):
        raise MessageError(f"{kind.name}: payload must be a map, got {type(payload).__name__}")
    if kind is MessageKind.WORKFLOW_INFO:
        fields = WORKFLOW_START_FIELDS if "python_version" in payload else WORKFLOW_END_FIELDS
    else:
        fields = PAYLOAD_FIELDS[kind]
    _check(kind, payload, fields)
    return Message(kind, payload)
