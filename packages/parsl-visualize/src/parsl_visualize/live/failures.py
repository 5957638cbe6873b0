"""A run's failed tries, grouped by what went wrong, kept up to date as try rows arrive.

A try row carries its failure (Parsl's ``task_fail_history``: the try's ``repr(exception)``).
Tries whose failures share a type and a message up to numbers and ids form one group, so
500 ``KeyError: 'sample_17'`` read as one line with a count. Failures Parsl records for a
task because another task failed are kept apart: a task that never ran because a
dependency failed (dep_fail), and a join app whose joined task failed (failed, with a
``JoinError``). The page names the failure at the root of their chain instead.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import itertools
import math
from typing import TYPE_CHECKING

from parsl_visualize.failure_text import parse_failure

if TYPE_CHECKING:
    from parsl_visualize.failure_text import FailureText
    from parsl_visualize.live.tasks import TaskStore

__all__ = (
    "FailureGroup",
    "FailureIndex",
    "FailureReport",
    "GroupCounts",
    "failure_report",
    "group_example",
    "newest_failure",
    "positions_of_group",
    "propagated_roots",
)

_EPOCH = datetime.datetime(1970, 1, 1)  # noqa: DTZ001 - times are naive, in the database's zone


@dataclasses.dataclass
class GroupCounts:
    """What one group of alike failures hit so far (kept exact as try rows are replaced).

    Attributes:
        propagated: whether the group's failures are Parsl's record of another task's failure.
        positions: failed tries per task position.
        hosts: failed tries per host ("" where the try had none).
    """

    propagated: bool
    positions: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)
    hosts: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)

    @property
    def tries(self) -> int:
        """Failed tries in the group."""
        return self.positions.total()


class FailureIndex:
    """Failed tries by (task position, try id), and their groups by :attr:`FailureText.group`."""

    def __init__(self) -> None:
        self.of_try: dict[tuple[int, int], tuple[FailureText, str, float]] = {}
        """Each failed try's failure, host and the time it ended (NaN: unknown)."""
        self.groups: dict[str, GroupCounts] = {}

    def record(self, position: int, try_id: int, text: str | None, host: str | None, ended: float) -> None:
        """A try row's failure (None or empty: the try has not failed), replacing what the try had."""
        key = (position, try_id)
        old = self.of_try.pop(key, None)
        if old is not None:
            self._forget(position, *old)
        if not text:
            return
        failure = parse_failure(text)
        where = host or ""
        self.of_try[key] = (failure, where, ended)
        counts = self.groups.get(failure.group)
        if counts is None:
            counts = self.groups[failure.group] = GroupCounts(failure.is_propagated)
        counts.positions[position] += 1
        counts.hosts[where] += 1

    def _forget(self, position: int, failure: FailureText, host: str, _ended: float) -> None:
        counts = self.groups[failure.group]
        counts.positions[position] -= 1
        counts.hosts[host] -= 1
        if counts.positions[position] <= 0:
            del counts.positions[position]
        if counts.hosts[host] <= 0:
            del counts.hosts[host]
        if not counts.positions:
            del self.groups[failure.group]

    def newest(self, position: int, try_ids: list[int]) -> FailureText | None:
        """The failure of the task's latest failed try among ``try_ids`` (None: no try failed)."""
        for try_id in reversed(try_ids):
            found = self.of_try.get((position, try_id))
            if found is not None:
                return found[0]
        return None


@dataclasses.dataclass(frozen=True)
class FailureGroup:
    """Failed tries alike in type and message (numbers and ids aside). Times are naive, in the database's zone.

    Attributes:
        group: its id, the task list's ``error`` filter.
        type, message, summary: of the first failure of the group that was read.
        pattern: the message's first line with numbers and ids folded to ``#``.
        tries, tasks: failed tries in the group, and the tasks they belong to.
        recovered: of those tasks, the ones that succeeded on a later try (Parsl's ``retries``).
        dependents: tasks failed by a task that failed this way: dep_fail tasks that did not run,
            and join apps that joined it (directly or through others).
        apps, hosts: where the failures happened.
        first, last: when the first and the latest of its tries ended.
    """

    group: str
    type: str
    message: str
    summary: str
    pattern: str
    tries: int
    tasks: int
    recovered: int
    dependents: int
    apps: list[str]
    hosts: list[str]
    first: datetime.datetime | None
    last: datetime.datetime | None


@dataclasses.dataclass(frozen=True)
class FailureReport:
    """Why a run's tasks failed.

    Attributes:
        groups: the largest groups, most tries first.
        more_groups: groups left out of ``groups``.
        failed_tries: tries that failed (propagated failures aside).
        dependency_failed: tasks that did not run because a dependency failed (dep_fail).
        join_failed: join apps that failed because a task they joined failed.
        unexplained: failed tasks with no failure recorded (yet) on any try.
    """

    groups: list[FailureGroup]
    more_groups: int
    failed_tries: int
    dependency_failed: int
    join_failed: int
    unexplained: int


def _time(seconds: float) -> datetime.datetime | None:
    return None if not math.isfinite(seconds) else _EPOCH + datetime.timedelta(seconds=seconds)


def newest_failure(tasks: TaskStore, position: int) -> FailureText | None:
    """The failure of the task's latest failed try (None: none of its tries failed)."""
    return tasks.failures.newest(position, [try_id for try_id, _times in tasks.tries(position)])


