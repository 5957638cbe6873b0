"""Errors the viewer reports to its user as one line."""

__all__ = ("DatabaseError", "ExportsBusyError", "ViewerError")


class ViewerError(RuntimeError):
    """Base class: ``str(error)`` is one line, printed by the CLI without a traceback."""


class DatabaseError(ViewerError):
    """The database cannot be opened or is not a monitoring database this viewer understands."""


class ExportsBusyError(ViewerError):
    """Every export slot stayed busy: the export is refused rather than queued without end."""
