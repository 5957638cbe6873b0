"""The read-only database the dashboard serves, and what we know about how it was written."""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import QueuePool, create_engine, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, SQLAlchemyError

from parsl_monitor_core.locations import database_url
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
    from collections.abc import Callable

    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL

__all__ = ("Database", "database_url", "default_database_url", "open_database")

LEDGER_SINCE = 3
"""The schema version that added the hub's bookkeeping tables (run ends, message counts)."""

SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER = 100
_EPOCH = datetime.datetime(1970, 1, 1)  # noqa: DTZ001 - the database's naive times
REQUIRED_TABLES = ("workflow", "task", "try", "status")


def default_database_url() -> str:
    """Parsl's default location: ``runinfo/monitoring.db`` under the current directory."""
    return f"sqlite:///{Path.cwd() / 'runinfo' / 'monitoring.db'}"


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
    def has_ledger(self) -> bool:
        """True when the hub's bookkeeping (how runs ended, messages lost) is in the database."""
        return self.schema_version is not None and self.schema_version >= LEDGER_SINCE

    @property
    def zone_label(self) -> str:
        """How times on the pages should be read."""
        return "UTC" if self.utc else "local time of the workflow host"

    def now(self) -> datetime.datetime:
        """The current time, naive, in the zone the database's times are in."""
        now = datetime.datetime.now(datetime.timezone.utc)
        return (now if self.utc else now.astimezone()).replace(tzinfo=None)

    def seconds_now(self) -> float:
        """:meth:`now` as seconds since 1970 (the run models' times)."""
        return (self.now() - _EPOCH).total_seconds()


def _sqlite_path(url: URL) -> Path:
    path = Path(url.database or "")
    if not url.database or url.database == ":memory:":
        raise DatabaseError("an in-memory SQLite database holds no monitoring data: give a file")
    if not path.exists():
        raise DatabaseError(f"no database at {path}: run a monitored workflow first, or give its path or URL")
    if path.is_dir():
        raise DatabaseError(f"{path} is a directory, not a database file")
    try:
        with path.open("rb") as handle:
            header = handle.read(_HEADER)
    except OSError as exc:
        raise DatabaseError(f"cannot read {path}: {exc.strerror}") from None
    if header[: len(SQLITE_MAGIC)] != SQLITE_MAGIC:
        raise DatabaseError(f"{path} is not an SQLite database")
    return path.resolve()


def _sqlite_reader(path: Path) -> Callable[[], _Reader]:
    """Read-only connections that create no file beside the database and need no write access to its directory.

    A database a hub is writing has ``-wal`` and ``-shm`` files, which ``mode=ro`` reads.
    A WAL database without them (its writer ended without going back to rollback mode, or
    was killed and the files were cleaned up) would make ``mode=ro`` create ``-shm``, or fail
    where it may not: it is opened ``immutable`` instead, which is exact as long as nobody
    writes. A checkout hands out a fresh connection once the file is written: a ``-wal``
    file appeared, or the file itself changed since the connection was opened (a short
    workflow's hub came, wrote, checkpointed and went between two requests).
    """
    wal = path.with_name(path.name + "-wal")

    def connect() -> _Reader:
        immutable = not wal.exists() and _in_wal_mode(path)
        uri = f"file:{quote(str(path))}?mode=ro" + ("&immutable=1" if immutable else "")
        seen = _file_state(path)  # before opening: a change from here on is noticed at checkout
        conn = _Reader(uri, uri=True, check_same_thread=False)
        conn.immutable = immutable
        conn.file_state = seen
        # ATTACH opens other files read-write whatever the main one's mode: none may be attached.
        attached = getattr(sqlite3, "SQLITE_LIMIT_ATTACHED", None)  # Python 3.11+
        if attached is not None:
            conn.setlimit(attached, 0)  # type: ignore[attr-defined,unused-ignore]
        else:
            conn.set_authorizer(_no_attach)
        return conn

    return connect


class _Reader(sqlite3.Connection):
    """An SQLite connection that remembers how it was opened, and the file as it was then."""

    immutable = False
    file_state: tuple[int, int, int] | None = None


def _file_state(path: Path) -> tuple[int, int, int] | None:
    """What changes when a writer writes the file: inode, size, modification time (ns)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _no_attach(action: int, *_args: object) -> int:
    return sqlite3.SQLITE_DENY if action == sqlite3.SQLITE_ATTACH else sqlite3.SQLITE_OK


def _in_wal_mode(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            header = handle.read(_HEADER)
    except OSError:
        return False
    return header[18:20] == b"\x02\x02"  # the file format's write and read versions: 2 is WAL


def _fresh_if_writer_came(path: Path) -> Callable[..., None]:
    wal = path.with_name(path.name + "-wal")

    def checkout(dbapi_connection: Any, _record: object, _proxy: object) -> None:
        if not isinstance(dbapi_connection, _Reader) or not dbapi_connection.immutable:
            return
        if wal.exists() or _file_state(path) != dbapi_connection.file_state:
            raise DisconnectionError("a writer opened the database: reconnect to see its rows")

    return checkout


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
    sqlite_path = _sqlite_path(url) if url.get_backend_name() == "sqlite" else None
    if url.get_backend_name() == "postgresql":
        connect_args["options"] = "-c default_transaction_read_only=on"
    try:
        engine = create_engine(
            url,
            connect_args=connect_args,
            pool_pre_ping=sqlite_path is None,
            poolclass=QueuePool,
            pool_size=POOL_SIZE,  # one per request slot: taking one never waits
            max_overflow=0,
            **({"creator": _sqlite_reader(sqlite_path)} if sqlite_path is not None else {}),
        )
    except ImportError as exc:
        hint = ": pip install 'parsl-visualize[postgres]'" if url.get_backend_name() == "postgresql" else ""
        raise DatabaseError(f"cannot use {label}: {exc}{hint}") from None
    except ArgumentError as exc:
        raise DatabaseError(f"cannot use {label}: {exc}") from None
    if sqlite_path is not None:
        event.listen(engine, "checkout", _fresh_if_writer_came(sqlite_path))
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
