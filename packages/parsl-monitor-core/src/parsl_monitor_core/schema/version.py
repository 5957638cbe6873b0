"""Creating, checking and upgrading a monitoring database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import inspect, select
from sqlmodel import SQLModel

from parsl_monitor_core.__about__ import __version__
from parsl_monitor_core.schema.errors import ForeignDatabaseError, NewerSchemaError
from parsl_monitor_core.schema.extensions import TIME_ZONE, NodeSample, RunEnd, SchemaVersion, SenderCount
from parsl_monitor_core.schema.indexes import INDEXES
from parsl_monitor_core.schema.tables import PARSL_TABLES, table_of

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = ("ALL_TABLES", "SCHEMA_VERSION", "check_tables", "create_or_upgrade", "read_schema_version")

SCHEMA_VERSION = 3
"""Bumped with every change to our tables or indexes, together with an upgrade step below.

1: Parsl's tables, ``parsl_monitor_schema``, the dashboard indexes.
2: adds ``node_sample`` (created by ``create_all``; the upgrade only records the version).
3: adds ``parsl_monitor_sender`` and ``parsl_monitor_run_end`` (likewise).
"""

ALL_TABLES = (
    *(table_of(model) for model in PARSL_TABLES),
    table_of(SchemaVersion),
    table_of(NodeSample),
    table_of(SenderCount),
    table_of(RunEnd),
)


def read_schema_version(conn: Connection) -> int | None:
    """The version recorded in the database; None when it has no version table (new, or written by Parsl)."""
    if not inspect(conn).has_table(SchemaVersion.__tablename__):
        return None
    version: int | None = conn.execute(select(table_of(SchemaVersion).c.version)).scalar()
    return version


def check_tables(conn: Connection) -> None:
    """Refuse a database whose tables carry our names but not our columns.

    Raises:
        ForeignDatabaseError: naming the first table that lacks columns.
    """
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    for model in PARSL_TABLES:
        table = table_of(model)
        if table.name not in present:
            continue
        have = {column["name"] for column in inspector.get_columns(table.name)}
        missing = [column.name for column in table.columns if column.name not in have]
        if missing:
            raise ForeignDatabaseError(
                f"table {table.name!r} exists but lacks columns {', '.join(missing)}: not a Parsl monitoring database"
            )


def create_or_upgrade(engine: Engine) -> int:
    """Make the database hold the current schema; safe to call on every start.

    Creates missing tables and indexes (an empty file, or one Parsl wrote), records the
    schema version, and refuses databases it does not understand.

    Returns:
        The schema version the database now holds.

    Raises:
        NewerSchemaError: the database was written by a newer parsl-monitor.
        ForeignDatabaseError: tables with our names but other columns.
    """
    with engine.begin() as conn:
        found = read_schema_version(conn)
        if found is not None and found > SCHEMA_VERSION:
            raise NewerSchemaError(
                f"database schema version {found} is newer than {SCHEMA_VERSION}, the newest this "
                f"parsl-monitor-core {__version__} understands: upgrade parsl-monitor"
            )
        check_tables(conn)
        SQLModel.metadata.create_all(conn, tables=list(ALL_TABLES))
        for index in INDEXES:
            index.create(conn, checkfirst=True)
        written_by = f"parsl-monitor-core {__version__}"
        versions = table_of(SchemaVersion)
        if found is None:
            conn.execute(versions.insert().values(version=SCHEMA_VERSION, written_by=written_by, time_zone=TIME_ZONE))
        elif found < SCHEMA_VERSION:
            conn.execute(versions.update().values(version=SCHEMA_VERSION, written_by=written_by))
    return SCHEMA_VERSION
