"""(value, task id) pairs kept in order, 16 bytes each, for the task list sorted by a time.

A ``SortedList`` of ``(float, int)`` tuples costs about 130 bytes a pair (the tuple, a float
and an int object, a pointer): 130 MB per sorted column at a million tasks, which put a
1M-task dashboard over its memory bar. Here the pairs live in blocks of two parallel
arrays (a float and a 64-bit id per pair), found by bisecting each block's last pair, as
``sortedcontainers`` does with its lists: adding or removing a pair moves at most a block.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("SortedPairs",)


class SortedPairs:
    """Pairs of (float value, int id) ordered by value, then id; no NaN values, ids fit in 64 bits."""

    def __init__(self, values: array[float] | None = None, ids: array[int] | None = None, load: int = 1000) -> None:
        """Pairs from two parallel arrays already in order (none by default); ``load``: a block's usual size."""
        values, ids = values or array("d"), ids or array("q")
        self._load = load
        self._values = [values[start : start + load] for start in range(0, len(values), load)]
        self._ids = [ids[start : start + load] for start in range(0, len(ids), load)]
        self._last = [(block[-1], block_ids[-1]) for block, block_ids in zip(self._values, self._ids, strict=True)]
        """Each block's last pair, for finding a pair's block."""
        self._length = len(values)

    def __len__(self) -> int:
        return self._length

    def _find(self, values: array[float], ids: array[int], value: float, task_id: int) -> int:
        """Where (value, task_id) is or would go in one block."""
        low, high = bisect_left(values, value), bisect_right(values, value)
        return bisect_left(ids, task_id, low, high)

    def add(self, value: float, task_id: int) -> None:
        """Put a pair in its place."""
        last = self._last
        if not last:
            self._values.append(array("d", [value]))
            self._ids.append(array("q", [task_id]))
            last.append((value, task_id))
            self._length = 1
            return
        pair = (value, task_id)
        block = bisect_left(last, pair)
        if block == len(last):
            block -= 1
        values, ids = self._values[block], self._ids[block]
        at = self._find(values, ids, value, task_id)
        values.insert(at, value)
        ids.insert(at, task_id)
        if at == len(values) - 1:
            last[block] = pair
        self._length += 1
        if len(values) > 2 * self._load:  # split: blocks stay small, so an insert moves little
            half = len(values) // 2
            self._values[block : block + 1] = [values[:half], values[half:]]
            self._ids[block : block + 1] = [ids[:half], ids[half:]]
            last[block : block + 1] = [(values[half - 1], ids[half - 1]), (values[-1], ids[-1])]

    def remove(self, value: float, task_id: int) -> None:
        """Take a pair out; ValueError when it is not held."""
        block = bisect_left(self._last, (value, task_id))
        if block < len(self._last):
            values, ids = self._values[block], self._ids[block]
            at = self._find(values, ids, value, task_id)
            if at < len(values) and values[at] == value and ids[at] == task_id:
                del values[at]
                del ids[at]
                self._length -= 1
                if values:
                    self._last[block] = (values[-1], ids[-1])
                else:
                    del self._values[block], self._ids[block], self._last[block]
                return
        raise ValueError(f"({value}, {task_id}) is not held")

    def ids(self, *, descending: bool = False) -> Iterator[int]:
        """The ids in pair order, or in reverse."""
        if descending:
            for ids in reversed(self._ids):
                yield from reversed(ids)
        else:
            for ids in self._ids:
                yield from ids
