"""One run held in memory and kept up to date from the rows added since it last looked.

Every page, fragment, chart and API answer of a run reads from its model. Building it
costs about one pass over the run's status rows; after that, a poll reads only the new
status rows (and the task and try rows they name), so its cost follows what changed,
not the size of the run. A run that has ended is built once and never read again.
"""

from __future__ import annotations

import dataclasses
import datetime
import heapq
import itertools
import math
import threading
from array import array
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from sqlalchemy import inspect

from parsl_visualize.failure_text import RootFailure
from parsl_visualize.live.dag_counts import DagCounts
from parsl_visualize.live.failures import (
    FailureReport,
    failure_report,
    group_example,
    newest_failure,
    positions_of_group,
    propagated_roots,
)
from parsl_visualize.live.phases import PHASES, PhaseTotals, split_task
from parsl_visualize.live.resources import ResourceUsage
from parsl_visualize.live.slots import SlotSeries
from parsl_visualize.live.sorted_column import SortedColumn
from parsl_visualize.live.tasks import NO_TIME, TaskStore, TryTimes
from parsl_visualize.queries import run_rows
from parsl_visualize.queries._common import parse_ids, parse_task_id
from parsl_visualize.states import FAILED_STATES, STATE_ORDER

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from sqlalchemy import Connection

    from parsl_visualize.failure_text import FailureText
    from parsl_visualize.live.resources import AppUsage, UsageShown
    from parsl_visualize.live.slots import TimeAxis
    from parsl_visualize.queries.run_rows import NodeSampleTuple, ResourceTuple, TaskTuple, TryTuple

__all__ = (
    "ANY_FAILURE",
    "MAX_LEVELS",
    "AppSummary",
    "Concurrency",
    "DagGroups",
    "DagTask",
    "GanttTry",
    "RunModel",
    "RunProgress",
    "RunSummary",
    "TaskFilter",
    "TaskPage",
    "TaskRow",
)

ANY_FAILURE = "failures"
"""The state filter that selects tasks that failed or whose dependencies failed."""
SORT_COLUMNS = (
    "task_id",
    "app",
    "state",
    "invoked",
    "returned",
    "duration",
    "waiting",
    "queued",
    "running",
    "fail_count",
)
BUCKETS = 240
MAX_LEVELS = 200
"""Rows of a grouped DAG: deeper DAGs are drawn in bands of consecutive levels."""
_EPOCH = datetime.datetime(1970, 1, 1)  # noqa: DTZ001 - times are naive, in the database's zone


def _time(seconds: float) -> datetime.datetime | None:
    return None if math.isnan(seconds) else _EPOCH + datetime.timedelta(seconds=seconds)


def _seconds(value: float | None) -> float:
    return NO_TIME if value is None else float(value)


def _ended(times: TryTimes) -> float:
    """When a try ended, or its latest known time (a try that failed while queued never ran)."""
    for at in (times.returned, times.running, times.launched):
        if not math.isnan(at):
            return at
    return NO_TIME


@dataclasses.dataclass(frozen=True)
class TaskFilter:
    """What the task list shows.

    Attributes:
        state: current state, e.g. ``failed``, or :data:`ANY_FAILURE`.
        app: app (function) name.
        host: tasks with a try on this host.
        search: a task id.
        error: a failure group's id: tasks with a try that failed this way, and the tasks
            failed by another (dep_fail, failed join apps) whose root failed this way.
        sort: one of :data:`SORT_COLUMNS`.
    """

    state: str | None = None
    app: str | None = None
    host: str | None = None
    search: str | None = None
    error: str | None = None
    sort: str = "task_id"
    descending: bool = False
    page: int = 1
    per_page: int = 50


@dataclasses.dataclass(frozen=True)
class TaskRow:
    """One line of the task list. Times are naive, in the database's zone.

    Attributes:
        error: its latest failed try's failure (``Type: first line``); for a dep_fail task or
            a failed join app, the failure of the task at the root of its chain.
        root_task: for a dep_fail task or a failed join app, the failed task at the root of its chain.
        host: where its latest try ran.
        waiting, queued, running, result: where its time went (see :mod:`parsl_visualize.live.phases`).
    """

    task_id: int
    app: str
    state: str
    invoked: datetime.datetime | None
    returned: datetime.datetime | None
    duration: float | None
    fail_count: int
    depends: str | None
    error: str | None
    root_task: int | None
    host: str | None
    waiting: float | None
    queued: float | None
    running: float | None
    result: float | None


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


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """Task statistics of one run.

    Attributes:
        states: tasks per current state, in :data:`STATE_ORDER` order, zero counts left out.
        tasks: number of tasks known so far.
        mean_duration, median_duration, max_duration: seconds from invocation to return,
            over tasks that have returned; None when none has.
        mean_waiting, mean_queued, mean_running, mean_result: where that time went, per task
            (see :mod:`parsl_visualize.live.phases`), over tasks where each is known.
    """

    states: list[tuple[str, int]]
    tasks: int
    tries: int
    mean_duration: float | None
    median_duration: float | None
    max_duration: float | None
    mean_waiting: float | None
    mean_queued: float | None
    mean_running: float | None
    mean_result: float | None


