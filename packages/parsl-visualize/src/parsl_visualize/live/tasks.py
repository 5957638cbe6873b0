"""Every task of one run in columns: current state, app, times, tries, dependencies, and counters.

Columns (``array`` and ``bytearray``) rather than an object per task keep a million
tasks in a few hundred megabytes. Each task has a position (its arrival order); times
are seconds since 1970 in the database's zone, NaN when unknown. Counts per state and
per app are kept up to date as states change, so a summary costs nothing to read.
"""

from __future__ import annotations

import bisect
import math
from array import array
from typing import TYPE_CHECKING, NamedTuple

from sortedcontainers import SortedList

from parsl_visualize.live.failures import FailureIndex
from parsl_visualize.states import FAILED_STATES, FINAL_STATES, STATE_ORDER

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ("NO_STATE", "NO_TIME", "TaskStore", "TryTimes")

NO_TIME = math.nan
NO_STATE = 0
"""The state code of a task with no status row yet."""


class TryTimes(NamedTuple):
    """One try: when it was queued, started running and ended, and where it ran."""

    launched: float
    running: float
    returned: float
    host: str | None


class TaskStore:
    """The tasks of a run, updated in place from task, try and status rows."""

    def __init__(self) -> None:
        self.states = ["unknown", *STATE_ORDER]
        self._state_codes = {name: code for code, name in enumerate(self.states)}
        self.apps: list[str] = []
        self._app_codes: dict[str, int] = {}
        self.hosts: list[str | None] = [None]
        self.host_tries: list[int] = [0]
        """Tries per host code (hosts no try names any more are not listed)."""
        self._host_codes: dict[str | None, int] = {None: 0}
        self.position: dict[int, int] = {}
        self.ids_ascending = True
        """Whether positions are in task id order (tasks arrive in id order): then sorting by id is free."""
        self.task_id = array("q")
        self.app = array("H")
        self.state = bytearray()
        self.newest: list[str] = []
        """Sort key of each task's newest status: time text, finality, state name."""
        self.invoked, self.returned = array("d"), array("d")
        self.fail_count = array("l")
        self.depends: list[tuple[int, ...]] = []
        self.has_try = bytearray()
        """1 where the task's first try (try 0) has a row; its times are in the four columns below."""
        self.launched, self.running, self.ended = array("d"), array("d"), array("d")
        self.host = array("H")
        self.waiting_from = array("d")
        self.waiting_to = array("d")
        """The interval each task is counted as waiting (pending) on the timeline."""
        self.more_tries: dict[int, dict[int, TryTimes]] = {}
        """Retries (try 1 and later) by position and try id: few, so dicts."""
        self.failures = FailureIndex()
        """Failed tries and their groups."""
        self.by_state: list[int] = [0] * len(self.states)
        self.by_app_state: list[list[int]] = []
        self._app_positions: list[array[int]] = []
        """Per app code, the positions of its tasks in ascending order (an app's task list)."""
        self.level = array("l")
        """Depth in the DAG: one more than the deepest task it depends on."""
        self.has_children = bytearray()
        self.edge_from = array("q")
        self.edge_to = array("q")
        """The DAG's edges, as positions: ``edge_from[i]`` is a task ``edge_to[i]`` depends on."""
        self._missing: dict[int, list[int]] = {}
        """Task ids named as dependencies before they had a row -> the positions that named them."""
        self.duration = array("d")
        """Seconds from invocation to return (NaN until both are known)."""
        self.durations: SortedList = SortedList()
        """Every known duration, sorted (the median). A ``SortedList`` adds and removes in about
        log(n): on a plain list, each of a live poll's finished tasks moved the whole list."""
        self.app_durations: list[list[float]] = []
        """Per app: count, sum and largest duration (NaN: the largest must be looked for again)."""
        self._watchers: list[set[int]] = []

    def __len__(self) -> int:
        return len(self.task_id)

    def watch(self) -> set[int]:
        """A set that collects, from now on, the positions of tasks whose app, state or level changes.

        Its owner empties it when it has taken the changes in (the DAG's counts do so).
        """
        changed: set[int] = set()
        self._watchers.append(changed)
        return changed

    def _changed(self, position: int) -> None:
        for changed in self._watchers:
            changed.add(position)

    def state_code(self, name: str) -> int:
        """The code of a state name; a state Parsl adds later gets a new code."""
        code = self._state_codes.get(name)
        if code is None:
            code = self._state_codes[name] = len(self.states)
            self.states.append(name)
            self.by_state.append(0)
            for counts in self.by_app_state:
                counts.append(0)
        return code

    def _app_code(self, name: str) -> int:
        code = self._app_codes.get(name)
        if code is None:
            code = self._app_codes[name] = len(self.apps)
            self.apps.append(name)
            self.by_app_state.append([0] * len(self.states))
            self._app_positions.append(array("I"))
            self.app_durations.append([0.0, 0.0, -math.inf])
        return code

    def host_code(self, name: str | None) -> int:
        """The code of a host name (0: unknown)."""
        code = self._host_codes.get(name)
        if code is None:
            code = self._host_codes[name] = len(self.hosts)
            self.hosts.append(name)
            self.host_tries.append(0)
        return code

    def slot(self, task_id: int) -> int:
        """The position of ``task_id``, adding an empty task (app unknown, no state) if new."""
        position = self.position.get(task_id)
        if position is not None:
            return position
        position = self.position[task_id] = len(self.task_id)
        if position and task_id < self.task_id[-1]:
            self.ids_ascending = False
        self.task_id.append(task_id)
        app = self._app_code("unknown")
        self.app.append(app)
        self._app_positions[app].append(position)  # the largest position yet: the order holds
        self.state.append(NO_STATE)
        self.by_state[NO_STATE] += 1
        self.by_app_state[app][NO_STATE] += 1
        self.newest.append("")
        self.invoked.append(NO_TIME)
        self.returned.append(NO_TIME)
        self.fail_count.append(0)
        self.depends.append(())
        for column in (self.launched, self.running, self.ended, self.waiting_from, self.waiting_to, self.duration):
            column.append(NO_TIME)
        self.host.append(0)
        self.has_try.append(0)
        self.level.append(0)
        self.has_children.append(0)
        for child in self._missing.pop(task_id, ()):  # tasks that named this one before it had a row
            self.edge_from.append(position)
            self.edge_to.append(child)
            self.has_children[position] = 1
            self._relevel(child)
        return position

    def load_tasks(self, rows: Iterable[tuple[int, str, float, float, int, tuple[int, ...]]]) -> None:
        """Fill an empty store with task rows in bulk (a build's fast path); states come after."""
        if self.task_id:
            raise RuntimeError("load_tasks fills an empty store")
        position, app_code = self.position, self._app_code
        task_id, app, invoked, returned = self.task_id, self.app, self.invoked, self.returned
        fail_count, depends = self.fail_count, self.depends
        for count, (task, name, start, end, failures, parents) in enumerate(rows):
            if count and task < task_id[-1]:
                self.ids_ascending = False
            position[task] = count
            task_id.append(task)
            app.append(app_code(name))
            invoked.append(start)
            returned.append(end)
            fail_count.append(failures)
            depends.append(parents)
        added = len(task_id)
        durations = array("d", (end - start for start, end in zip(invoked, returned, strict=True)))
        self.duration.extend(durations)
        known = [d for d in durations if d == d]  # noqa: PLR0124 - not NaN
        self.durations = SortedList(known)
        for code, d in zip(app, durations, strict=True):
            if d == d:  # noqa: PLR0124 - not NaN
                stats = self.app_durations[code]
                stats[0] += 1
                stats[1] += d
                stats[2] = max(stats[2], d)
        self._link_loaded(depends, added)
        self.state.extend(bytes(added))
        self.newest.extend([""] * added)
        nothing = array("d", [NO_TIME]) * added
        for column in (self.launched, self.running, self.ended, self.waiting_from, self.waiting_to):
            column.extend(nothing)
        self.host.extend(array("H", bytes(2 * added)))
        self.has_try.extend(bytes(added))
        self.by_state[NO_STATE] = added
        for at, code in enumerate(app):
            self.by_app_state[code][NO_STATE] += 1
            self._app_positions[code].append(at)

    def _link_loaded(self, depends: list[tuple[int, ...]], added: int) -> None:
        """Edges and levels of the tasks :meth:`load_tasks` added: one pass, dependencies first (smaller ids)."""
        self.level.extend(array("l", bytes(8 * added)))
        self.has_children.extend(bytes(added))
        later: list[int] = []
        level, has_children, position = self.level, self.has_children, self.position
        for at, parents in enumerate(depends):
            deepest = -1
            for parent in parents:
                p = position.get(parent)
                if p is None:
                    self._missing.setdefault(parent, []).append(at)
                    continue
                self.edge_from.append(p)
                self.edge_to.append(at)
                has_children[p] = 1
                if p > at:
                    later.append(at)
                deepest = max(deepest, level[p])
            level[at] = deepest + 1
        for at in later:  # a dependency listed after its dependent: settle the levels now
            self._relevel(at)

    def set_task(
        self,
        position: int,
        *,
        app: str,
        invoked: float,
        returned: float,
        fail_count: int,
        depends: tuple[int, ...],
    ) -> None:
        """The task row's columns (its first row, or a later update)."""
        code = self._app_code(app)
        old = self.app[position]
        self._drop_duration(position)
        if code != old:
            state = self.state[position]
            self.by_app_state[old][state] -= 1
            self.by_app_state[code][state] += 1
            self.app[position] = code
            self._move_app(position, old, code)
            if self._watchers:
                self._changed(position)
        self.invoked[position] = invoked
        self.returned[position] = returned
        self.fail_count[position] = fail_count
        self._take_duration(position, returned - invoked)
        if depends and not self.depends[position]:  # known at a task's first row; they never change
            self.depends[position] = depends
            self._link(position)

    def _move_app(self, position: int, old: int, new: int) -> None:
        """Move a position between two apps' position lists (a new task leaves "unknown", the list's end)."""
        before = self._app_positions[old]
        del before[bisect.bisect_left(before, position)]
        after = self._app_positions[new]
        if not after or after[-1] < position:
            after.append(position)
        else:
            after.insert(bisect.bisect_left(after, position), position)

    def positions_of_app(self, code: int) -> array[int]:
        """Positions of the app's tasks in order: a copy, so a reader outside the lock sees a fixed list."""
        return array("I", self._app_positions[code])

    def _link(self, position: int) -> None:
        """Add the edges from the task's dependencies, and its level; a dependency without a row waits for it."""
        for parent in self.depends[position]:
            at = self.position.get(parent)
            if at is None:
                self._missing.setdefault(parent, []).append(position)
            else:
                self.edge_from.append(at)
                self.edge_to.append(position)
                self.has_children[at] = 1
        self._relevel(position)

    def _relevel(self, position: int) -> None:
        """Set the task's level from its dependencies', and move its dependents' with it."""
        limit = len(self.task_id)  # a cycle (a hostile database) would raise levels without end
        stack = [position]
        while stack:
            at = stack.pop()
            parents = [self.level[p] for d in self.depends[at] if (p := self.position.get(d)) is not None]
            level = 1 + max(parents) if parents else 0
            if level != self.level[at] and level <= limit:
                self.level[at] = level
                if self._watchers:
                    self._changed(at)
                if self.has_children[at]:
                    stack.extend(self.dependents(at, limit))

    def _drop_duration(self, position: int) -> None:
        old = self.duration[position]
        if math.isnan(old):
            return
        self.durations.remove(old)
        stats = self.app_durations[self.app[position]]
        stats[0] -= 1
        stats[1] -= old
        if old >= stats[2]:
            stats[2] = math.nan  # the largest left: looked for when asked
        self.duration[position] = NO_TIME

    def _take_duration(self, position: int, seconds: float) -> None:
        if math.isnan(seconds):
            return
        self.duration[position] = seconds
        self.durations.add(seconds)
        stats = self.app_durations[self.app[position]]
        stats[0] += 1
        stats[1] += seconds
        if not math.isnan(stats[2]):
            stats[2] = max(stats[2], seconds)

    def longest(self, code: int) -> float | None:
        """The longest duration of an app's tasks (None when none has returned)."""
        stats = self.app_durations[code]
        if not stats[0]:
            return None
        if math.isnan(stats[2]):
            stats[2] = max(d for c, d in zip(self.app, self.duration, strict=True) if c == code and d == d)  # noqa: PLR0124
        return stats[2]

    def dependents(self, position: int, limit: int = 1000) -> list[int]:
        """Positions of tasks that depend on the task at ``position`` (at most ``limit``)."""
        out: list[int] = []
        if not self.has_children[position]:
            return out
        edge_from, at = self.edge_from, 0
        while len(out) < limit:
            try:
                at = edge_from.index(position, at)
            except ValueError:
                return out
            out.append(self.edge_to[at])
            at += 1
        return out

    def apply_status(self, position: int, state: str, newest_key: str) -> bool:
        """Take a status row if it is the task's newest; True when the task's state changed."""
        if newest_key <= self.newest[position]:
            return False
        self.newest[position] = newest_key
        code = self.state_code(state)
        old = self.state[position]
        if code == old:
            return False
        self.state[position] = code
        self.by_state[old] -= 1
        self.by_state[code] += 1
        counts = self.by_app_state[self.app[position]]
        counts[old] -= 1
        counts[code] += 1
        if self._watchers:
            self._changed(position)
        return True

    def app_and_host(self, task_id: int, try_id: int) -> tuple[int, str]:
        """A try's app code and host, for its resource samples ("unknown" for what has no row yet)."""
        position = self.position.get(task_id)
        if position is None:
            return self._app_code("unknown"), "unknown"
        if try_id == 0:
            host = self.hosts[self.host[position]] if self.has_try[position] else None
        else:
            retry = self.more_tries.get(position, {}).get(try_id)
            host = retry.host if retry is not None else None
        return self.app[position], host or "unknown"

    def first(self, position: int) -> TryTimes | None:
        """The task's first try (try 0), if it has a row."""
        if not self.has_try[position]:
            return None
        host = self.hosts[self.host[position]]
        return TryTimes(self.launched[position], self.running[position], self.ended[position], host)

    def set_try(self, position: int, try_id: int, times: TryTimes) -> TryTimes | None:
        """A try row's times; returns what the try held before (None for a new try)."""
        if try_id == 0:
            old = self.first(position)
            self.has_try[position] = 1
            self.launched[position], self.running[position], self.ended[position] = times[:3]
            self.host[position] = self.host_code(times.host)
        else:
            retries = self.more_tries.setdefault(position, {})
            old = retries.get(try_id)
            retries[try_id] = times
        if old is not None:
            self.host_tries[self.host_code(old.host)] -= 1
        self.host_tries[self.host_code(times.host)] += 1
        return old

    def tries(self, position: int) -> list[tuple[int, TryTimes]]:
        """The task's tries in order: ``(try_id, times)``."""
        first = self.first(position)
        out = [] if first is None else [(0, first)]
        retries = self.more_tries.get(position)
        if retries:
            out += sorted(retries.items())
        return out

    def all_tries(self) -> Iterator[tuple[int, int, TryTimes]]:
        """Every try of the run: ``(position, try_id, times)``."""
        first = self.first
        for position, present in enumerate(self.has_try):
            if present:
                yield position, 0, first(position)  # type: ignore[misc]
        for position, retries in self.more_tries.items():
            for try_id, times in retries.items():
                yield position, try_id, times

    @property
    def try_count(self) -> int:
        """Tries of the run."""
        return self.has_try.count(1) + sum(map(len, self.more_tries.values()))

    def positions_in_state(self, *codes: int) -> list[int]:
        """Positions of the tasks in any of the states ``codes``, in order.

        Found with ``bytearray.find`` (memchr) rather than a comparison per task: a live poll
        looks up the failed and dep_fail tasks of a big, mostly healthy run for little.
        """
        state, out = self.state, []
        for code in codes:
            at = state.find(code)
            while at != -1:
                out.append(at)
                at = state.find(code, at + 1)
        if len(codes) > 1:
            out.sort()
        return out

    def state_name(self, position: int) -> str:
        """The task's current state."""
        return self.states[self.state[position]]

    def failed(self, counts: list[int]) -> int:
        """Tasks of ``counts`` (by state code) that failed or whose dependencies failed."""
        return sum(counts[self._state_codes[name]] for name in FAILED_STATES)

    def finished(self, counts: list[int]) -> int:
        """Tasks of ``counts`` (by state code) in a final state."""
        return sum(counts[self._state_codes[name]] for name in FINAL_STATES)
