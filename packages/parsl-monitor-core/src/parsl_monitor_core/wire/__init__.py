"""The wire contract: message kinds, payload fields, the msgpack codec and validation.

Imports msgpack and the standard library only, so a task process can use it cheaply.
"""

from parsl_monitor_core.wire.codec import (
    MAX_FRAME_BYTES,
    MAX_FRAME_MESSAGES,
    MAX_MESSAGE_BYTES,
    Frame,
    decode_frame,
    encode_frame,
    pack_frame,
    pack_frames,
    pack_message,
    to_timestamp,
)
from parsl_monitor_core.wire.endpoint import KEY_LENGTH, CurveKeys, HubEndpoint, HubQueue
from parsl_monitor_core.wire.errors import EncodeError, FrameError, MessageError, WireError
from parsl_monitor_core.wire.kinds import PROTOCOL_VERSION, MessageKind
from parsl_monitor_core.wire.parsl_tuples import WireMessage, stringify, to_wire
from parsl_monitor_core.wire.payloads import FIELD_INDEX, PAYLOAD_FIELDS, FieldSpec
from parsl_monitor_core.wire.validate import INT64_MAX, INT64_MIN, Message, validate_message

__all__ = (
    "FIELD_INDEX",
    "INT64_MAX",
    "INT64_MIN",
    "KEY_LENGTH",
    "MAX_FRAME_BYTES",
    "MAX_FRAME_MESSAGES",
    "MAX_MESSAGE_BYTES",
    "PAYLOAD_FIELDS",
    "PROTOCOL_VERSION",
    "CurveKeys",
    "EncodeError",
    "FieldSpec",
    "Frame",
    "FrameError",
    "HubEndpoint",
    "HubQueue",
    "Message",
    "MessageError",
    "MessageKind",
    "WireError",
    "WireMessage",
    "decode_frame",
    "encode_frame",
    "pack_frame",
    "pack_frames",
    "pack_message",
    "stringify",
    "to_timestamp",
    "to_wire",
    "validate_message",
)
