"""Results of expensive per-run queries, kept until the run changes.

A finished run never changes, so its summary, timeline and graph are computed once.
A running run's entries are recomputed after its change token moves (new statuses,
tasks, resource samples or its end).
"""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

__all__ = ("RunCache",)

T = TypeVar("T")


class RunCache:
    """A small LRU map from (what, run, token, args) to a computed value."""

    def __init__(self, size: int = 128) -> None:
        self._size = size
        self._values: collections.OrderedDict[Hashable, object] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value for ``key``, computing it on a miss."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value
