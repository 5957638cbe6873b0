"""The grouped DAG's counts, kept up to date as tasks arrive and change, so a live poll costs what changed.

A group is a (band of levels, app or state) pair; the chart draws one node per group and
one edge per pair of groups that a dependency joins. Counting them afresh costs a pass
over every task and edge (about half a second at a million tasks), which a live DAG page
paid on every poll. Here each task's group is remembered, and a poll counts the new tasks
and edges and moves only the tasks whose app, state or level changed, with their edges:
a task's parents come from its dependencies, its children from an index of the edges,
built with the counts for a live run (its first poll would otherwise pay for it: half a
second at a million tasks) and at the first such move otherwise (an ended run never needs it).

A DAG deeper than ``max_levels`` is drawn in bands of a power-of-two number of levels, so
the band size only doubles as a run grows deeper, and a doubling merges the counted
groups without reading the tasks' edges again.
"""

from __future__ import annotations

import bisect
import collections
from array import array
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from parsl_visualize.live.tasks import TaskStore

__all__ = ("DagCounts", "band_size")

KEYS = 1 << 16
"""A group's code is ``band * KEYS + key``; app and state codes are below 2**16 (the store's columns)."""


def band_size(deepest: int, max_levels: int) -> int:
    """Levels per band: the smallest power of two that draws levels 0..``deepest`` in at most ``max_levels`` rows."""
    size = 1
    while (deepest + size) // size > max_levels:
        size *= 2
    return size


class _Children:
    """Each task's outgoing edges without scanning every edge: sorted by parent once, then a dict for later ones."""

    def __init__(self, ends: array[int], count: int) -> None:
        order = sorted(range(count), key=ends.__getitem__)
        self._edges = array("q", order)
        self._ends = array("q", map(ends.__getitem__, order))
        self._later: dict[int, list[int]] = {}

    def add(self, position: int, edge: int) -> None:
        self._later.setdefault(position, []).append(edge)

    def of(self, position: int) -> list[int]:
        start = bisect.bisect_left(self._ends, position)
        found = self._edges[start : bisect.bisect_right(self._ends, position, start)].tolist()
        return found + self._later.get(position, [])


class DagCounts:
    """Tasks per group and dependencies per pair of groups, for one colouring, following one :class:`TaskStore`."""

    def __init__(
        self, tasks: TaskStore, color_by: Literal["apps", "states"], max_levels: int, *, live: bool = False
    ) -> None:
        self.tasks = tasks
        self._keys: array[int] | bytearray = tasks.app if color_by == "apps" else tasks.state
        self._max_levels = max_levels
        self._changed = tasks.watch()  # positions whose app, state or level changed since the last sync
        self._deepest = max(tasks.level, default=0)
        self.band = band_size(self._deepest, max_levels)
        bands = tasks.level if self.band == 1 else map(self.band.__rfloordiv__, tasks.level)
        self._group = array("q", map(int.__add__, map(KEYS.__mul__, bands), self._keys))
        group = self._group
        self.members: collections.Counter[int] = collections.Counter(group)
        self.edges: collections.Counter[tuple[int, int]] = collections.Counter(
            zip(map(group.__getitem__, tasks.edge_from), map(group.__getitem__, tasks.edge_to), strict=True)
        )
        self._counted_edges = len(tasks.edge_from)
        self._children = _Children(tasks.edge_from, self._counted_edges) if live else None
        self._changed.clear()

    def sync(self) -> None:
        """Take in the tasks and edges added, and the tasks changed, since the last sync.

        New edges are counted before changed tasks move, so that a move finds every edge
        at its task already counted (under the groups the task had until then).
        """
        tasks, group = self.tasks, self._group
        known = len(group)
        for position in range(known, len(tasks)):
            code = self._code(position)
            group.append(code)
            self.members[code] += 1
        edge_from, edge_to = tasks.edge_from, tasks.edge_to
        for edge in range(self._counted_edges, len(edge_from)):
            parent, child = edge_from[edge], edge_to[edge]
            self.edges[group[parent], group[child]] += 1
            if self._children is not None:
                self._children.add(parent, edge)
        self._counted_edges = len(edge_from)
        for position in self._changed:
            if position < known:
                self._move(position, self._code(position))
        self._changed.clear()
        wanted = band_size(self._deepest, self._max_levels)
        if wanted != self.band:
            self._widen(wanted)

    def _code(self, position: int) -> int:
        level = self.tasks.level[position]
        self._deepest = max(self._deepest, level)
        return (level // self.band) * KEYS + self._keys[position]

    def _move(self, position: int, code: int) -> None:
        """Count the task, and its edges, in group ``code`` instead of the one it was counted in."""
        group, members, edges, tasks = self._group, self.members, self.edges, self.tasks
        old = group[position]
        if code == old:
            return
        _take(members, old)
        members[code] += 1
        # The store links one edge per dependency named, once its task has a row (a self-loop
        # of a hostile database is left to the children's side).
        parents = [q for d in tasks.depends[position] if (q := tasks.position.get(d)) is not None and q != position]
        children: list[int] = []
        if tasks.has_children[position]:
            if self._children is None:
                self._children = _Children(tasks.edge_from, self._counted_edges)
            children = [tasks.edge_to[edge] for edge in self._children.of(position)]
        for parent in parents:
            _take(edges, (group[parent], old))
        for child in children:
            _take(edges, (old, group[child]))
        group[position] = code
        for parent in parents:
            edges[group[parent], code] += 1
        for child in children:
            edges[code, group[child]] += 1

    def _widen(self, band: int) -> None:
        """Bands of ``band`` levels (a multiple of the current size): counted groups merge, no edge is read."""
        factor = band // self.band

        def wider(code: int) -> int:
            return code // KEYS // factor * KEYS + code % KEYS

        self._group = array("q", map(wider, self._group))
        members: collections.Counter[int] = collections.Counter()
        for code, n in self.members.items():
            members[wider(code)] += n
        edges: collections.Counter[tuple[int, int]] = collections.Counter()
        for (a, b), n in self.edges.items():
            edges[wider(a), wider(b)] += n
        self.members, self.edges, self.band = members, edges, band

    def groups(
        self, names: list[str]
    ) -> tuple[dict[tuple[int, str], int], dict[tuple[tuple[int, str], tuple[int, str]], int]]:
        """Tasks per (first level of the band, name), and dependencies between groups of different bands."""

        def named(code: int) -> tuple[int, str]:
            return code // KEYS * self.band, names[code % KEYS]

        members = {named(code): n for code, n in self.members.items()}
        edges = {(named(a), named(b)): n for (a, b), n in self.edges.items() if a // KEYS != b // KEYS}
        return members, edges


def _take(counter: collections.Counter[Any], key: object) -> None:
    """One fewer of ``key``; gone at zero, so counts built afresh and followed ones compare equal."""
    left = counter[key] - 1
    if left > 0:
        counter[key] = left
    else:
        del counter[key]