@dataclasses.dataclass(frozen=True)
class AppSummary:
    """One app of a run: how often it ran, failed, how long its tasks took and where that time went (seconds)."""

    app: str
    tasks: int
    failed: int
    running: int
    mean_duration: float | None
    max_duration: float | None
    mean_waiting: float | None
    mean_queued: float | None
    mean_running: float | None
    mean_result: float | None


@dataclasses.dataclass(frozen=True)
class RunProgress:
    """Tasks of a run so far: done, failed (or dependency failed), running, and waiting (pending or queued)."""

    done: int
    failed: int
    running: int
    waiting: int

    @property
    def total(self) -> int:
        """Tasks known so far."""
        return self.done + self.failed + self.running + self.waiting

    def percent(self, part: int) -> float:
        """``part`` as a percentage of the total (0 when there is no task yet)."""
        return 100.0 * part / self.total if self.total else 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class DagTask:
    """A task, its app, its current state and the ids of the tasks it depends on."""

    task_id: int
    app: str
    state: str
    depends: tuple[int, ...]


class DagGroups(NamedTuple):
    """The grouped DAG: tasks per (first level, name), edges between groups, levels per group."""

    members: dict[tuple[int, str], int]
    edges: dict[tuple[tuple[int, str], tuple[int, str]], int]
    levels_per_group: int


@dataclasses.dataclass(frozen=True)
class Concurrency:
    """Per bucket, how many tasks were in each phase; per app, how many were running."""

    axis: TimeAxis
    phases: dict[str, list[float]]
    running_by_app: dict[str, list[float]]


@dataclasses.dataclass(frozen=True)
class GanttTry:
    """One try as bars, in seconds since the run began; ``outcome`` is how it ended (or ``running``)."""

    task_id: int
    try_id: int
    app: str
    waiting_since: float | None
    launched: float | None
    running: float | None
    returned: float | None
    outcome: str


class _NewRows(NamedTuple):
    """What a refresh read of the rows added since the last (the database's marks ``upto``)."""

    upto: run_rows.Marks
    statuses: list[tuple[int, int, str, str]]
    task_ids: list[int]
    """Tasks with a new status, task or try row, in the order first seen."""
    tasks: list[TaskTuple]
    tries: list[TryTuple]


class _NewSamples(NamedTuple):
    """What a refresh read of the resource samples added since the last."""

    upto: run_rows.SampleMarks
    resources: list[ResourceTuple]
    nodes: list[NodeSampleTuple]


