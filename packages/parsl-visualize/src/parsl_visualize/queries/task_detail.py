"""One task's full record: its states, tries, resource samples and files (primary-key lookups)."""

from __future__ import annotations

import dataclasses
import datetime  # noqa: TC003 - Litestar resolves the dataclasses' annotations for the API
from typing import TYPE_CHECKING

from sqlalchemy import and_, select

from parsl_visualize.failure_text import FailureText, RootFailure, parse_failure
from parsl_visualize.queries._common import RESOURCE, STATUS, TASK, TRY, parse_ids, path_order, unindexed

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ("ResourceSample", "StatusChange", "TaskDetail", "TryRow", "task_detail", "task_files")


@dataclasses.dataclass(frozen=True)
class StatusChange:
    """A state the task entered, when, and during which try."""

    state: str
    at: datetime.datetime
    try_id: int


@dataclasses.dataclass(frozen=True)
class TryRow:
    """One attempt at running the task; ``fail_history`` as Parsl recorded it, ``failure`` as read from it."""

    try_id: int
    executor: str
    hostname: str | None
    block_id: str | None
    launched: datetime.datetime | None
    running: datetime.datetime | None
    returned: datetime.datetime | None
    fail_history: str | None
    failure: FailureText | None


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
    """Everything the task page shows.

    Attributes:
        joins: for a join app, the tasks its newest try joined (Parsl's ``task_joins``).
    """

    task_id: int
    app: str
    state: str
    depends: list[int]
    joins: list[int]
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
    root_failure: RootFailure | None
    statuses: list[StatusChange]
    tries: list[TryRow]
    samples: list[ResourceSample]


def task_detail(
    conn: Connection, run_id: str, task_id: int, dependents: list[int], root_failure: RootFailure | None = None
) -> TaskDetail | None:
    """The task, its states, tries and resource samples; None when there is no such task.

    From the run's model: ``dependents``, the tasks that depend on it (a text search here), and
    for a dep_fail task or a failed join app ``root_failure``, the failed task at the root of its chain.
    """
    task = conn.execute(select(TASK).where(TASK.c.run_id == run_id, TASK.c.task_id == task_id)).first()
    if task is None:
        return None
    t = task._mapping
    statuses = [
        StatusChange(state, at, try_id)
        for state, at, try_id in conn.execute(
            select(STATUS.c.task_status_name, STATUS.c.timestamp, STATUS.c.try_id)
            # The primary key (task_id first), not the run's (run_id, timestamp) index: SQLite
            # would walk the whole run's statuses for one task's five.
            .where(unindexed(STATUS.c.run_id) == run_id, STATUS.c.task_id == task_id)
            .order_by(*path_order())  # along its path: its stamps come from two clocks
        )
    ]
    tries: list[TryRow] = []
    joins: list[int] = []
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
            TRY.c.task_joins,
        )
        .where(TRY.c.run_id == run_id, TRY.c.task_id == task_id)
        .order_by(TRY.c.try_id)
    ):
        try_id, executor, host, block, launched, running, returned, history, joined = row
        failure = parse_failure(history) if history else None
        tries.append(TryRow(try_id, executor, host, block, launched, running, returned, history, failure))
        joins = list(parse_ids(joined)) if joined else joins
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
        joins=joins,
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
        dependents=dependents,
        root_failure=root_failure,
        statuses=statuses,
        tries=tries,
        samples=samples,
    )


def task_files(conn: Connection, run_id: str, task_id: int) -> tuple[str | None, str | None] | None:
    """The stdout and stderr Parsl recorded for a task (None: no such task)."""
    row = conn.execute(
        select(TASK.c.task_stdout, TASK.c.task_stderr).where(TASK.c.run_id == run_id, TASK.c.task_id == task_id)
    ).first()
    return None if row is None else (row[0], row[1])
