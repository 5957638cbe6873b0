"""Writing validated messages to the database, one transaction per batch.

The update rules are those of Parsl's DatabaseManager (``parsl/monitoring/db_manager.py``):
the first TASK_INFO of a task or try inserts its row and later ones update the columns
Parsl updates; every TASK_INFO adds a ``status`` row and refreshes the workflow's counts;
a worker's first message marks the try running (even before the try row exists: it is
an upsert, so no message is deferred or lost) and its last adds ``running_ended``.
"""

from __future__ import annotations

import datetime
import logging
import time
from typing import TYPE_CHECKING, Any

from parsl_monitor_core.wire import Message, MessageKind
from parsl_monitor_hub.statements import Statement, Statements, compile_statements

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy import Engine

__all__ = ("WriteResult", "Writer")

logger = logging.getLogger(__name__)

RETRY_DELAY_MAX = 10.0


class WriteResult:
    """How many messages a write stored, and why any were refused."""

    __slots__ = ("rejected", "written")

    def __init__(self) -> None:
        self.written = 0
        self.rejected: list[tuple[Message, str]] = []


def _sqlite_time(value: datetime.datetime) -> str:
    # SQLAlchemy's SQLite DateTime storage format, so SQLAlchemy (and Parsl) read it back.
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def _pg_time(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def _text(value: object) -> object:
    if isinstance(value, bool):
        return str(int(value))  # Parsl's SQLite databases hold task_memoize as '0' / '1'
    if isinstance(value, (int, float)):
        return str(value)
    return value


class _Plan:
    """Rows per statement for one batch, in the order they must run."""

    def __init__(self, statements: Statements) -> None:
        s = statements
        self.order: tuple[Statement, ...] = (
            s.workflow_insert,
            s.task_upsert,
            s.try_upsert,
            s.try_running_upsert,
            s.status_insert,
            s.workflow_counts,
            s.workflow_end,
            s.node_insert,
            s.block_insert,
            s.resource_insert,
        )
        self.rows: dict[str, list[dict[str, Any]]] = {statement.name: [] for statement in self.order}
        self.counts: dict[str, dict[str, Any]] = {}

    def add(self, message: Message) -> None:
        kind, payload = message
        rows = self.rows
        if kind is MessageKind.RESOURCE_INFO:
            rows["resource_insert"].append(payload)
        elif kind is MessageKind.TASK_INFO:
            rows["task_upsert"].append(payload)
            rows["try_upsert"].append(payload)
            rows["status_insert"].append(payload)
            if payload.get("tasks_completed_count") is not None and payload.get("tasks_failed_count") is not None:
                self.counts[payload["run_id"]] = payload
        elif kind is MessageKind.WORKER_TASK_INFO:
            if payload["first_msg"]:
                running = {**payload, "task_status_name": "running", "task_try_time_running": payload["timestamp"]}
                running.setdefault("task_executor", "")
                rows["try_running_upsert"].append(running)
                rows["status_insert"].append(running)
            elif payload["last_msg"]:
                rows["status_insert"].append({**payload, "task_status_name": "running_ended"})
        elif kind is MessageKind.WORKFLOW_INFO:
            if "python_version" in payload:
                rows["workflow_insert"].append(payload)
            else:
                self.counts.pop(payload["run_id"], None)
                rows["workflow_end"].append(payload)
        elif kind is MessageKind.NODE_INFO:
            rows["node_insert"].append(payload)
        elif kind is MessageKind.BLOCK_INFO:
            rows["block_insert"].append(payload)

    def finish(self) -> None:
        self.rows["workflow_counts"].extend(self.counts.values())


class Writer:
    """Owns the one writing connection of the hub."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._statements = compile_statements(engine.dialect)
        self._time: Callable[[datetime.datetime], object] = (
            _sqlite_time if engine.dialect.name == "sqlite" else _pg_time
        )
        dbapi = engine.dialect.dbapi
        self._db_error: type[BaseException] = dbapi.Error  # type: ignore[union-attr]
        self._operational: type[BaseException] = dbapi.OperationalError  # type: ignore[union-attr]
        self._connection = engine.raw_connection()

    def close(self) -> None:
        """Release the connection and the engine."""
        self._connection.close()
        self._engine.dispose()

    def _params(self, statement: Statement, payloads: list[dict[str, Any]]) -> list[Any]:
        fields, times, texts, to_time = statement.fields, statement.time_indexes, statement.text_indexes, self._time
        out: list[Any] = []
        for payload in payloads:
            get = payload.get
            values: list[Any] = [get(field) for field in fields]
            for i in times:
                if values[i] is not None:
                    values[i] = to_time(values[i])
            for i in texts:
                if values[i] is not None:
                    values[i] = _text(values[i])
            out.append(dict(zip(statement.bind_names, values, strict=True)) if statement.bind_names else tuple(values))
        return out

    def _execute(self, plan: _Plan) -> None:
        cursor = self._connection.cursor()
        try:
            for statement in plan.order:
                payloads = plan.rows[statement.name]
                if payloads:
                    cursor.executemany(statement.sql, self._params(statement, payloads))
            self._connection.commit()
        except BaseException:
            self._connection.rollback()
            raise
        finally:
            cursor.close()

    def _plan(self, messages: Sequence[Message]) -> _Plan:
        plan = _Plan(self._statements)
        for message in messages:
            plan.add(message)
        plan.finish()
        return plan

    def write(self, messages: Sequence[Message]) -> WriteResult:
        """Write ``messages`` in one transaction, isolating any message the database refuses.

        A refused batch (constraint or type error) is written again message by message, so
        one bad message costs only itself. Operational errors (database locked, connection
        lost, disk full) are retried with backoff until they pass: messages stay in memory
        rather than being dropped.
        """
        result = WriteResult()
        if not messages:
            return result
        try:
            self._with_retry(lambda: self._execute(self._plan(messages)))
        except self._db_error as exc:
            if len(messages) == 1:
                result.rejected.append((messages[0], _one_line(exc)))
                return result
            logger.warning("batch of %d refused (%s); writing message by message", len(messages), _one_line(exc))
            for message in messages:
                single = self.write([message])
                result.written += single.written
                result.rejected.extend(single.rejected)
            return result
        result.written = len(messages)
        return result

    def _with_retry(self, action: Callable[[], None]) -> None:
        delay = 0.1
        while True:
            try:
                action()
            except self._operational as exc:
                if not _is_transient(exc):
                    raise
                logger.error("database unavailable (%s); retrying in %.1f s, nothing is dropped", _one_line(exc), delay)
                time.sleep(delay)
                delay = min(delay * 2, RETRY_DELAY_MAX)
                self._reconnect()
            else:
                return

    def _reconnect(self) -> None:
        try:
            self._connection.close()
        finally:
            self._connection = self._engine.raw_connection()

    def mark_abandoned(self, run_ids: Sequence[str], when: datetime.datetime) -> None:
        """Give workflows that never sent their end message a ``time_completed``, as Parsl does."""
        if not run_ids:
            return
        statement = self._statements.workflow_abandoned
        payloads = [{"run_id": run_id, "time_completed": when} for run_id in run_ids]

        def run() -> None:
            cursor = self._connection.cursor()
            try:
                cursor.executemany(statement.sql, self._params(statement, payloads))
                self._connection.commit()
            finally:
                cursor.close()

        self._with_retry(run)


def _is_transient(exc: BaseException) -> bool:
    text = str(exc).lower()
    # Schema problems surface as OperationalError in sqlite3 too; those will not pass by waiting.
    return not any(word in text for word in ("no such table", "no such column", "syntax error", "has no column"))


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"
