"""Tables we add to Parsl's schema. Adding never changes a Parsl table."""

from __future__ import annotations

from sqlalchemy import Integer, Text
from sqlmodel import Field, SQLModel

__all__ = ("TIME_ZONE", "SchemaVersion")

TIME_ZONE = "UTC"
"""The zone of every time our hub writes. Parsl writes naive local times instead."""


class SchemaVersion(SQLModel, table=True):
    """One row: which schema version the database holds and who created it.

    A database without this table was written by Parsl's own monitoring (local times).
    """

    __tablename__ = "parsl_monitor_schema"
    version: int = Field(sa_column_kwargs={"autoincrement": False}, sa_type=Integer, primary_key=True)
    written_by: str = Field(sa_type=Text, nullable=False)
    time_zone: str = Field(sa_type=Text, nullable=False)
