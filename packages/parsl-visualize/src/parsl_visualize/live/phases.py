"""Where a task's time went: waiting, queued, running, and waiting for its result.

"Duration" (invoked to returned) mixes a task's wait for its dependencies and for a worker
with its run, so it answers "which app is slow?" wrongly. Split per task, from its tries:

- waiting: invoked to its first try's launch, plus, between tries, one's end to the next's launch;
- queued: each try's launch to its start on a worker (to its end, if it never started);
- running: each try's start on a worker to its end (unknown for a task none of whose tries started);
- result: its last try's end to the task's return (a join app's inner tasks, the DFK's callbacks).

A phase that has not ended, or whose times were not recorded, is unknown (NaN), not zero.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from array import array
from typing import TYPE_CHECKING

from parsl_visualize.live.log_bins import bin_of, histogram

if TYPE_CHECKING:
    from parsl_visualize.live.tasks import TaskStore, TryTimes

__all__ = ("PHASES", "PhaseTotals", "TimeSplit", "split_task")

PHASES = ("waiting", "queued", "running", "result")
_RUNNING = PHASES.index("running")
_NAN = math.nan


@dataclasses.dataclass(frozen=True, slots=True)
class TimeSplit:
    """One task's seconds in each phase (NaN: unknown yet)."""

    waiting: float
    queued: float
    running: float
    result: float

    def known(self, phase: str) -> float | None:
        """A phase's seconds, None when unknown (for pages and the API)."""
        value: float = getattr(self, phase)
        return None if math.isnan(value) else value


def _gap(start: float, end: float) -> float:
    """Seconds from start to end of two known times; two hosts' clocks may disagree a little, so never below 0."""
    return max(0.0, end - start)


def split_task(invoked: float, returned: float, tries: list[TryTimes]) -> TimeSplit:
    """The phases of a task from its times and its tries in order."""
    if not tries:  # never launched: it waited (dep_fail, or still pending)
        waiting = _NAN if math.isnan(invoked) or math.isnan(returned) else _gap(invoked, returned)
        return TimeSplit(waiting, _NAN, _NAN, _NAN)
    waiting = queued = running = 0.0
    previous_end = invoked
    for times in tries:
        launched, started, ended = times.launched, times.running, times.returned
        waiting += _NAN if math.isnan(previous_end) or math.isnan(launched) else _gap(previous_end, launched)
        queue_end = ended if math.isnan(started) else started
        queued += _NAN if math.isnan(launched) or math.isnan(queue_end) else _gap(launched, queue_end)
        if not math.isnan(started):
            running += _NAN if math.isnan(ended) else _gap(started, ended)
        previous_end = ended
    result = _NAN if math.isnan(previous_end) or math.isnan(returned) else _gap(previous_end, returned)
    if all(math.isnan(t.running) for t in tries):
        running = _NAN  # it never ran: a mean of run times leaves it out rather than counting it as 0
    return TimeSplit(waiting, queued, running, result)


class PhaseTotals:
    """Every task's phases, per app their sums and counts and its run times' histogram, kept up to date.

    Built when a page first asks (one pass), then a changed task costs a drop and a take,
    so a live poll's cost follows what changed, as for durations.
    """

    def __init__(self, tasks: TaskStore) -> None:
        self.tasks = tasks
        self.columns = tuple(array("d") for _ in PHASES)
        """Per task position, seconds in each phase (NaN: unknown)."""
        self.sums: list[list[float]] = []
        self.counts: list[list[int]] = []
        self._run_time_bins: list[collections.Counter[int]] = []
        if tasks.apps:
            self._app(len(tasks.apps) - 1)
        self._load()

    def _load(self) -> None:
        """Every task's phases in one pass: a task with one try from the columns, the rest by :meth:`take`."""
        tasks = self.tasks
        more, sums, counts, run_time_bins = tasks.more_tries, self.sums, self.counts, self._run_time_bins
        columns = zip(
            tasks.app,
            tasks.invoked,
            tasks.returned,
            tasks.has_try,
            tasks.launched,
            tasks.running,
            tasks.ended,
            strict=True,
        )
        slow = []
        for position, (app, invoked, returned, has_try, launched, started, ended) in enumerate(columns):
            if not has_try or position in more:
                slow.append(position)
                for column in self.columns:
                    column.append(_NAN)
                continue
            # max(x, 0.0) keeps NaN (unknown) and clips a small negative (two hosts' clocks)
            split = (
                max(launched - invoked, 0.0),
                max((started if started == started else ended) - launched, 0.0),  # noqa: PLR0124 - not NaN
                max(ended - started, 0.0),
                max(returned - ended, 0.0),
            )
            app_sums, app_counts = sums[app], counts[app]
            for index, value in enumerate(split):
                self.columns[index].append(value)
                if value == value:  # noqa: PLR0124 - not NaN
                    app_sums[index] += value
                    app_counts[index] += 1
            running = split[_RUNNING]
            if running == running:  # noqa: PLR0124 - not NaN
                run_time_bins[app][bin_of(running)] += 1
        for position in slow:
            self.take(position)

    def _app(self, code: int) -> tuple[list[float], list[int]]:
        while code >= len(self.sums):
            self.sums.append([0.0] * len(PHASES))
            self.counts.append([0] * len(PHASES))
            self._run_time_bins.append(collections.Counter())
        return self.sums[code], self.counts[code]

    def drop(self, position: int) -> None:
        """Take the task out of its app's sums (before its task or try rows change)."""
        if position >= len(self.columns[0]):
            return
        sums, counts = self._app(self.tasks.app[position])
        for index, column in enumerate(self.columns):
            value = column[position]
            if not math.isnan(value):
                sums[index] -= value
                counts[index] -= 1
                column[position] = _NAN
                if index == _RUNNING:
                    self._run_time_bins[self.tasks.app[position]][bin_of(value)] -= 1

    def cover(self) -> None:
        """Columns for tasks added since (a task known only from a status row has no phase yet)."""
        missing = len(self.tasks) - len(self.columns[0])
        if missing > 0:
            for column in self.columns:
                column.extend(array("d", [_NAN]) * missing)

    def take(self, position: int) -> None:
        """Work out the task's phases and add them to its app's sums (after its rows changed)."""
        tasks = self.tasks
        self.cover()
        split = split_task(tasks.invoked[position], tasks.returned[position], [t for _i, t in tasks.tries(position)])
        sums, counts = self._app(tasks.app[position])
        for index, value in enumerate((split.waiting, split.queued, split.running, split.result)):
            self.columns[index][position] = value
            if not math.isnan(value):
                sums[index] += value
                counts[index] += 1
                if index == _RUNNING:
                    self._run_time_bins[tasks.app[position]][bin_of(value)] += 1

    def mean(self, app: int, phase: str) -> float | None:
        """The mean of a phase over an app's tasks that have it (None: none has)."""
        index = PHASES.index(phase)
        if app >= len(self.counts) or not self.counts[app][index]:
            return None
        return round(self.sums[app][index] / self.counts[app][index], 6)  # sums kept by += and -= drift below that

    def overall(self, phase: str) -> float | None:
        """The mean of a phase over every task that has it."""
        index = PHASES.index(phase)
        count = sum(counts[index] for counts in self.counts)
        return round(sum(sums[index] for sums in self.sums) / count, 6) if count else None

    def run_time_histogram(self, app: int) -> tuple[list[tuple[float, float]], list[int]]:
        """An app's tasks that have run, per bin of seconds running: (bin edges, counts)."""
        return histogram(self._run_time_bins[app]) if app < len(self._run_time_bins) else ([], [])
