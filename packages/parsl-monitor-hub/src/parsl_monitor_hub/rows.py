"""Turning a batch of validated messages into the rows of each write statement.

The update rules are those of Parsl's DatabaseManager (``parsl/monitoring/db_manager.py``):
the first TASK_INFO of a task or try inserts its row and later ones update the columns
Parsl updates; every TASK_INFO adds a ``status`` row and refreshes the workflow's counts;
a worker's first message marks the try running (even before the try row exists: it is
an upsert, so no message is deferred or lost) and its last adds ``running_ended``.

Each message kind (and variant: workflow start or end, a worker's first or last message)
feeds a fixed list of statements; every statement's row is one ``itemgetter`` over the
message's positional values, built once per kind. Rows hold only msgpack-native values
(times as UTC text, which SQLite stores and PostgreSQL casts), so they can travel to the
writer process as they are.
"""

from __future__ import annotations

import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from parsl_monitor_core.schema import RUN_ABANDONED
from parsl_monitor_core.wire import FIELD_INDEX, PAYLOAD_FIELDS, Message, MessageKind
from parsl_monitor_hub.statements import ORDER, RANK

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from parsl_monitor_hub.statements import Statement, Statements

__all__ = ("RowBuilder", "Rows", "merge")

Rows = dict[str, list[tuple[Any, ...]]]
"""Statement name -> its parameter rows, for one transaction."""

_UTC = datetime.timezone.utc
_MAX_CACHED_SECONDS = 100_000

_K = MessageKind
# (kind, variant) -> statements it feeds, with the fields a message of that kind lacks:
# a constant (str) or, for ("same as", name), another of its fields.
_ROUTES: dict[tuple[MessageKind, str], tuple[tuple[str, dict[str, Any]], ...]] = {
    (_K.TASK_INFO, ""): (("task_upsert", {}), ("try_upsert", {}), ("status_insert", {})),
    (_K.WORKER_TASK_INFO, "first"): (
        ("try_running_upsert", {"task_executor": "", "task_try_time_running": ("same as", "timestamp")}),
        ("status_insert", {"task_status_name": "running"}),
    ),
    (_K.WORKER_TASK_INFO, "last"): (("status_insert", {"task_status_name": "running_ended"}),),
    (_K.WORKFLOW_INFO, "start"): (("workflow_insert", {}),),
    (_K.WORKFLOW_INFO, "end"): (("workflow_end", {}),),
    (_K.NODE_INFO, ""): (("node_insert", {}),),
    (_K.BLOCK_INFO, ""): (("block_insert", {}),),
    (_K.RESOURCE_INFO, ""): (("resource_insert", {}),),
    (_K.NODE_SAMPLE, ""): (("node_sample_insert", {}),),
}


