"""Errors about a database that cannot hold or serve monitoring data."""

__all__ = ("ForeignDatabaseError", "NewerSchemaError", "SchemaError")


class SchemaError(RuntimeError):
    """Base class: ``str(error)`` is a one-line reason fit for a CLI."""


class NewerSchemaError(SchemaError):
    """The database was written by a newer parsl-monitor than this one."""


class ForeignDatabaseError(SchemaError):
    """The database is not a monitoring database: a table has the right name but lacks columns."""
