"""The rows a run's in-memory model is built from, and the rows added since it last looked.

Status rows are append-only. On SQLite every row has a ``rowid`` that grows with each
commit, so "rows added since" is a range scan from the last rowid seen: cheap whatever
the size of the run. Task and try rows are updated in place, but every update comes
with a status row (Parsl's DatabaseManager and our hub both write one per task message),
so the tasks named by new status rows are the ones to read again.

PostgreSQL has no such rowid, but every row version carries the transaction that wrote
it (``xmin``). A model remembers the oldest transaction still running when it read
(its snapshot's xmin); next time, the rows written by that transaction or a later one
are new: those committed since, and some read already, which are taken again (status,
task and try rows are taken idempotently; samples are told apart by their ``xmin``).
Finding them is a scan of the run's rows without sorting or building anything, a
fraction of a newest-status pass. An update in place gets a new ``xmin``, so updated
task and try rows are found even without their status row.

Rows are plain tuples: at a million tasks, an object per row would cost seconds.
Times are seconds since 1970 in the database's zone (see ``sqltime.epoch``), except the
status time, kept as text: it orders statuses to the microsecond.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import literal_column, select, text

from parsl_monitor_core.schema import NodeSample, table_of
from parsl_visualize.queries._common import (
    RESOURCE,
    STATUS,
    TASK,
    TRY,
    WORKFLOW,
    newest_first,
    newest_of_group,
    unindexed,
)
from parsl_visualize.sqltime import epoch
from parsl_visualize.states import STATE_ORDER, UNKNOWN_PATH_RANK, path_rank

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from sqlalchemy import ColumnElement, Connection

__all__ = (
    "CHUNK",
    "FOLLOWED",
    "Marks",
    "NodeSampleTuple",
    "ResourceTuple",
    "SampleMarks",
    "TaskTuple",
    "TryTuple",
    "new_node_sample_rows",
    "new_resource_rows",
    "new_statuses",
    "new_task_ids",
    "newest_statuses",
    "node_sample_rows",
    "positions",
    "resource_rows",
    "sample_positions",
    "task_rows",
    "try_rows",
    "workflow_times",
)

CHUNK = 500
"""Task ids per ``IN (...)`` lookup."""


_TRY_IDS = 10**10
"""Try ids the key's ten digits hold in order (Parsl counts from 0, one per retry)."""
_RANK_TEXT = {state: f"{path_rank(state):02d}" for state in STATE_ORDER}
_UNKNOWN_RANK_TEXT = f"{UNKNOWN_PATH_RANK:02d}"


def status_key(try_id: int | None, timestamp: Any, state: str) -> str:
    """How statuses of a task order: by try, then along the try (:func:`path_rank`), then by time and name.

    Comparable as text, as a model keeps it. SQLite hands times back as the text it stores
    (fixed width, to the microsecond); PostgreSQL as datetimes, written here in the same form.
    """
    written = timestamp if type(timestamp) is str else timestamp.isoformat(sep=" ", timespec="microseconds")
    if type(try_id) is not int or not 0 <= try_id < _TRY_IDS:  # text in a foreign file: as the first try
        try_id = 0
    return f"{try_id:010d}{_RANK_TEXT.get(state, _UNKNOWN_RANK_TEXT)}{written}{state}"


FOLLOWED = ("status", "task", "try")
"""Tables whose new rows a model reads: status rows, and task and try rows a writer added without one."""


class Marks(NamedTuple):
    """Where a model stopped reading the :data:`FOLLOWED` tables.

    SQLite: each table's largest rowid. PostgreSQL: for every table the oldest transaction
    still running (rows from it on are read next time), and the whole snapshot, which any
    commit changes (equal marks: nothing was committed since).
    """

    status: int
    task: int
    try_: int
    snapshot: str = ""


class SampleMarks(NamedTuple):
    """Where a model stopped reading the resource and node_sample tables (as :class:`Marks`)."""

    resource: int
    node: int
    snapshot: str = ""


def _follows_transactions(conn: Connection) -> bool:
    """PostgreSQL 13 or newer: ``pg_current_snapshot()`` exists (older servers' runs are read again on change)."""
    version = conn.dialect.server_version_info
    return conn.dialect.name == "postgresql" and version is not None and version >= (13,)


def _pg_snapshot(conn: Connection) -> tuple[int, str]:
    """The current snapshot's xmin (the oldest transaction still running) and its text."""
    snapshot = str(conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar_one())
    return int(snapshot.split(":", 1)[0]), snapshot


