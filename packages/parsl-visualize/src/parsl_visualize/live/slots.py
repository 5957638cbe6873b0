"""Values over time in fixed slots that coarsen as a run grows: the charts' time axis, kept up to date.

A chart of a running workflow redrawn every few seconds cannot re-bucket every row of
the run each time. Each series here is an array of :data:`SLOTS` sums; a value is added
to the slot its time falls in. When a time falls past the last slot, every slot is
merged with its neighbour and the slot width doubles, so sums stay exact at the new
width. A chart takes whole slots per bucket, so its buckets are exact sums too.
"""

from __future__ import annotations

import dataclasses
import math
from array import array
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ("FIRST_WIDTH", "SLOTS", "SlotSeries", "TimeAxis")

SLOTS = 4096
FIRST_WIDTH = 0.001
"""Seconds per slot at the start: a run of a few seconds still gets fine buckets."""


@dataclasses.dataclass(frozen=True)
class TimeAxis:
    """Buckets of equal width from the start of the run: what a chart's x axis shows."""

    start: float
    width: float
    count: int
    slots_per_bucket: int

    def offsets(self) -> list[float]:
        """Each bucket's start, in seconds since the run began."""
        return [round(i * self.width, 3) for i in range(self.count)]


class SlotSeries:
    """Named series of per-slot sums over one time axis starting at ``origin`` (seconds)."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.width = FIRST_WIDTH
        self.used = 0
        """Slots up to the latest time seen."""
        self._series: dict[str, array[float]] = {}

    def add(self, key: str, at: float, value: float) -> None:
        """Add ``value`` to series ``key`` in the slot of time ``at`` (before the origin: the first slot)."""
        slot = int((at - self.origin) / self.width) if at > self.origin else 0
        while slot >= SLOTS:
            self._coarsen()
            slot = int((at - self.origin) / self.width)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = array("d", bytes(8 * SLOTS))
        series[slot] += value
        if slot >= self.used:
            self.used = slot + 1

    def add_intervals(self, key: str, intervals: Iterable[tuple[float, float]]) -> None:
        """+1 at each interval's start and -1 at its end (NaN: still open), all within the axis reached.

        A build's fast path: the caller has reached the latest time first, so no slot moves.
        """
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = array("d", bytes(8 * SLOTS))
        origin, width, last = self.origin, self.width, SLOTS - 1
        for start, end in intervals:
            series[min(last, int((start - origin) / width)) if start > origin else 0] += 1.0
            if end == end:  # noqa: PLR0124 - not NaN
                series[min(last, int((end - origin) / width)) if end > origin else 0] -= 1.0

    def add_values(self, key: str, points: list[tuple[float, float]]) -> None:
        """Add each ``(time, value)`` to series ``key`` (the axis first reaches the latest time)."""
        if not points:
            return
        self.reach(max(points)[0])
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = array("d", bytes(8 * SLOTS))
        origin, per_second = self.origin, 1.0 / self.width
        for at, value in points:
            series[int((at - origin) * per_second) if at > origin else 0] += value

    def reach(self, at: float) -> None:
        """Make the axis reach time ``at`` (the run's end, or now) without adding anything."""
        slot = int((at - self.origin) / self.width) if at > self.origin else 0
        while slot >= SLOTS:
            self._coarsen()
            slot = int((at - self.origin) / self.width)
        self.used = max(self.used, slot + 1)

    def _coarsen(self) -> None:
        for series in self._series.values():
            for i in range(SLOTS // 2):
                series[i] = series[2 * i] + series[2 * i + 1]
            for i in range(SLOTS // 2, SLOTS):
                series[i] = 0.0
        self.width *= 2
        self.used = (self.used + 1) // 2

    def names(self) -> Iterable[str]:
        """The series that received a value."""
        return self._series.keys()

    def axis(self, buckets: int, min_width: float = 0.0) -> TimeAxis:
        """At most ``buckets`` buckets of whole slots, each at least ``min_width`` seconds wide."""
        per = max(1, math.ceil(self.used / buckets), math.ceil(min_width / self.width - 1e-9))
        count = max(1, math.ceil(self.used / per))
        return TimeAxis(self.origin, per * self.width, count, per)

    def sums(self, key: str, axis: TimeAxis) -> list[float]:
        """Series ``key`` summed per bucket of ``axis`` (zeros when it has no value)."""
        series = self._series.get(key)
        per = axis.slots_per_bucket
        if series is None:
            return [0.0] * axis.count
        return [sum(series[i * per : (i + 1) * per]) for i in range(axis.count)]

    def running_totals(self, key: str, axis: TimeAxis) -> list[float]:
        """Series ``key`` as +1/-1 changes, added up: how many were open in each bucket."""
        total = 0.0
        out = []
        for change in self.sums(key, axis):
            total += change
            out.append(round(total, 9))
        return out
