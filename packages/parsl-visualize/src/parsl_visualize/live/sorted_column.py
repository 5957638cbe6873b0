"""Tasks in the order of one of their times (a phase, the duration), kept as rows arrive, for the sorted task list.

Sorting a live run's tasks by run time afresh on every poll cost a key call per task,
more than the rest of the poll. Here the order is built when the list is first sorted by
the column (a :class:`SortedPairs`, 16 bytes a task), then a poll moves only the tasks
whose rows changed since (the model marks them ``stale``) and reads the first page from
one end.

Unknown values (NaN: a task that has not run yet) are left out of the order; the list
shows those tasks after the known ones, whichever the direction.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from parsl_visualize.live.sorted_pairs import SortedPairs

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("SortedColumn",)


class SortedColumn:
    """Positions of the tasks with a known value in ``values``, by (value, task id)."""

    def __init__(self, values: array[float], task_ids: array[int], position: dict[int, int]) -> None:
        self.values = values
        """The column followed (one value per task position, NaN when unknown)."""
        self._ids = task_ids
        self._position = position
        self._held = values[:]
        """Per position, the value it has in the order (NaN: not in it)."""
        self.stale: set[int] = set()
        """Positions whose value may have changed since the last :meth:`sync`; the model adds to it."""
        known = [p for p, v in enumerate(values) if v == v]  # noqa: PLR0124 - not NaN
        known.sort(key=task_ids.__getitem__)
        known.sort(key=values.__getitem__)  # stable: ties stay in id order
        self._order = SortedPairs(
            array("d", map(values.__getitem__, known)), array("q", map(task_ids.__getitem__, known))
        )

    def _cover(self) -> None:
        """Take in the positions added to the column since."""
        start, end = len(self._held), len(self.values)
        if start >= end:
            return
        new = self.values[start:end]
        self._held.extend(new)
        for p, v in zip(range(start, end), new, strict=True):
            if v == v:  # noqa: PLR0124 - not NaN
                self._order.add(v, self._ids[p])

    def sync(self) -> None:
        """Move the stale positions to their values' places; add the new ones."""
        held, values, ids, order = self._held, self.values, self._ids, self._order
        for p in self.stale:
            if p >= len(held):
                continue  # new: taken by _cover
            old, new = held[p], values[p]
            if old == new or (old != old and new != new):  # noqa: PLR0124 - both NaN
                continue
            if old == old:  # noqa: PLR0124 - not NaN
                order.remove(old, ids[p])
            if new == new:  # noqa: PLR0124 - not NaN
                order.add(new, ids[p])
            held[p] = new
        self.stale.clear()
        self._cover()

    def known(self, *, descending: bool) -> Iterator[int]:
        """Positions with a known value, smallest first (largest first when ``descending``); ties by task id."""
        position = self._position
        for task_id in self._order.ids(descending=descending):
            yield position[task_id]