def positions(conn: Connection) -> Marks | None:
    """Where each :data:`FOLLOWED` table ends now; None where rows cannot be followed (an older PostgreSQL, others)."""
    if _follows_transactions(conn):
        oldest, snapshot = _pg_snapshot(conn)
        return Marks(oldest, oldest, oldest, snapshot)
    if conn.dialect.name != "sqlite":
        return None
    row = conn.exec_driver_sql(
        'SELECT (SELECT max(rowid) FROM status), (SELECT max(rowid) FROM task), (SELECT max(rowid) FROM "try")'
    ).one()
    status, task, try_ = (int(value or 0) for value in row)
    return Marks(status, task, try_)


_PG_NEWER = "run_id = :run AND age(xmin) <= age(CAST(:after AS xid))"
"""PostgreSQL: the run's rows written by transaction ``after`` or a later one (``age`` counts modulo 2^32)."""


def _pg_after(after: int) -> str:
    return str(after % 2**32)  # xmin holds the low 32 bits of a transaction id


def _is_newer(xmin: int, after: int) -> bool:
    """PostgreSQL: whether a row's ``xmin`` is transaction ``after`` or a later one (as :data:`_PG_NEWER`)."""
    return (xmin - after) % 2**32 < 2**31


def new_task_ids(conn: Connection, table: str, run_id: str, after: int, upto: int) -> list[int]:
    """Task ids of rows of ``task`` or ``try`` added since ``after`` (see :class:`Marks`)."""
    if table not in {"task", "try"}:
        raise ValueError(f"not a followed table: {table}")
    if conn.dialect.name == "postgresql":
        query = text(f'SELECT task_id FROM "{table}" WHERE {_PG_NEWER}')  # noqa: S608 - one of two names
        return list(conn.execute(query, {"run": run_id, "after": _pg_after(after)}).scalars())
    rows = _driver_rows(
        conn,
        f'SELECT task_id FROM "{table}" WHERE rowid > ? AND rowid <= ? AND +run_id = ?',  # noqa: S608 - one of two names
        (after, upto, run_id),
    )
    return [task_id for (task_id,) in rows]


def newest_statuses(conn: Connection, run_id: str) -> Iterable[tuple[int, str, str]]:
    """``(task_id, state, key)`` of every task's newest status: one pass over the run's status rows."""
    s = STATUS.c
    query = select(s.task_id, s.task_status_name, s.try_id, s.timestamp)
    if conn.dialect.name == "postgresql":
        query = query.where(s.run_id == run_id).distinct(s.task_id).order_by(s.task_id, *newest_first())
    else:  # grouped along the primary key (task_id first); the try_id is read from the table
        query = query.add_columns(newest_of_group()).where(unindexed(s.run_id) == run_id).group_by(s.task_id)
    return ((row[0], row[1], status_key(row[2], row[3], row[1])) for row in _stream(conn, query))


def new_statuses(conn: Connection, run_id: str, after: int, upto: int) -> list[tuple[int, int, str, str]]:
    """``(task_id, try_id, state, key)`` of the run's status rows added since ``after`` (see :class:`Marks`)."""
    if conn.dialect.name == "postgresql":
        query = text(f"SELECT task_id, try_id, task_status_name, timestamp FROM status WHERE {_PG_NEWER}")  # noqa: S608
        found = conn.execute(query, {"run": run_id, "after": _pg_after(after)})
        return [(task_id, try_id, state, status_key(try_id, at, state)) for task_id, try_id, state, at in found]
    rows = _driver_rows(
        conn,
        # "+run_id": a range scan of the new rowids, never the run's index (which would read the whole run)
        "SELECT task_id, try_id, task_status_name, timestamp FROM status "
        "WHERE rowid > ? AND rowid <= ? AND +run_id = ? ORDER BY rowid",
        (after, upto, run_id),
    )
    return [(task_id, try_id, state, status_key(try_id, at, state)) for task_id, try_id, state, at in rows]


def _compiled(conn: Connection, query: Any, params: dict[str, Any] | None = None) -> tuple[str, Any]:
    """The SQL text and arguments of ``query`` for the DBAPI cursor of ``conn``."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    bound = compiled.construct_params(params)
    positional = compiled.positiontup
    return str(compiled), [bound[name] for name in positional] if positional is not None else bound


def _fetch_all(conn: Connection, query: Any, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows as the DBAPI cursor returns them: SQLAlchemy's row objects cost more than the query at 100k rows."""
    return _driver_rows(conn, *_compiled(conn, query, params))


