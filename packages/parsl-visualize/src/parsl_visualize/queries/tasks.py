"""Tasks of a run: the filtered, sorted, paginated list and one task's full record."""

from __future__ import annotations

import dataclasses
import datetime  # noqa: TC003 - Litestar resolves the dataclasses' annotations for the API
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, false, func, null, or_, select

from parsl_visualize.queries._common import (
    RESOURCE,
    STATUS,
    TASK,
    TRY,
    final_last,
    latest_states,
    parse_ids,
    parse_task_id,
)
from parsl_visualize.sqltime import epoch
from parsl_visualize.states import FAILED_STATES

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy import ColumnElement, Connection, Label, Select, Subquery

__all__ = (
    "ANY_FAILURE",
    "SORT_COLUMNS",
    "ResourceSample",
    "StatusChange",
    "TaskDetail",
    "TaskFilter",
    "TaskPage",
    "TaskRow",
    "TryRow",
    "app_names",
    "host_names",
    "iter_tasks",
    "list_tasks",
    "task_detail",
)

ANY_FAILURE = "failures"
"""The state filter that selects tasks that failed or whose dependencies failed."""

SORT_COLUMNS = ("task_id", "app", "state", "invoked", "returned", "duration", "fail_count")


@dataclasses.dataclass(frozen=True)
class TaskFilter:
    """What the task list shows: all filters are applied by the database.

    Attributes:
        state: current state, e.g. ``failed``, or :data:`ANY_FAILURE`.
        app: app (function) name.
        host: tasks with a try on this host.
        search: a task id, or the start of one.
        sort: one of :data:`SORT_COLUMNS`.
    """

    state: str | None = None
    app: str | None = None
    host: str | None = None
    search: str | None = None
    sort: str = "task_id"
    descending: bool = False
    page: int = 1
    per_page: int = 50


@dataclasses.dataclass(frozen=True)
class TaskRow:
    """One line of the task list. Times are naive, in the database's zone."""

    task_id: int
    app: str
    state: str
    invoked: datetime.datetime | None
    returned: datetime.datetime | None
    duration: float | None
    fail_count: int
    depends: str | None


