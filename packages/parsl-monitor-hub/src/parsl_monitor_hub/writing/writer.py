"""Running one transaction of ready-made rows, and waiting out a database that is away.

Only the writer process (``writer_process``) uses this: it owns the one writing
connection of a hub.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from parsl_monitor_hub.rows import RANK
from parsl_monitor_hub.statements import Statement, compile_statements

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

    from parsl_monitor_hub.rows import Rows

__all__ = ("Writer", "one_line")

logger = logging.getLogger(__name__)

RETRY_DELAY_MAX = 10.0


class Writer:
    """Owns the one writing connection of the hub."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        statements = compile_statements(engine.dialect)
        self._by_name: dict[str, Statement] = {name: getattr(statements, name) for name in RANK}
        dbapi = engine.dialect.dbapi
        self.refused: type[BaseException] = dbapi.Error  # type: ignore[union-attr]
        """What the database raises for rows it will never take (constraints, types)."""
        self._operational: type[BaseException] = dbapi.OperationalError  # type: ignore[union-attr]
        self._open: Any = None  # opened on first use, and again after a lost connection

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

        Operational errors (database locked, connection lost, disk full) are retried with
        backoff until they pass: rows stay in memory rather than being dropped.

        Raises:
            Exception: ``self.refused`` (the DBAPI's ``Error``) when the database refuses
                a row; the transaction is rolled back.
        """
        self._with_retry(lambda: self._run(rows))

    def _executemany(self, cursor: Any, statement: Statement, rows: list[Any]) -> None:
        params: list[Any] = rows
        if statement.bind_names is not None:
            params = [dict(zip(statement.bind_names, row, strict=True)) for row in rows]
        cursor.executemany(statement.sql, params)

    def _run(self, rows: Rows) -> None:
        cursor = self._connection.cursor()
        try:
            for name, statement_rows in sorted(rows.items(), key=lambda item: RANK[item[0]]):
                if statement_rows:
                    self._executemany(cursor, self._by_name[name], statement_rows)
            self._connection.commit()
        except BaseException:
            self._connection.rollback()
            raise
        finally:
            cursor.close()

    def _with_retry(self, action: Callable[[], None]) -> None:
        delay = 0.1
        while True:
            try:
                action()
            except self._operational as exc:
                if not _is_transient(exc):
                    raise
                logger.error("database unavailable (%s); retrying in %.1f s, nothing is dropped", one_line(exc), delay)
                time.sleep(delay)
                delay = min(delay * 2, RETRY_DELAY_MAX)
                self._reconnect()
            else:
                return

    def _reconnect(self) -> None:
        connection, self._open = self._open, None
        if connection is not None:
            connection.close()


def _is_transient(exc: BaseException) -> bool:
    text = str(exc).lower()
    # Schema problems surface as OperationalError in sqlite3 too; those will not pass by waiting.
    return not any(word in text for word in ("no such table", "no such column", "syntax error", "has no column"))


def one_line(exc: BaseException) -> str:
    """An exception as ``Type: first line``, for a log line or a rejection reason."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"