def _driver_rows(conn: Connection, sql: str, arguments: Any) -> list[tuple[Any, ...]]:
    """``sql`` run on the DBAPI cursor of ``conn``: plain tuples, none of SQLAlchemy's per-row work."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, arguments)
        rows: list[tuple[Any, ...]] = list(cursor.fetchall())
    finally:
        cursor.close()
    return rows


_SERVER_CURSORS = itertools.count()


def _stream(conn: Connection, query: Any, size: int = 10_000) -> Iterator[tuple[Any, ...]]:
    """Like :func:`_fetch_all`, ``size`` rows at a time: a million rows never sit in memory at once.

    On PostgreSQL through a server-side (named) cursor: psycopg's plain cursor receives the
    whole result before the first row is handed out.
    """
    sql, arguments = _compiled(conn, query)
    dbapi = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        cursor = dbapi.cursor(name=f"pm_stream_{next(_SERVER_CURSORS)}")  # type: ignore[union-attr]
    else:
        cursor = dbapi.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, arguments)
        while rows := cursor.fetchmany(size):
            yield from rows
    finally:
        cursor.close()


def _in_chunks(query: Any, column: Any, ids: Sequence[int] | None, conn: Connection) -> Iterable[tuple[Any, ...]]:
    if ids is None:
        yield from _stream(conn, query)
        return
    for start in range(0, len(ids), CHUNK):
        yield from _fetch_all(conn, query.where(column.in_(list(ids[start : start + CHUNK]))))


TaskTuple = tuple[int, str, float | None, float | None, int, str | None]
"""``(task_id, app, invoked, returned, fail_count, depends)``."""


def task_rows(conn: Connection, run_id: str, ids: Sequence[int] | None = None) -> Iterable[TaskTuple]:
    """``(task_id, app, invoked, returned, fail_count, depends)`` of the run's tasks (or of ``ids``)."""
    t = TASK.c
    query = select(
        t.task_id,
        t.task_func_name,
        epoch(t.task_time_invoked),
        epoch(t.task_time_returned),
        t.task_fail_count,
        t.task_depends,
    ).where(t.run_id == run_id)
    # SQLite reads them through (run_id, task_time_invoked): invocation order, which is id order in Parsl.
    if ids is None and conn.dialect.name == "postgresql":
        query = query.order_by(t.task_id)  # positions in id order: a list by task id is a slice of them
    return _in_chunks(query, t.task_id, ids, conn)


TryTuple = tuple[int, int, str | None, float | None, float | None, float | None, str | None]
"""``(task_id, try_id, host, launched, running, returned, failure)``: failure is Parsl's ``task_fail_history``."""


def try_rows(conn: Connection, run_id: str, ids: Sequence[int] | None = None) -> Iterable[TryTuple]:
    """:data:`TryTuple` of the run's tries (or of tasks ``ids``)."""
    y = TRY.c
    query = select(
        y.task_id,
        y.try_id,
        y.hostname,
        epoch(y.task_try_time_launched),
        epoch(y.task_try_time_running),
        epoch(y.task_try_time_returned),
        y.task_fail_history,
    ).where(y.run_id == run_id)
    return _in_chunks(query, y.task_id, ids, conn)


def sample_positions(conn: Connection, node_samples: bool) -> SampleMarks | None:
    """Where the resource and node_sample tables end now (as :func:`positions`); None where rows cannot be followed."""
    if _follows_transactions(conn):
        oldest, snapshot = _pg_snapshot(conn)
        return SampleMarks(oldest, oldest, snapshot)
    if conn.dialect.name != "sqlite":
        return None
    nodes = "(SELECT max(rowid) FROM node_sample)" if node_samples else "0"
    row = conn.exec_driver_sql(f"SELECT (SELECT max(rowid) FROM resource), {nodes}").one()  # noqa: S608 - constant text
    return SampleMarks(int(row[0] or 0), int(row[1] or 0))


_SQLITE_EPOCH = "((julianday({}) - 2440587.5) * 86400.0)"
_XMIN: ColumnElement[int] = literal_column("xmin::text::bigint")

ResourceTuple = tuple[int, int, float | None, float | None, float | None, float | None]
"""``(task_id, try_id, at, interval, cpu_time, resident)`` of a resource sample."""
NodeSampleTuple = tuple[str, float | None, float | None, float | None]
"""``(hostname, at, cpu_percent, memory_used)`` of a node agent sample."""


def _resource_columns() -> tuple[Any, ...]:
    r = RESOURCE.c
    return (
        r.task_id,
        r.try_id,
        epoch(r.timestamp),
        r.resource_monitoring_interval,
        r.psutil_process_time_user + r.psutil_process_time_system,
        r.psutil_process_memory_resident,
    )


