"""Running one transaction of ready-made rows, and waiting out a database that is away.

Only the writer process (:mod:`parsl_monitor_hub.writing.process`) uses this: it owns the
one writing connection of a hub.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from parsl_monitor_hub.statements import RANK, Statement, compile_statements
from parsl_monitor_hub.writing.failures import is_transient

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

    from parsl_monitor_hub.rows import Rows

__all__ = ("RETRY_DELAY_MAX", "Writer", "one_line")

logger = logging.getLogger(__name__)

COPY_FROM = 20
"""Rows of one append-only table from which a PostgreSQL transaction COPYs them (a COPY costs a round trip more)."""
RETRY_DELAY_MAX = 10.0
"""Longest wait between two tries of a transaction the database did not take (doubling from 0.1 s)."""


class Writer:
    """Owns the one writing connection of the hub.

    Args:
        engine: the database's engine.
        on_retry: called with the reason before each retry, so the hub hears of it.
    """

    def __init__(self, engine: Engine, on_retry: Callable[[str], None] | None = None) -> None:
        self._engine = engine
        statements = compile_statements(engine.dialect)
        self._by_name: dict[str, Statement] = {name: getattr(statements, name) for name in RANK}
        dbapi = engine.dialect.dbapi
        self._operational: type[BaseException] = dbapi.OperationalError  # type: ignore[union-attr]
        self._integrity: type[BaseException] = dbapi.IntegrityError  # type: ignore[union-attr]
        self._on_retry = on_retry
        self._open: Any = None  # opened on first use, and again after a lost connection
        self._staged: set[str] = set()
        """Upserts whose staging table the open connection has (temporary tables live as long as it)."""

    @property
    def _connection(self) -> Any:
        if self._open is None:
            self._open = self._engine.raw_connection()
        return self._open

    def close(self) -> None:
        """Release the connection and the engine; an SQLite file is left in rollback-journal mode.

        WAL needs a ``-shm`` file beside the database to read it, which a reader cannot create
        in a directory it may not write (another user's run, a read-only mount). Back in
        rollback mode, a finished database reads anywhere. If another connection still has
        the file open (a second hub, a reader), SQLite keeps WAL and the readers keep its files.
        """
        if self._engine.dialect.name == "sqlite":
            try:
                cursor = self._connection.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                cursor.execute("PRAGMA journal_mode=DELETE")
                cursor.close()
            except self._operational as exc:
                logger.info("database left in WAL mode: %s", one_line(exc))
        if self._open is not None:
            self._open.close()
            self._open = None
        self._engine.dispose()

    def execute(self, rows: Rows) -> None:
        """Write ``rows`` in one transaction, statements in their fixed order.

        A database that is away (busy, read-only, full, connection lost: see
        :func:`~parsl_monitor_hub.writing.failures.is_transient`) is waited for, with backoff,
        on a new connection each time: rows stay in memory rather than being dropped.

        Raises:
            Exception: whatever the database (or its driver) raised for rows it will not take;
                the transaction is rolled back.
        """
        self._with_retry(lambda: self._run(rows))

    def _executemany(self, cursor: Any, statement: Statement, rows: list[Any]) -> None:
        if statement.merge_sql is not None and len(rows) >= COPY_FROM:
            self._merge(cursor, statement, rows)
            return
        if statement.copy_sql is not None and len(rows) >= COPY_FROM:
            self._copy(cursor, statement, rows)
            return
        cursor.executemany(statement.sql, _parameters(statement, rows))

    def _merge(self, cursor: Any, statement: Statement, rows: list[Any]) -> None:
        """An upsert (PostgreSQL): COPY the rows into the connection's staging table, then merge them at once."""
        if statement.name not in self._staged:
            cursor.execute(statement.stage_sql)
            self._staged.add(statement.name)
        with cursor.copy(statement.copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(statement.merge_sql)

    def _copy(self, cursor: Any, statement: Statement, rows: list[Any]) -> None:
        """COPY the rows in (PostgreSQL); a row already there (a re-sent message) sends them all through the insert.

        COPY knows no ``ON CONFLICT``: a duplicate fails the whole COPY, which a savepoint
        undoes before the rows go in again the slow way, duplicates ignored.
        """
        cursor.execute("SAVEPOINT pm_copy")
        try:
            with cursor.copy(statement.copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except self._integrity:
            cursor.execute("ROLLBACK TO SAVEPOINT pm_copy")
            cursor.executemany(statement.sql, _parameters(statement, rows))
        cursor.execute("RELEASE SAVEPOINT pm_copy")

    def _run(self, rows: Rows) -> None:
        cursor = self._connection.cursor()
        try:
            for name, statement_rows in sorted(rows.items(), key=lambda item: RANK[item[0]]):
                if statement_rows:
                    self._executemany(cursor, self._by_name[name], statement_rows)
            self._connection.commit()
        except BaseException:
            self._connection.rollback()
            self._staged.clear()  # a staging table created in this transaction is gone with it
            raise
        finally:
            cursor.close()

    def _with_retry(self, action: Callable[[], None]) -> None:
        delay = 0.1
        while True:
            try:
                action()
            except Exception as exc:
                if not is_transient(exc, self._operational):
                    raise
                reason = one_line(exc)
                logger.error("database unavailable (%s); retrying in %.1f s, nothing is dropped", reason, delay)
                if self._on_retry is not None:
                    self._on_retry(reason)
                time.sleep(delay)
                delay = min(delay * 2, RETRY_DELAY_MAX)
                self._reconnect()
            else:
                return

    def _reconnect(self) -> None:
        """Drop the connection for good: the pool would hand the same one (still read-only, say) back."""
        connection, self._open = self._open, None
        self._staged.clear()
        if connection is not None:
            connection.invalidate()


def _parameters(statement: Statement, rows: list[Any]) -> list[Any]:
    """Rows as the driver takes them: tuples, or dicts for a named paramstyle (psycopg's)."""
    if statement.bind_names is None:
        return rows
    return [dict(zip(statement.bind_names, row, strict=True)) for row in rows]


def one_line(exc: BaseException) -> str:
    """An exception as ``Type: first line``, for a log line or a rejection reason."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"
