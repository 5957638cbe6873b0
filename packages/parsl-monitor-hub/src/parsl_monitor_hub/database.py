"""Opening the database the hub writes: engine, SQLite pragmas, schema."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from parsl_monitor_core.schema import SchemaError, SchemaVersion, create_or_upgrade, table_of
from parsl_monitor_hub.config import unwritable
from parsl_monitor_hub.errors import DatabaseOpenError

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ("open_database", "writer_engine")

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets readers (the dashboard, sqlite3 shells) read while we write, and never
    # makes us fail with "database is locked"; NORMAL is durable across process crashes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def writer_engine(url: str) -> Engine:
    """The engine of the process that writes: SQLite pragmas set on every connection, schema untouched."""
    parsed = make_url(url)
    engine = create_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite")
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_database(url: str) -> Engine:
    """Check ``url``, make sure the schema is current, and return its engine.

    Raises:
        DatabaseOpenError: with a one-line reason (bad URL, not a database, foreign or newer schema).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseOpenError(f"not a database URL: {url!r} ({exc})") from None
    shown = parsed.render_as_string()  # password hidden
    reason = unwritable(url)
    if reason is not None:
        raise DatabaseOpenError(reason)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise DatabaseOpenError("an in-memory SQLite database cannot be shared with the hub's writer process")
        path = Path(str(parsed.database))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseOpenError(f"cannot create the directory of {path}: {exc.strerror}") from None
    try:
        engine = writer_engine(url)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseOpenError(f"cannot use {shown}: {exc}") from None
    try:
        create_or_upgrade(engine)
    except SchemaError as exc:
        engine.dispose()
        raise DatabaseOpenError(f"{shown}: {exc}") from None
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseOpenError(f"cannot open {shown}: {_reason(exc)}") from None
    _probe_write(engine, shown)
    return engine


def _probe_write(engine: Engine, shown: str) -> None:
    """Fail now, in one line, if the database takes no write (a read-only file or server, a full disk).

    The schema may already be current, so opening wrote nothing: write one row in place and
    roll back. Found later, the writer would wait for the database instead.
    """
    table = table_of(SchemaVersion).name
    try:
        with engine.connect() as conn:
            conn.execute(text(f"UPDATE {table} SET version = version"))  # noqa: S608 - our own table name
            conn.rollback()
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseOpenError(f"cannot write {shown}: {_reason(exc)}") from None


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's own message, first line."""
    return str(getattr(exc, "orig", exc)).splitlines()[0]