class RunModel:
    """A run's tasks, tries and states, and its timeline, kept up to date by :meth:`refresh`."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.lock = threading.RLock()
        """Held while the model is read or changed: pages wait for it only while new rows are applied."""
        self.reading = threading.RLock()
        """Held while new rows are read from the database (one reader at a time), and taken before :attr:`lock`."""
        self.tasks = TaskStore()
        self.began = NO_TIME
        self.completed: float | None = None
        self.timeline: SlotSeries | None = None
        self._positions: run_rows.Marks | None = None
        self._changes = 0
        self._built = False
        self._usage: ResourceUsage | None = None
        self._samples_at: run_rows.SampleMarks | None = None
        self._resources_seen: set[tuple[Any, ...]] = set()
        self._nodes_seen: set[tuple[Any, ...]] = set()
        """PostgreSQL: samples taken that the next read returns again (see ``run_rows``)."""
        self._node_samples = False
        self._roots: tuple[int, dict[int, int | None]] | None = None
        self._report: tuple[tuple[int, int], FailureReport] | None = None
        self._phases: PhaseTotals | None = None
        self._dag: dict[str, DagCounts] = {}
        self._sorted: dict[str, SortedColumn] = {}

    @property
    def token(self) -> str:
        """Changes whenever anything the pages show of this run changed."""
        return f"{self._changes}.{self.completed}"

    # --- reading the database -------------------------------------------------------

    def refresh(self, conn: Connection) -> bool:
        """Read what was added since the last refresh (everything, the first time); True if anything changed.

        New rows are read holding only :attr:`reading` and applied under :attr:`lock`, so a
        page shows the model as it was while its rows are read (on PostgreSQL a scan of the
        run's rows, docs/reference/live-model.md) and waits only while they are applied.
        """
        with self.reading:
            times = run_rows.workflow_times(conn, self.run_id)
            if times is None:
                return False
            if not self._built or self._positions is None:  # PostgreSQL before 13, other databases: read again
                with self.lock:
                    changed = self._set_times(*times)
                    if self._built:
                        changed = self._rebuild(conn) or changed
                    else:
                        self._build(conn)
                        changed = True
                    self._changes += changed
                    return changed
            rows, samples = self._new_rows(conn), self._new_samples(conn)
            with self.lock:
                changed = self._set_times(*times)
                changed = self._apply(rows) or changed
                changed = self._apply_samples(samples) or changed
                self._changes += changed  # with what changed: a page never sees new rows under an old token
                return changed

    def _set_times(self, began: float, completed: float | None) -> bool:
        changed = completed != self.completed
        self.began, self.completed = began, completed
        return changed

    def _build(self, conn: Connection) -> None:
        self._positions = run_rows.positions(conn)  # before reading: later rows are read next time
        tasks = self.tasks
        seconds = _seconds
        tasks.load_tasks(
            (task_id, app, seconds(invoked), seconds(returned), fail_count, parse_ids(depends))
            for task_id, app, invoked, returned, fail_count, depends in run_rows.task_rows(conn, self.run_id)
        )
        slot, apply = tasks.slot, tasks.apply_status
        for task_id, state, key in run_rows.newest_statuses(conn, self.run_id):
            apply(slot(task_id), state, key)
        host_code, set_try, record_failure = tasks.host_code, tasks.set_try, tasks.failures.record
        for task_id, try_id, host, launched, running, returned, failure in run_rows.try_rows(conn, self.run_id):
            host_code(host)
            times = TryTimes(seconds(launched), seconds(running), seconds(returned), host)
            position = slot(task_id)
            set_try(position, try_id, times)
            if failure:
                record_failure(position, try_id, failure, host, _ended(times))
        self._built = True  # the timeline is counted when a page first asks for it (the summary's charts)

    def _count_everything(self) -> None:
        """Put every task's and try's intervals on a new timeline in one pass; later rows then move it."""
        tasks = self.tasks
        timeline = self.timeline = SlotSeries(self.began)
        times = (tasks.invoked, tasks.returned, tasks.launched, tasks.running, tasks.ended)
        latest = max([self.began, *(max((t for t in column if t == t), default=self.began) for column in times)])  # noqa: PLR0124 - t == t: not NaN
        for retries in tasks.more_tries.values():
            for attempt in retries.values():
                latest = max(latest, *(t for t in attempt[:3] if t == t))  # noqa: PLR0124
        timeline.reach(latest)  # the final slot width at once: nothing moves while counting
        nan = math.isnan
        queued, running, pending = [], [], []
        by_app: dict[int, list[tuple[float, float]]] = {}
        app_of = tasks.app

        def count(position: int, launched: float, started: float, returned: float) -> None:
            if launched == launched:  # noqa: PLR0124 - not NaN
                queued.append((launched, max(returned if nan(started) else started, launched)))
            if started == started:  # noqa: PLR0124
                interval = (started, max(returned, started))  # max(NaN, x) is NaN: still open
                running.append(interval)
                by_app.setdefault(app_of[position], []).append(interval)

        columns = zip(
            tasks.has_try, tasks.launched, tasks.running, tasks.ended, tasks.invoked, tasks.returned, strict=True
        )
        waiting_from, waiting_to = tasks.waiting_from, tasks.waiting_to
        for position, (present, launched, started, returned, invoked, task_returned) in enumerate(columns):
            if present:
                count(position, launched, started, returned)
            if invoked == invoked:  # noqa: PLR0124 - not NaN
                end = launched if present and launched == launched else task_returned  # noqa: PLR0124
                waiting_from[position], waiting_to[position] = invoked, end
                pending.append((invoked, max(end, invoked)))
        for position, retries in tasks.more_tries.items():
            for attempt in retries.values():
                count(position, *attempt[:3])
        timeline.add_intervals("launched", queued)
        timeline.add_intervals("running", running)
        timeline.add_intervals("pending", pending)
        for code, intervals in by_app.items():
            timeline.add_intervals(f"app:{tasks.apps[code]}", intervals)

    def _rebuild(self, conn: Connection) -> bool:
        fresh = RunModel(self.run_id)
        fresh.began, fresh.completed = self.began, self.completed
        fresh._build(conn)
        if fresh.tasks.newest == self.tasks.newest and fresh.tasks.try_count == self.tasks.try_count:
            return False
        self.tasks, self.timeline = fresh.tasks, fresh.timeline
        self._usage = None  # read again when the resource page asks
        self._phases = None
        self._sorted = {}
        return True

    def _new_rows(self, conn: Connection) -> _NewRows | None:
        """The rows added since the last read (None: nothing new), read without the model's lock."""
        upto = run_rows.positions(conn)
        after = self._positions
        if upto is None or after is None or upto == after:
            return None
        status_after, task_after, try_after, _ = after
        status_upto, task_upto, try_upto, _ = upto
        statuses = run_rows.new_statuses(conn, self.run_id, status_after, status_upto)
        touched = dict.fromkeys(task_id for task_id, _try_id, _state, _key in statuses)
        touched.update(dict.fromkeys(run_rows.new_task_ids(conn, "task", self.run_id, task_after, task_upto)))
        touched.update(dict.fromkeys(run_rows.new_task_ids(conn, "try", self.run_id, try_after, try_upto)))
        ids = list(touched)
        if not ids:
            return _NewRows(upto, statuses, [], [], [])
        return _NewRows(
            upto,
            statuses,
            ids,
            list(run_rows.task_rows(conn, self.run_id, ids)),
            list(run_rows.try_rows(conn, self.run_id, ids)),
        )

    def _apply(self, rows: _NewRows | None) -> bool:
        if rows is None:
            return False
        tasks = self.tasks
        # New tasks take positions in id order (PostgreSQL returns rows in no set order),
        # so a list by task id stays a slice of the positions.
        for task_id in sorted(set(rows.task_ids) - tasks.position.keys()):
            tasks.slot(task_id)
        for task_id, _try_id, state, key in rows.statuses:
            tasks.apply_status(tasks.slot(task_id), state, key)
        self._positions = rows.upto
        if not rows.task_ids:
            return False
        for task in rows.tasks:
            self._take_task(task)
        for attempt in rows.tries:
            self._take_try(attempt)
        return True

    def _take_task(self, row: TaskTuple) -> None:
        task_id, app, invoked, returned, fail_count, depends = row
        tasks = self.tasks
        position = tasks.slot(task_id)
        old_app = tasks.apps[tasks.app[position]]
        self._stale(position)
        if self._phases is not None:
            self._phases.drop(position)
        tasks.set_task(
            position,
            app=app,
            invoked=_seconds(invoked),
            returned=_seconds(returned),
            fail_count=fail_count,
            depends=parse_ids(depends),
        )
        if self._phases is not None:
            self._phases.take(position)
        if app != old_app:  # its tries were counted under the app it had (unknown before its task row)
            for _try_id, times in tasks.tries(position):
                self._interval(f"app:{old_app}", times.running, times.returned, -1)
                self._interval(f"app:{app}", times.running, times.returned, +1)
            if self._usage is not None:
                self._usage.move_app(task_id, tasks.apps.index(old_app), tasks.app[position])
        self._update_waiting(position)

    def _stale(self, position: int) -> None:
        """Tell the sorted columns that the task's times may change."""
        for column in self._sorted.values():
            column.stale.add(position)

    def _take_try(self, row: TryTuple) -> None:
        task_id, try_id, host, launched, running, returned, failure = row
        tasks = self.tasks
        position = tasks.slot(task_id)
        tasks.host_code(host)
        times = TryTimes(_seconds(launched), _seconds(running), _seconds(returned), host)
        if failure or (position, try_id) in tasks.failures.of_try:
            tasks.failures.record(position, try_id, failure, host, _ended(times))
        self._stale(position)
        if self._phases is not None:
            self._phases.drop(position)
        before = tasks.set_try(position, try_id, times)
        if self._phases is not None:
            self._phases.take(position)
        if before == times:
            return
        app = tasks.apps[tasks.app[position]]
        if before is not None:
            self._count_try(before, app, -1)
        self._count_try(times, app, +1)
        if try_id == 0:
            self._update_waiting(position)

    # --- the timeline: +1 where a phase starts, -1 where it ends --------------------

    def _interval(self, key: str, start: float, end: float, sign: int) -> None:
        if math.isnan(start) or self.timeline is None:
            return  # an interval that never started is not counted, so counts never go negative
        self.timeline.add(key, start, sign)
        if not math.isnan(end):
            self.timeline.add(key, max(end, start), -sign)  # clocks of two hosts may disagree

    def _count_try(self, times: TryTimes, app: str, sign: int) -> None:
        queued_until = times.returned if math.isnan(times.running) else times.running
        self._interval("launched", times.launched, queued_until, sign)
        self._interval("running", times.running, times.returned, sign)
        self._interval(f"app:{app}", times.running, times.returned, sign)

    def _update_waiting(self, position: int) -> None:
        """Count the task as waiting from its invocation to its first launch (or its return, if never launched)."""
        tasks = self.tasks
        start = tasks.invoked[position]
        launched = tasks.launched[position]
        end = launched if tasks.has_try[position] and not math.isnan(launched) else tasks.returned[position]
        self._interval("pending", tasks.waiting_from[position], tasks.waiting_to[position], -1)
        self._interval("pending", start, end, +1)
        tasks.waiting_from[position], tasks.waiting_to[position] = start, end

    # --- resource usage: read on first use, then followed like statuses ------------------

    def resources(self, conn: Connection) -> ResourceUsage:
        """The run's resource usage (its samples are read the first time a page asks for them).

        A refresh adds samples to it under :attr:`lock`: read it under the lock too (:meth:`usage`).
        """
        with self.lock:
            if self._usage is not None:
                return self._usage
        with self.reading, self.lock:  # the first read sets where the next refresh reads from
            if self._usage is None:
                self._node_samples = inspect(conn).has_table("node_sample")
                self._samples_at = marks = run_rows.sample_positions(conn, self._node_samples)
                start = marks or run_rows.SampleMarks(0, 0)  # where rows cannot be followed, never read again
                usage = ResourceUsage(self.began)
                usage.load_samples(self.tasks, run_rows.resource_rows(conn, self.run_id, start, self._resources_seen))
                if self._node_samples:
                    usage.add_node_samples(run_rows.node_sample_rows(conn, self.run_id, start, self._nodes_seen))
                self._usage = usage
            return self._usage

    def usage(self, conn: Connection, end: float | None) -> UsageShown | None:
        """What the resource page draws up to ``end``, worked out under the lock (a refresh may be adding samples)."""
        usage = self.resources(conn)
        with self.lock:
            return usage.shown(end, self.tasks.apps)

    def app_usage(self, conn: Connection) -> AppUsage:
        """Per app, tries by peak memory and CPU time, and efficiencies."""
        usage = self.resources(conn)
        with self.lock:
            return usage.per_app(self.tasks.apps)

    def prepare(self, conn: Connection, now: float) -> None:
        """Read and count now what pages otherwise do on their first view: the samples, the timeline, the phases."""
        with self.reading, self.lock:
            self.resources(conn)
            self.axis(now)
            self._phase_totals()

    def _new_samples(self, conn: Connection) -> _NewSamples | None:
        """The resource samples added since the last read, once a page has read the run's samples."""
        if self._usage is None or self._samples_at is None:
            return None
        upto = run_rows.sample_positions(conn, self._node_samples)
        after = self._samples_at
        if upto is None or upto == after:
            return None
        resources = run_rows.new_resource_rows(conn, self.run_id, after, upto, self._resources_seen)
        nodes = (
            run_rows.new_node_sample_rows(conn, self.run_id, after, upto, self._nodes_seen)
            if self._node_samples
            else []
        )
        return _NewSamples(upto, resources, nodes)

    def _apply_samples(self, samples: _NewSamples | None) -> bool:
        if samples is None or self._usage is None:
            return False
        before = (self._usage.samples, self._usage.node_samples)
        self._usage.add_samples(self.tasks, samples.resources)
        self._usage.add_node_samples(samples.nodes)
        self._samples_at = samples.upto
        return (self._usage.samples, self._usage.node_samples) != before

    # --- what the pages show --------------------------------------------------------

    def _phase_totals(self) -> PhaseTotals:
        """Where tasks' time went: worked out when first asked, then kept up to date row by row."""
        if self._phases is None:
            self._phases = PhaseTotals(self.tasks)
        self._phases.cover()
        return self._phases

    def summary(self) -> RunSummary:
        """Counts per state and duration statistics (kept up to date as rows arrive: nothing to scan)."""
        with self.lock:
            tasks = self.tasks
            phases = self._phase_totals()
            order = {state: i for i, state in enumerate(STATE_ORDER)}
            states = [
                (name, n) for name, n in zip(tasks.states, tasks.by_state, strict=True) if n and name != "unknown"
            ]
            states.sort(key=lambda item: (order.get(item[0], len(order)), item[0]))
            durations = tasks.durations
            returned = sum(stats[0] for stats in tasks.app_durations)
            total = sum(stats[1] for stats in tasks.app_durations)
            return RunSummary(
                states=states,
                tasks=len(tasks),
                tries=tasks.try_count,
                mean_duration=total / returned if returned else None,
                median_duration=durations[len(durations) // 2] if durations else None,
                max_duration=durations[-1] if durations else None,
                mean_waiting=phases.overall("waiting"),
                mean_queued=phases.overall("queued"),
                mean_running=phases.overall("running"),
                mean_result=phases.overall("result"),
            )

    def apps(self) -> list[AppSummary]:
        """The App Summary: each app with tasks, failures, running tasks and durations."""
        with self.lock:
            tasks = self.tasks
            phases = self._phase_totals()
            running = tasks.state_code("running")
            out = []
            for code, name in enumerate(tasks.apps):
                counts = tasks.by_app_state[code]
                total = sum(counts)
                if not total:
                    continue
                returned, summed, _longest = tasks.app_durations[code]
                out.append(
                    AppSummary(
                        app=name,
                        tasks=total,
                        failed=tasks.failed(counts),
                        running=counts[running],
                        mean_duration=summed / returned if returned else None,
                        max_duration=tasks.longest(code),
                        mean_waiting=phases.mean(code, "waiting"),
                        mean_queued=phases.mean(code, "queued"),
                        mean_running=phases.mean(code, "running"),
                        mean_result=phases.mean(code, "result"),
                    )
                )
            return sorted(out, key=lambda app: app.app)

    def run_time_histogram(self, app: str) -> tuple[list[tuple[float, float]], list[int]]:
        """``app``'s tasks that have run (seconds summed over their tries), per logarithmic bin: (edges, counts)."""
        with self.lock:
            if app not in self.tasks.apps:
                return [], []
            return self._phase_totals().run_time_histogram(self.tasks.apps.index(app))

    def app_names(self) -> list[str]:
        """The run's app names, for filters."""
        with self.lock:
            return sorted(name for code, name in enumerate(self.tasks.apps) if sum(self.tasks.by_app_state[code]))

    def host_names(self) -> list[str]:
        """Hosts that ran at least one try."""
        with self.lock:
            tasks = self.tasks
            return sorted(host for host, n in zip(tasks.hosts, tasks.host_tries, strict=True) if host and n)

    def progress(self) -> RunProgress:
        """How far the run has come: tasks done, failed, running and waiting of those known so far."""
        with self.lock:
            tasks = self.tasks
            by_name = dict(zip(tasks.states, tasks.by_state, strict=True))
            done = by_name.get("exec_done", 0) + by_name.get("memo_done", 0)
            failed = sum(by_name.get(state, 0) for state in FAILED_STATES)
            running = by_name.get("running", 0) + by_name.get("running_ended", 0)
            return RunProgress(done, failed, running, len(tasks) - done - failed - running)

    # --- failures --------------------------------------------------------------------

    def _roots_of_propagated(self) -> dict[int, int | None]:
        """The root failed task of each task failed by another (positions), worked out once per change of the run."""
        if self._roots is None or self._roots[0] != self._changes:
            self._roots = (self._changes, propagated_roots(self.tasks))
        return self._roots[1]

    def failures(self, limit: int = 50) -> FailureReport:
        """Failed tries grouped by type and message, largest groups first (worked out once per change)."""
        with self.lock:
            key = (self._changes, limit)
            if self._report is None or self._report[0] != key:
                self._report = (key, failure_report(self.tasks, self._roots_of_propagated(), limit))
            return self._report[1]

    def failure_example(self, group: str) -> FailureText | None:
        """The first failure read of a group (None: no such group)."""
        with self.lock:
            return group_example(self.tasks, group)

    def root_failure(self, task_id: int) -> RootFailure | None:
        """For a dep_fail task or a failed join app: the failed task at the root of its chain and its failure."""
        with self.lock:
            tasks = self.tasks
            position = tasks.position.get(task_id)
            root = None if position is None else self._roots_of_propagated().get(position)
            if root is None:
                return None
            return RootFailure(tasks.task_id[root], tasks.apps[tasks.app[root]], newest_failure(tasks, root))

    # --- the task list --------------------------------------------------------------

    def _matching(self, spec: TaskFilter) -> Sequence[int]:
        """Positions of the tasks ``spec`` selects, in position order (C-level passes over whole columns).

        With no filter this is a ``range``: listing every position of a big run on each
        poll was the largest part of an unfiltered list's live poll.
        """
        tasks = self.tasks
        everything = spec.search is None
        selected: Iterable[int] = range(len(tasks))
        if not everything:
            wanted = parse_task_id(spec.search or "")
            position = None if wanted is None else tasks.position.get(wanted)
            selected = () if position is None else (position,)
        if spec.state:
            codes = (
                {tasks.state_code(name) for name in FAILED_STATES}
                if spec.state == ANY_FAILURE
                else {tasks.state_code(spec.state)}
            )
            if everything:
                selected = tasks.positions_in_state(*codes)
            else:
                selected = [p for p in selected if tasks.state[p] in codes]
        if spec.app:
            app = tasks.apps.index(spec.app) if spec.app in tasks.apps else -1
            if isinstance(selected, range):  # every task: the app's positions are kept in order
                selected = tasks.positions_of_app(app) if app >= 0 else []
            else:
                selected = (p for p in selected if tasks.app[p] == app)
        if spec.host:
            on_host = {p for p, _t, times in tasks.all_tries() if times.host == spec.host}
            selected = (p for p in selected if p in on_host)
        if spec.error:
            failed_so = positions_of_group(tasks, self._roots_of_propagated(), spec.error)
            selected = (p for p in selected if p in failed_so)
        return selected if isinstance(selected, (range, array)) else list(selected)

    def _sort_key(self, sort: str) -> Callable[[int], Any]:
        """The key of a sort by a column that is not a time (those have a :class:`SortedColumn`)."""
        tasks = self.tasks
        rank = {state: i for i, state in enumerate(STATE_ORDER)}
        keys: dict[str, Callable[[int], Any]] = {
            "app": lambda p: (tasks.apps[tasks.app[p]], tasks.task_id[p]),
            "state": lambda p: (rank.get(tasks.state_name(p), len(rank)), tasks.task_id[p]),
            "fail_count": lambda p: (tasks.fail_count[p], tasks.task_id[p]),
        }
        return keys.get(sort, tasks.task_id.__getitem__)

    def _sorted_column(self, sort: str) -> SortedColumn | None:
        """The run's tasks in the order of a time column (built on first use), or None for other sorts."""
        tasks = self.tasks
        times = {"invoked": tasks.invoked, "returned": tasks.returned, "duration": tasks.duration}
        if sort in PHASES:
            values = self._phase_totals().columns[PHASES.index(sort)]
        elif sort in times:
            values = times[sort]
        else:
            return None
        column = self._sorted.get(sort)
        if column is None or column.values is not values:  # first use, or the run was read again
            column = self._sorted[sort] = SortedColumn(values, tasks.task_id, tasks.position)
        else:
            column.sync()
        return column

    def _first_by(self, column: SortedColumn, matching: Sequence[int], wanted: int, *, descending: bool) -> list[int]:
        """The first ``wanted`` of ``matching`` in the column's order; unknown values last, in task id order."""
        tasks = self.tasks
        among = None if len(matching) == len(tasks) else set(matching)  # every task: no need to look
        known = column.known(descending=descending)
        first = list(itertools.islice(known if among is None else (p for p in known if p in among), wanted))
        if len(first) < wanted:
            values = column.values
            by_id = matching if tasks.ids_ascending else sorted(matching, key=tasks.task_id.__getitem__)
            unknown = (p for p in (reversed(by_id) if descending else by_id) if values[p] != values[p])  # NaN: unknown
            first.extend(itertools.islice(unknown, wanted - len(first)))
        return first

    def _row(self, position: int) -> TaskRow:
        tasks = self.tasks
        start, end = tasks.invoked[position], tasks.returned[position]
        tries = tasks.tries(position)
        failure = newest_failure(tasks, position)
        root = self._roots_of_propagated().get(position)
        if root is not None:
            failure = newest_failure(tasks, root)
        split = split_task(start, end, [times for _try_id, times in tries])
        return TaskRow(
            task_id=tasks.task_id[position],
            app=tasks.apps[tasks.app[position]],
            state=tasks.state_name(position),
            invoked=_time(start),
            returned=_time(end),
            duration=None if math.isnan(end - start) else end - start,
            fail_count=tasks.fail_count[position],
            depends=",".join(map(str, tasks.depends[position])) or None,
            error=None if failure is None else failure.summary,
            root_task=None if root is None else tasks.task_id[root],
            host=tries[-1][1].host if tries else None,
            waiting=split.known("waiting"),
            queued=split.known("queued"),
            running=split.known("running"),
            result=split.known("result"),
        )

    def task_page(self, spec: TaskFilter) -> TaskPage:
        """One page of the filtered, sorted list."""
        with self.lock:
            matching = self._matching(spec)
            wanted = spec.page * spec.per_page
            column = self._sorted_column(spec.sort)
            first: Sequence[int]
            if column is not None:
                first = self._first_by(column, matching, wanted, descending=spec.descending)
            elif spec.sort == "task_id" and self.tasks.ids_ascending:  # positions are in id order already
                first = matching[::-1][:wanted] if spec.descending else matching[:wanted]
            else:
                key = self._sort_key(spec.sort)
                pick = heapq.nlargest if spec.descending else heapq.nsmallest
                first = (
                    pick(wanted, matching, key=key)
                    if wanted < len(matching) // 4
                    else sorted(matching, key=key, reverse=spec.descending)
                )
            rows = [self._row(p) for p in first[(spec.page - 1) * spec.per_page : wanted]]
            return TaskPage(rows=rows, total=len(matching), page=spec.page, per_page=spec.per_page)

    def iter_rows(self, spec: TaskFilter) -> Iterator[TaskRow]:
        """Every task matching ``spec`` in task id order (CSV export), a chunk at a time under the lock."""
        with self.lock:
            matching = self._matching(spec)
            if not self.tasks.ids_ascending:
                matching = sorted(matching, key=self.tasks.task_id.__getitem__)
        for start in range(0, len(matching), 1000):
            with self.lock:
                chunk = [self._row(p) for p in matching[start : start + 1000]]
            yield from chunk

    # --- the DAG and the timeline ----------------------------------------------------

    def dependents(self, task_id: int) -> list[int]:
        """Ids of the tasks that depend on ``task_id`` (at most 1000), in id order."""
        with self.lock:
            position = self.tasks.position.get(task_id)
            if position is None:
                return []
            return sorted(self.tasks.task_id[p] for p in self.tasks.dependents(position))

    def dag_groups(self, color_by: Literal["apps", "states"]) -> DagGroups:
        """The DAG drawn as groups: tasks per (level, app or state), and edges between groups.

        The counts are kept from poll to poll (:class:`DagCounts`): the first call counts
        every task and edge, later ones only what changed. A DAG deeper than
        :data:`MAX_LEVELS` (a chain of tasks is as deep as it is long) is drawn in bands of
        consecutive levels, so the chart stays readable and its size stays bounded
        whatever the run's length; edges inside one band are not drawn.
        """
        with self.lock:
            counts = self._dag.get(color_by)
            if counts is None or counts.tasks is not self.tasks:  # first call, or the run was read again
                live = self.completed is None
                counts = self._dag[color_by] = DagCounts(self.tasks, color_by, MAX_LEVELS, live=live)
            else:
                counts.sync()
            members, edges = counts.groups(self.tasks.apps if color_by == "apps" else self.tasks.states)
            return DagGroups(members, edges, counts.band)

    def dag_tasks(self) -> list[DagTask]:
        """All tasks in id order, with app, state and dependencies."""
        with self.lock:
            tasks = self.tasks
            order = sorted(range(len(tasks)), key=tasks.task_id.__getitem__)
            return [
                DagTask(tasks.task_id[p], tasks.apps[tasks.app[p]], tasks.state_name(p), tasks.depends[p])
                for p in order
            ]

    def axis(self, now: float | None, min_width: float = 0.0) -> TimeAxis | None:
        """The timeline's buckets, up to the run's end or, while it runs, ``now``."""
        with self.lock:
            if self.timeline is None:
                if not self._built:
                    return None
                self._count_everything()
                assert self.timeline is not None  # noqa: S101 - just counted
            end = self.completed if self.completed is not None else now
            if end is not None:
                self.timeline.reach(end)
            return self.timeline.axis(BUCKETS, min_width)

    def concurrency(self, axis: TimeAxis) -> Concurrency:
        """Tasks waiting, queued and running per bucket; running tasks per app."""
        with self.lock:
            timeline = self.timeline
            assert timeline is not None  # noqa: S101 - axis() returned one
            phases = {name: timeline.running_totals(name, axis) for name in ("pending", "launched", "running")}
            apps = sorted(key.removeprefix("app:") for key in timeline.names() if key.startswith("app:"))
            by_app = {app: timeline.running_totals(f"app:{app}", axis) for app in apps}
            by_app = {app: values for app, values in by_app.items() if any(values)}  # e.g. moved off "unknown"
            return Concurrency(axis, phases, by_app)

    def gantt(self, limit: int, now: float | None) -> list[GanttTry] | None:
        """Every try, or None when the run has more than ``limit`` (drawn as concurrency instead).

        A try still open is drawn up to the end of the run or, while it runs, ``now``.
        """
        with self.lock:
            tasks = self.tasks
            if tasks.try_count > limit or len(tasks) > limit:
                return None
            end = self.completed if self.completed is not None else now
            origin = self.began

            def since(value: float) -> float | None:
                return None if math.isnan(value) else round(value - origin, 3)

            out = []
            for position in sorted(range(len(tasks)), key=tasks.task_id.__getitem__):
                tries = tasks.tries(position)
                waiting = tasks.invoked[position]
                state = tasks.state_name(position)
                for i, (try_id, times) in enumerate(tries):
                    last = i == len(tries) - 1
                    outcome = state if last else "fail_retryable"
                    returned = times.returned if not math.isnan(times.returned) else (end or NO_TIME)
                    out.append(
                        GanttTry(
                            tasks.task_id[position],
                            try_id,
                            tasks.apps[tasks.app[position]],
                            since(waiting),
                            since(times.launched),
                            since(times.running),
                            since(returned),
                            outcome,
                        )
                    )
                    waiting = times.returned
                if not tries:
                    ended = tasks.returned[position]
                    until = ended if not math.isnan(ended) else (end or NO_TIME)
                    app = tasks.apps[tasks.app[position]]
                    out.append(
                        GanttTry(tasks.task_id[position], 0, app, since(waiting), None, None, since(until), state)
                    )
            return out