@dataclasses.dataclass(frozen=True)
class TaskPage:
    """A page of the filtered list and the size of the whole filtered list."""

    rows: list[TaskRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Number of pages, at least 1."""
        return max(1, -(-self.total // self.per_page))


def _duration() -> Label[float]:
    return (epoch(TASK.c.task_time_returned) - epoch(TASK.c.task_time_invoked)).label("duration")


def _filtered(dialect: str, run_id: str, spec: TaskFilter, with_state: bool) -> tuple[Select[Any], Subquery | None]:
    """Tasks matching ``spec``; joined to their current state only when asked (it costs a pass over ``status``)."""
    latest = latest_states(dialect, run_id) if with_state else None
    columns = [
        TASK.c.task_id,
        TASK.c.task_func_name,
        latest.c.state if latest is not None else null().label("state"),
        TASK.c.task_time_invoked,
        TASK.c.task_time_returned,
        _duration(),
        TASK.c.task_fail_count,
        TASK.c.task_depends,
    ]
    source = TASK if latest is None else TASK.outerjoin(latest, latest.c.task_id == TASK.c.task_id)
    query = select(*columns).select_from(source).where(TASK.c.run_id == run_id)
    if latest is not None and spec.state == ANY_FAILURE:
        query = query.where(latest.c.state.in_(sorted(FAILED_STATES)))
    elif latest is not None and spec.state:
        query = query.where(latest.c.state == spec.state)
    if spec.app:
        query = query.where(TASK.c.task_func_name == spec.app)
    if spec.host:
        query = query.where(
            exists().where(TRY.c.run_id == run_id, TRY.c.task_id == TASK.c.task_id, TRY.c.hostname == spec.host)
        )
    if spec.search is not None:
        wanted = parse_task_id(spec.search)
        query = query.where(TASK.c.task_id == wanted) if wanted is not None else query.where(false())
    return query, latest


def _states_of(conn: Connection, run_id: str, task_ids: list[int]) -> dict[int, str]:
    """Current state of a few tasks (one page), through the status primary key."""
    if not task_ids:
        return {}
    query = (
        select(STATUS.c.task_id, STATUS.c.task_status_name)
        .where(STATUS.c.run_id == run_id, STATUS.c.task_id.in_(task_ids))
        .order_by(STATUS.c.task_id, STATUS.c.timestamp, final_last())
    )
    # The newest row of each task comes last and wins; dict(Result) would call its keys().
    return {task_id: state for task_id, state in conn.execute(query)}  # noqa: C416


def list_tasks(conn: Connection, run_id: str, spec: TaskFilter) -> TaskPage:
    """One page of the run's tasks after filtering and sorting in SQL.

    Unless the state is filtered or sorted on, states are looked up for the page's tasks
    only, so paging through 100,000 tasks stays an index walk.
    """
    with_state = bool(spec.state) or spec.sort == "state"
    query, latest = _filtered(conn.dialect.name, run_id, spec, with_state)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    sort_by: dict[str, ColumnElement[Any]] = {
        "task_id": TASK.c.task_id,
        "app": TASK.c.task_func_name,
        "invoked": TASK.c.task_time_invoked,
        "returned": TASK.c.task_time_returned,
        "duration": _duration(),
        "fail_count": TASK.c.task_fail_count,
    }
    if latest is not None:
        sort_by["state"] = latest.c.state
    column = sort_by.get(spec.sort, TASK.c.task_id)
    order = column.desc() if spec.descending else column.asc()
    page = max(1, spec.page)
    rows = conn.execute(
        query.order_by(order, TASK.c.task_id).offset((page - 1) * spec.per_page).limit(spec.per_page)
    ).all()
    states = {} if with_state else _states_of(conn, run_id, [row.task_id for row in rows])
    tasks = [_task_row(row) for row in rows]
    if states:
        tasks = [dataclasses.replace(t, state=states.get(t.task_id, "unknown")) for t in tasks]
    return TaskPage(rows=tasks, total=total, page=page, per_page=spec.per_page)


def _task_row(row: Sequence[Any]) -> TaskRow:
    task_id, app, state, invoked, returned, duration, fail_count, depends = row
    return TaskRow(task_id, app, state or "unknown", invoked, returned, duration, fail_count, depends)


def iter_tasks(conn: Connection, run_id: str, spec: TaskFilter, chunk: int = 5000) -> Iterator[TaskRow]:
    """Every task matching ``spec`` with its state, in task id order, fetched in chunks (CSV export)."""
    query, _latest = _filtered(conn.dialect.name, run_id, spec, with_state=True)
    result = conn.execution_options(yield_per=chunk).execute(query.order_by(TASK.c.task_id))
    for row in result:
        yield _task_row(row)


def app_names(conn: Connection, run_id: str) -> list[str]:
    """The run's app names, for filters (served by an index on our databases)."""
    query = select(TASK.c.task_func_name).where(TASK.c.run_id == run_id).distinct().order_by(TASK.c.task_func_name)
    return list(conn.execute(query).scalars())


def host_names(conn: Connection, run_id: str) -> list[str]:
    """Hosts that ran at least one try of the run."""
    query = (
        select(TRY.c.hostname)
        .where(TRY.c.run_id == run_id, TRY.c.hostname.is_not(None))
        .distinct()
        .order_by(TRY.c.hostname)
    )
    return list(conn.execute(query).scalars())


@dataclasses.dataclass(frozen=True)
class StatusChange:
    """A state the task entered, when, and during which try."""

    state: str
    at: datetime.datetime
    try_id: int


@dataclasses.dataclass(frozen=True)
class TryRow:
    """One attempt at running the task."""

    try_id: int
    executor: str
    hostname: str | None
    block_id: str | None
    launched: datetime.datetime | None
    running: datetime.datetime | None
    returned: datetime.datetime | None
    fail_history: str | None


@dataclasses.dataclass(frozen=True)
class ResourceSample:
    """One resource monitoring sample of the task's process tree (children summed)."""

    try_id: int
    at: datetime.datetime
    memory_resident: float | None
    memory_virtual: float | None
    cpu_time: float | None
    disk_read: float | None
    disk_write: float | None


@dataclasses.dataclass(frozen=True)
class TaskDetail:
    """Everything the task page shows."""

    task_id: int
    app: str
    state: str
    depends: list[int]
    memoize: str
    hashsum: str | None
    inputs: str | None
    outputs: str | None
    stdin: str | None
    stdout: str | None
    stderr: str | None
    invoked: datetime.datetime | None
    returned: datetime.datetime | None
    fail_count: int
    dependents: list[int]
    statuses: list[StatusChange]
    tries: list[TryRow]
    samples: list[ResourceSample]


def _dependents(conn: Connection, run_id: str, task_id: int) -> list[int]:
    # task_depends is "1,2,3": match the id as a whole item. Tasks depend only on earlier
    # ones, so only later task ids can name this one.
    text = str(task_id)
    depends = TASK.c.task_depends
    query = select(TASK.c.task_id).where(
        TASK.c.run_id == run_id,
        TASK.c.task_id > task_id,
        or_(
            depends == text,
            depends.startswith(text + ","),
            depends.endswith("," + text),
            depends.contains("," + text + ","),
        ),
    )
    return sorted(conn.execute(query.order_by(TASK.c.task_id).limit(1000)).scalars())


def task_detail(conn: Connection, run_id: str, task_id: int) -> TaskDetail | None:
    """The task, its states, tries and resource samples; None when there is no such task."""
    task = conn.execute(select(TASK).where(TASK.c.run_id == run_id, TASK.c.task_id == task_id)).first()
    if task is None:
        return None
    t = task._mapping
    statuses = [
        StatusChange(state, at, try_id)
        for state, at, try_id in conn.execute(
            select(STATUS.c.task_status_name, STATUS.c.timestamp, STATUS.c.try_id)
            .where(STATUS.c.run_id == run_id, STATUS.c.task_id == task_id)
            .order_by(STATUS.c.timestamp, final_last())
        )
    ]
    tries = [
        TryRow(*row)
        for row in conn.execute(
            select(
                TRY.c.try_id,
                TRY.c.task_executor,
                TRY.c.hostname,
                TRY.c.block_id,
                TRY.c.task_try_time_launched,
                TRY.c.task_try_time_running,
                TRY.c.task_try_time_returned,
                TRY.c.task_fail_history,
            )
            .where(TRY.c.run_id == run_id, TRY.c.task_id == task_id)
            .order_by(TRY.c.try_id)
        )
    ]
    r = RESOURCE.c
    samples = (
        []
        if not tries
        else [
            ResourceSample(*row)
            for row in conn.execute(
                select(
                    r.try_id,
                    r.timestamp,
                    r.psutil_process_memory_resident,
                    r.psutil_process_memory_virtual,
                    r.psutil_process_time_user + r.psutil_process_time_system,
                    r.psutil_process_disk_read,
                    r.psutil_process_disk_write,
                )
                # Naming the tries lets the primary key (try_id, task_id, run_id, timestamp) serve this.
                .where(and_(r.try_id.in_([row.try_id for row in tries]), r.task_id == task_id, r.run_id == run_id))
                .order_by(r.timestamp)
            )
        ]
    )
    return TaskDetail(
        task_id=task_id,
        app=t["task_func_name"],
        state=statuses[-1].state if statuses else "unknown",
        depends=list(parse_ids(t["task_depends"])),
        memoize=t["task_memoize"],
        hashsum=t["task_hashsum"],
        inputs=t["task_inputs"],
        outputs=t["task_outputs"],
        stdin=t["task_stdin"],
        stdout=t["task_stdout"],
        stderr=t["task_stderr"],
        invoked=t["task_time_invoked"],
        returned=t["task_time_returned"],
        fail_count=t["task_fail_count"],
        dependents=_dependents(conn, run_id, task_id),
        statuses=statuses,
        tries=tries,
        samples=samples,
    )
