"""Errors raised when bytes from the network do not follow the wire contract."""

__all__ = ("EncodeError", "FrameError", "MessageError", "WireError")


class WireError(ValueError):
    """Base class: ``str(error)`` is a one-line reason fit for a log line."""


class FrameError(WireError):
    """The whole frame is unusable: not msgpack, wrong shape, wrong protocol version or too big."""


class MessageError(WireError):
    """One message inside an otherwise good frame is unusable: unknown kind, missing or mistyped field."""


class EncodeError(WireError):
    """A payload holds a value the wire format cannot carry."""