def propagated_roots(tasks: TaskStore) -> dict[int, int | None]:
    """Each task failed by another's failure (position) -> the failed task at the root of its chain.

    Those tasks are the dep_fail ones and the failed join apps (their failure a ``JoinError``);
    None: no root was found (not in the run, or not recorded yet).
    """
    failed, dep_fail = tasks.state_code("failed"), tasks.state_code("dep_fail")
    # Only tasks with a propagated failure on some try can be join apps failed this way: the
    # groups hold them, so a run's many failed tasks are not each looked at.
    joined = sorted({p for counts in tasks.failures.groups.values() if counts.propagated for p in counts.positions})
    causes = {}
    for position in joined:
        failure = newest_failure(tasks, position) if tasks.state[position] == failed else None
        if failure is not None and failure.is_propagated:
            causes[position] = failure.causes
    roots: dict[int, int | None] = {}
    for position in itertools.chain(tasks.positions_in_state(dep_fail), causes):
        roots[position] = _root_of(tasks, position, roots, causes, (failed, dep_fail))
    return roots


def _root_of(
    tasks: TaskStore,
    position: int,
    known: dict[int, int | None],
    causes: dict[int, tuple[int, ...]],
    codes: tuple[int, int],
) -> int | None:
    """The first task up the chain that failed by itself (depth first, in Parsl's order).

    Up from a dep_fail task are its dependencies; up from a failed join app, the joined
    tasks its failure names (``causes``). A task failed by itself is neither.
    """
    failed, dep_fail = codes
    seen = {position}
    stack = [position]
    while stack:
        at = stack.pop()
        if at != position:
            if at in known:
                if known[at] is not None:
                    return known[at]
                continue
            if tasks.state[at] != dep_fail and at not in causes:
                if tasks.state[at] == failed:
                    return at
                continue
        parents = tasks.depends[at] if tasks.state[at] == dep_fail else causes.get(at, ())
        for parent_id in reversed(parents):  # reversed: the first one is popped first
            parent = tasks.position.get(parent_id)
            if parent is not None and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return None


@dataclasses.dataclass
class _Span:
    """When a group's tries ended, and the failure shown for it: its earliest task's (by id, then try)."""

    first: float = math.inf
    last: float = -math.inf
    example_key: tuple[int, int] = (2**63, 0)
    example: FailureText | None = None


def _spans(tasks: TaskStore) -> dict[str, _Span]:
    """Per group: first and last end time, and its example; one pass over the failed tries."""
    spans: collections.defaultdict[str, _Span] = collections.defaultdict(_Span)
    for (position, try_id), (failure, _host, ended) in tasks.failures.of_try.items():
        span = spans[failure.group]
        if not math.isnan(ended):
            span.first = min(span.first, ended)
            span.last = max(span.last, ended)
        key = (tasks.task_id[position], try_id)
        if key < span.example_key:
            span.example_key, span.example = key, failure
    return spans


def group_example(tasks: TaskStore, group: str) -> FailureText | None:
    """The failure a group is shown by (None: no such group)."""
    return _spans(tasks)[group].example if group in tasks.failures.groups else None


def failure_report(tasks: TaskStore, roots: dict[int, int | None], limit: int) -> FailureReport:
    """The run's failures grouped, largest first (at most ``limit`` groups)."""
    index = tasks.failures
    dependents: collections.Counter[str] = collections.Counter()
    for root in roots.values():
        failure = None if root is None else newest_failure(tasks, root)
        if failure is not None:
            dependents[failure.group] += 1
    spans = _spans(tasks)
    own = [(group, counts, spans[group]) for group, counts in index.groups.items() if not counts.propagated]
    own.sort(key=lambda item: (-item[1].tries, item[2].example_key))
    groups = []
    done = tasks.state_code("exec_done")
    for group, counts, span in own[:limit]:
        example = span.example
        assert example is not None  # noqa: S101 - every group has a try
        groups.append(
            FailureGroup(
                group=group,
                type=example.type,
                message=example.message,
                summary=example.summary,
                pattern=example.pattern,
                tries=counts.tries,
                tasks=len(counts.positions),
                recovered=sum(1 for p in counts.positions if tasks.state[p] == done),
                dependents=dependents[group],
                apps=sorted({tasks.apps[tasks.app[p]] for p in counts.positions}),
                hosts=sorted(host for host in counts.hosts if host),
                first=_time(span.first),
                last=_time(span.last),
            )
        )
    failed = tasks.state_code("failed")
    unexplained = sum(1 for position in tasks.positions_in_state(failed) if newest_failure(tasks, position) is None)
    dependency_failed = len(tasks.positions_in_state(tasks.state_code("dep_fail")))
    return FailureReport(
        groups=groups,
        more_groups=max(0, len(own) - limit),
        failed_tries=sum(counts.tries for _group, counts, _span in own),
        dependency_failed=dependency_failed,
        join_failed=len(roots) - dependency_failed,
        unexplained=unexplained,
    )


def positions_of_group(tasks: TaskStore, roots: dict[int, int | None], group: str) -> set[int]:
    """Tasks with a try in the group, and tasks failed by another whose root failure is in it."""
    counts = tasks.failures.groups.get(group)
    chosen = set() if counts is None else set(counts.positions)
    for position, root in roots.items():
        if root is not None and (failure := newest_failure(tasks, root)) is not None and failure.group == group:
            chosen.add(position)
    return chosen
