"""Errors the viewer reports to its user as one line."""

__all__ = ("DatabaseError", "ViewerError")


class ViewerError(RuntimeError):
    """Base class: ``str(error)`` is one line, printed by the CLI without a traceback."""


class DatabaseError(ViewerError):
    """The database cannot be opened or is not a monitoring database this viewer understands."""
