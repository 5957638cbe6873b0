"""The read-only database the dashboard serves, and what we know about how it was written."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import QueuePool, create_engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from parsl_monitor_core.schema import (
    SCHEMA_VERSION,
    SchemaError,
    SchemaVersion,
    check_tables,
    read_schema_version,
    table_of,
)
from parsl_visualize.connections import POOL_SIZE
from parsl_visualize.errors import DatabaseError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL

__all__ = ("Database", "database_url", "default_database_url", "open_database")

SQLITE_MAGIC = b"SQLite format 3\x00"
REQUIRED_TABLES = ("workflow", "task", "try", "status")


def default_database_url() -> str:
    """Parsl's default location: ``runinfo/monitoring.db`` under the current directory."""
    return f"sqlite:///{Path.cwd() / 'runinfo' / 'monitoring.db'}"


def database_url(location: str) -> str:
    """Accept an SQLAlchemy URL or a plain file path (taken as SQLite)."""
    if "://" in location:
        return location
    return f"sqlite:///{Path(location).expanduser().resolve()}"


class Database:
    """A read-only engine plus the facts every query needs.

    A plain class, not a dataclass: Litestar would try to validate a dataclass dependency
    field by field.

    Attributes:
        engine: connections refuse writes (SQLite ``mode=ro``, PostgreSQL read-only transactions).
        label: the URL without password, for display.
        utc: True when our hub wrote the times (UTC); Parsl's own monitoring writes local times.
        schema_version: ours, or None for a database written by Parsl.
    """

    __slots__ = ("engine", "label", "schema_version", "utc")

    def __init__(self, engine: Engine, label: str, utc: bool, schema_version: int | None) -> None:
        self.engine = engine
        self.label = label
        self.utc = utc
        self.schema_version = schema_version

    @property
    def zone_label(self) -> str:
        """How times on the pages should be read."""
        return "UTC" if self.utc else "local time of the workflow host"

    def now(self) -> datetime.datetime:
        """The current time, naive, in the zone the database's times are in."""
        now = datetime.datetime.now(datetime.timezone.utc)
        return (now if self.utc else now.astimezone()).replace(tzinfo=None)


def _sqlite_readonly_url(url: URL) -> URL:
    path = Path(url.database or "")
    if not url.database or url.database == ":memory:":
        raise DatabaseError("an in-memory SQLite database holds no monitoring data: give a file")
    if not path.exists():
        raise DatabaseError(f"no database at {path}: run a monitored workflow first, or give its path or URL")
    if path.is_dir():
        raise DatabaseError(f"{path} is a directory, not a database file")
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise DatabaseError(f"cannot read {path}: {exc.strerror}") from None
    if magic != SQLITE_MAGIC:
        raise DatabaseError(f"{path} is not an SQLite database")
    # mode=ro: the viewer cannot write even by mistake; the hub may keep writing (WAL).
    return url.set(database=f"file:{path.resolve()}", query={"mode": "ro", "uri": "true"})


def _check(conn: Connection, label: str) -> int | None:
    present = set(inspect(conn).get_table_names())
    missing = [name for name in REQUIRED_TABLES if name not in present]
    if missing:
        raise DatabaseError(f"{label} has no Parsl monitoring tables (missing: {', '.join(missing)})")
    check_tables(conn)
    version = read_schema_version(conn)
    if version is not None and version > SCHEMA_VERSION:
        raise DatabaseError(
            f"{label} has schema version {version}, newer than {SCHEMA_VERSION}, the newest this "
            "parsl-visualize understands: upgrade parsl-visualize"
        )
    return version


def open_database(location: str) -> Database:
    """Open ``location`` (URL or path) read-only and check that it is a monitoring database.

    Raises:
        DatabaseError: with a one-line reason (bad URL, missing file, not SQLite, no monitoring
            tables, newer schema, server unreachable).
    """
    try:
        url = make_url(database_url(location))
    except ArgumentError:
        raise DatabaseError(f"not a database URL or path: {location!r}") from None
    label = url.render_as_string(hide_password=True)
    connect_args: dict[str, object] = {}
    if url.get_backend_name() == "sqlite":
        url = _sqlite_readonly_url(url)
    elif url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")  # the driver of our `postgres` extra
        connect_args["options"] = "-c default_transaction_read_only=on"
    try:
        engine = create_engine(
            url,
            connect_args=connect_args,
            pool_pre_ping=url.get_backend_name() != "sqlite",
            poolclass=QueuePool,
            pool_size=POOL_SIZE,  # one per request or export slot: taking one never waits
            max_overflow=0,
        )
    except ImportError as exc:
        hint = ": pip install 'parsl-visualize[postgres]'" if url.get_backend_name() == "postgresql" else ""
        raise DatabaseError(f"cannot use {label}: {exc}{hint}") from None
    except ArgumentError as exc:
        raise DatabaseError(f"cannot use {label}: {exc}") from None
    try:
        with engine.connect() as conn:
            version = _check(conn, label)
            utc = version is not None and conn.execute(select(table_of(SchemaVersion).c.time_zone)).scalar() == "UTC"
    except DatabaseError:
        engine.dispose()
        raise
    except SchemaError as exc:
        engine.dispose()
        raise DatabaseError(f"{label}: {exc}") from None
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        if "file is not a database" in reason:
            reason = "not an SQLite database"
        raise DatabaseError(f"cannot read {label}: {reason}") from None
    return Database(engine=engine, label=label, utc=utc, schema_version=version)
