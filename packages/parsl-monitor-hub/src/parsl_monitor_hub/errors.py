"""Errors the hub reports to its user as one line."""

__all__ = ("BindError", "DatabaseOpenError", "HubError", "HubStartError", "KeysError")


class HubError(RuntimeError):
    """Base class: ``str(error)`` is one line, printed by the CLI without a traceback."""


class DatabaseOpenError(HubError):
    """The database URL or file cannot hold monitoring data."""


class BindError(HubError):
    """The hub cannot listen where it was asked to."""


class HubStartError(HubError):
    """An embedded hub process did not come up."""


class KeysError(HubError):
    """A CurveZMQ key directory that is missing, unreadable, incomplete or readable by others."""