def resource_rows(
    conn: Connection, run_id: str, marks: SampleMarks, seen: set[tuple[Any, ...]]
) -> Iterable[ResourceTuple]:
    """Every resource sample of the run, in time order per try, streamed (read them before the next query).

    ``marks`` are where the read begins; ``seen`` (PostgreSQL) gets the rows a read from them returns again.
    """
    r = RESOURCE.c
    if _follows_transactions(conn):
        query = select(_XMIN, *_resource_columns()).where(r.run_id == run_id).order_by(r.try_id, r.task_id, r.timestamp)
        return _remembered(_stream(conn, query), seen, marks.resource)
    query = (
        select(*_resource_columns())
        .where(unindexed(r.run_id) == run_id)
        .order_by(r.try_id, r.task_id, r.timestamp)  # the primary key's order, which needs no sort
    )
    return _stream(conn, query)


def new_resource_rows(
    conn: Connection, run_id: str, after: SampleMarks, upto: SampleMarks, seen: set[tuple[Any, ...]]
) -> list[ResourceTuple]:
    """The run's resource samples written since ``after``, in time order per try.

    ``seen`` (PostgreSQL): the rows already taken that may be read again; kept up to date here.
    """
    if conn.dialect.name == "postgresql":
        r = RESOURCE.c
        query = (
            select(_XMIN, *_resource_columns())
            .where(text(_PG_NEWER).bindparams(run=run_id, after=_pg_after(after.resource)))
            .order_by(r.try_id, r.task_id, r.timestamp)
        )
        return _unseen(conn.execute(query), seen, upto.resource)
    rows = conn.exec_driver_sql(
        f"SELECT task_id, try_id, {_SQLITE_EPOCH.format('timestamp')}, resource_monitoring_interval, "  # noqa: S608
        "psutil_process_time_user + psutil_process_time_system, psutil_process_memory_resident "
        "FROM resource WHERE rowid > ? AND rowid <= ? AND +run_id = ? ORDER BY rowid",
        (after.resource, upto.resource, run_id),
    )
    return [tuple(row) for row in rows]


def _node_sample_columns() -> tuple[Any, ...]:
    n = table_of(NodeSample).c
    return n.hostname, epoch(n.timestamp), n.cpu_percent, n.memory_used


def node_sample_rows(
    conn: Connection, run_id: str, marks: SampleMarks, seen: set[tuple[Any, ...]]
) -> list[NodeSampleTuple]:
    """Every node agent sample of the run (``marks`` and ``seen`` as in :func:`resource_rows`)."""
    n = table_of(NodeSample).c
    if _follows_transactions(conn):
        rows = _fetch_all(conn, select(_XMIN, *_node_sample_columns()).where(n.run_id == run_id))
        return list(_remembered(rows, seen, marks.node))
    return _fetch_all(conn, select(*_node_sample_columns()).where(n.run_id == run_id))


def new_node_sample_rows(
    conn: Connection, run_id: str, after: SampleMarks, upto: SampleMarks, seen: set[tuple[Any, ...]]
) -> list[NodeSampleTuple]:
    """The run's node agent samples written since ``after`` (``seen`` as in :func:`new_resource_rows`)."""
    if conn.dialect.name == "postgresql":
        query = select(_XMIN, *_node_sample_columns()).where(
            text(_PG_NEWER).bindparams(run=run_id, after=_pg_after(after.node))
        )
        return _unseen(conn.execute(query), seen, upto.node)
    rows = conn.exec_driver_sql(
        f"SELECT hostname, {_SQLITE_EPOCH.format('timestamp')}, cpu_percent, memory_used FROM node_sample "  # noqa: S608
        "WHERE rowid > ? AND rowid <= ? AND +run_id = ?",
        (after.node, upto.node, run_id),
    )
    return [tuple(row) for row in rows]


def _unseen(rows: Iterable[Any], seen: set[tuple[Any, ...]], upto: int) -> list[Any]:
    """PostgreSQL: ``rows`` (``xmin`` first) not in ``seen``, without their ``xmin``.

    ``seen`` becomes the rows read here that the next read, from ``upto`` on, returns again:
    a sample counted twice would count twice in the charts.
    """
    known = set(seen)
    seen.clear()
    return list(_remembered(rows, seen, upto, skip=known))


def _remembered(
    rows: Iterable[Any], seen: set[tuple[Any, ...]], upto: int, skip: set[tuple[Any, ...]] | None = None
) -> Iterator[Any]:
    """``rows`` not in ``skip``, less their ``xmin`` (first); those a read from ``upto`` gets again go to ``seen``."""
    for row in rows:
        key = tuple(row)
        if _is_newer(key[0], upto):
            seen.add(key)
        if skip is None or key not in skip:
            yield key[1:]


def workflow_times(conn: Connection, run_id: str) -> tuple[float, float | None] | None:
    """``(began, completed)`` of the run, or None when it is not in the database."""
    w = WORKFLOW.c
    row = conn.execute(select(epoch(w.time_began), epoch(w.time_completed)).where(w.run_id == run_id)).first()
    return None if row is None else (row[0], row[1])