def _time_formatter() -> Callable[[datetime.datetime], str]:
    """Format times as SQLAlchemy stores them in SQLite: "YYYY-MM-DD HH:MM:SS.ffffff", in UTC.

    PostgreSQL casts the same text to its ``timestamp`` columns.

    A hot path (a task message carries up to five times), measured 2x faster than
    ``isoformat``: times of one batch mostly share their second, so the text up to the
    second is cached, keyed by the integer Unix second.
    """
    seconds: dict[int, str] = {}
    cached = seconds.get

    def sqlite_time(value: datetime.datetime) -> str:
        if value.tzinfo is None:  # decoded wire times are aware; a naive one here means UTC
            value = value.replace(tzinfo=_UTC)
        second = int(value.timestamp() // 1)
        prefix = cached(second)
        if prefix is None:
            if len(seconds) >= _MAX_CACHED_SECONDS:
                seconds.clear()
            prefix = seconds[second] = datetime.datetime.fromtimestamp(second, _UTC).strftime("%Y-%m-%d %H:%M:%S.")
        return prefix + str(value.microsecond).zfill(6)

    return sqlite_time


def _text(value: object) -> object:
    if isinstance(value, bool):
        return str(int(value))  # Parsl's SQLite databases hold task_memoize as '0' / '1'
    if isinstance(value, (int, float)):
        return str(value)
    return value


class _Route(NamedTuple):
    statement: str
    pick: Callable[[list[Any]], tuple[Any, ...]]
    extras: list[Any]


class _KindPlan(NamedTuple):
    times: tuple[int, ...]
    texts: tuple[int, ...]
    routes: dict[str, tuple[_Route, ...]]


def _compile_routes(statements: Statements) -> dict[MessageKind, _KindPlan]:
    by_name = {name: getattr(statements, name) for name in ORDER}
    plans: dict[MessageKind, _KindPlan] = {}
    for kind in {kind for kind, _ in _ROUTES}:
        index = FIELD_INDEX[kind]
        specs = {spec.name: spec for spec in PAYLOAD_FIELDS[kind]}
        width = len(index)
        routes: dict[str, tuple[_Route, ...]] = {}
        texts: set[int] = set()
        for (route_kind, variant), targets in _ROUTES.items():
            if route_kind is not kind:
                continue
            compiled = []
            for name, lacking in targets:
                statement: Statement = by_name[name]
                extras: list[Any] = []
                positions = []
                for field in statement.fields:
                    if field in lacking:
                        given = lacking[field]
                        if isinstance(given, tuple):
                            positions.append(index[given[1]])
                        else:
                            positions.append(width + len(extras))
                            extras.append(given)
                    else:
                        positions.append(index[field])
                    if field in statement.text_fields and field in index and specs[field].types != (str,):
                        texts.add(index[field])  # e.g. task_memoize (bool), psutil_cpu_num (int)
                compiled.append(_Route(name, itemgetter(*positions), extras))
            routes[variant] = tuple(compiled)
        times = tuple(i for i, f in enumerate(PAYLOAD_FIELDS[kind]) if f.types == (datetime.datetime,))
        plans[kind] = _KindPlan(times, tuple(sorted(texts)), routes)
    return plans


_WORKER_FIRST = FIELD_INDEX[_K.WORKER_TASK_INFO]["first_msg"]
_WORKER_LAST = FIELD_INDEX[_K.WORKER_TASK_INFO]["last_msg"]
_TASK_RUN = FIELD_INDEX[_K.TASK_INFO]["run_id"]
_TASK_DONE = FIELD_INDEX[_K.TASK_INFO]["tasks_completed_count"]
_TASK_FAILED = FIELD_INDEX[_K.TASK_INFO]["tasks_failed_count"]


class _Upserts:
    """Upsert rows of one batch, one per conflict key: the first row, updated by the last.

    That is what the database would hold after running them one by one (the first inserts,
    the others only update ``update_positions``), for a third of the work when a task's
    pending, launched and done messages arrive in the same batch.
    """

    def __init__(self, statement: Statement) -> None:
        self._key = itemgetter(*statement.key_positions)
        self._updated = statement.update_positions
        self._rows: dict[Any, list[Any]] = {}

    def append(self, row: tuple[Any, ...]) -> None:
        key = self._key(row)
        entry = self._rows.get(key)
        if entry is None:
            self._rows[key] = [row, None]
        else:
            entry[1] = row

    def rows(self) -> list[tuple[Any, ...]]:
        out = []
        for first, last in self._rows.values():
            if last is None:
                out.append(first)
            else:
                merged = list(first)
                for i in self._updated:
                    merged[i] = last[i]
                out.append(tuple(merged))
        return out


class _Batch:
    """The rows of every statement for one batch of messages."""

    def __init__(
        self,
        plans: dict[MessageKind, _KindPlan],
        statements: dict[str, Statement],
        to_time: Callable[[datetime.datetime], object],
    ) -> None:
        self._plans = plans
        self._to_time = to_time
        self.rows: dict[str, Any] = {
            name: _Upserts(statements[name]) if statements[name].key_positions else [] for name in ORDER
        }
        self._counts: dict[str, tuple[Any, ...]] = {}
        self._counts_pick = itemgetter(_TASK_FAILED, _TASK_DONE, _TASK_RUN)

    def add(self, message: Message) -> None:
        kind = message.kind
        plan = self._plans.get(kind)
        if plan is None:
            return
        values = message.values.copy()  # converted below; the message may be written again alone
        to_time = self._to_time
        for i in plan.times:
            if values[i] is not None:
                values[i] = to_time(values[i])
        for i in plan.texts:
            if values[i] is not None:
                values[i] = _text(values[i])
        if kind is _K.WORKER_TASK_INFO:
            variant = "first" if values[_WORKER_FIRST] else "last" if values[_WORKER_LAST] else None
        elif kind is _K.WORKFLOW_INFO:
            variant = "start" if message.is_workflow_start else "end"
        else:
            variant = ""
        if kind is _K.TASK_INFO and values[_TASK_DONE] is not None and values[_TASK_FAILED] is not None:
            self._counts[values[_TASK_RUN]] = self._counts_pick(values)
        elif variant == "end":
            self._counts.pop(message.get("run_id"), None)
        if variant is None:
            return
        for route in plan.routes[variant]:
            self.rows[route.statement].append(route.pick(values + route.extras if route.extras else values))

    def finish(self) -> dict[str, list[tuple[Any, ...]]]:
        self.rows["workflow_counts"].extend(self._counts.values())
        built = {name: rows.rows() if isinstance(rows, _Upserts) else rows for name, rows in self.rows.items()}
        return {name: rows for name, rows in built.items() if rows}


class RowBuilder:
    """Builds the rows of one transaction from messages, for one set of compiled statements."""

    def __init__(self, statements: Statements) -> None:
        self._statements = statements
        self._by_name: dict[str, Statement] = {name: getattr(statements, name) for name in RANK}
        self._plans = _compile_routes(statements)
        self._time = _time_formatter()

    def rows(self, messages: Sequence[Message]) -> Rows:
        """The rows of every statement fed by ``messages``, upserts merged per key."""
        batch = _Batch(self._plans, self._by_name, self._time)
        for message in messages:
            batch.add(message)
        return batch.finish()

    def abandoned(self, run_ids: Sequence[str], when: datetime.datetime) -> Rows:
        """Rows ending workflows that never sent their end message.

        They get a ``time_completed``, as Parsl does, and a ``parsl_monitor_run_end`` row
        saying the hub ended them, so a killed program does not pass for a success.
        """
        stamp = self._time(when)
        values = {"time_completed": stamp, "reason": RUN_ABANDONED, "noted": stamp}
        return {
            statement.name: [
                tuple(run_id if field == "run_id" else values[field] for field in statement.fields)
                for run_id in run_ids
            ]
            for statement in (self._statements.workflow_abandoned, self._statements.run_end)
        }


def merge(into: Rows, extra: Rows) -> Rows:
    """Rows of two sources in one transaction: ``extra``'s appended to ``into``'s, statement by statement."""
    for name, rows in extra.items():
        into[name] = [*into.get(name, []), *rows]
    return into
