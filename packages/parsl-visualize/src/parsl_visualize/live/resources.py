"""A run's resource usage, kept up to date from the resource samples and node samples added since last time.

Everything the resource page draws is a sum that a new sample only adds to:

- CPU: each sample adds the growth of its try's CPU time since the try's previous sample
  to its time slot; a bucket's sum over its width is cores busy. (Parsl samples the
  long-lived worker process, whose CPU time includes the tasks before: a try's first
  sample adds nothing.)
- Memory: each sample adds its resident memory times its sampling interval, so a bucket's
  sum over its width is the mean memory resident over the bucket.
- Per try: its peak memory and CPU time fall in logarithmic bins (four per doubling), so
  a histogram is a count per bin, moved when a try's peak grows.
- Per app: CPU seconds used, seconds sampled, and mean/peak memory, summed over tries.
- Node agent samples: CPU percent and memory in use per node, averaged per bucket.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
from array import array
from typing import TYPE_CHECKING, Any

from parsl_visualize.live.log_bins import bin_edges, bin_of, shown_bins
from parsl_visualize.live.slots import SlotSeries

if TYPE_CHECKING:
    from collections.abc import Iterable

    from parsl_visualize.live.slots import TimeAxis
    from parsl_visualize.live.tasks import TaskStore

__all__ = ("MAX_HOSTS", "AppUsage", "NodeUsage", "ResourceUsage", "UsageOverTime", "UsageShown")

MAX_HOSTS = 24
POINTS_HELD = 50_000
"""Samples whose points a build collects before putting them on the time slots."""


@dataclasses.dataclass(frozen=True)
class UsageOverTime:
    """Per bucket: cores busy and mean resident memory (bytes), in total and per host (the busiest)."""

    cpu: list[float]
    memory: list[float]
    host_cpu: dict[str, list[float]]
    host_memory: dict[str, list[float]]


@dataclasses.dataclass(frozen=True)
class AppUsage:
    """Per app: tries per bin of peak memory and of CPU time, and efficiencies.

    Attributes:
        memory_bins, cpu_bins: the bins shown, as (low, high) values (bytes, seconds).
        memory_counts, cpu_counts: per app, tries per shown bin.
        cpu_efficiency: per app, CPU seconds used / seconds between first and last sample.
        memory_efficiency: per app, mean over tries of mean resident / peak resident.
    """

    memory_bins: list[tuple[float, float]]
    cpu_bins: list[tuple[float, float]]
    memory_counts: dict[str, list[int]]
    cpu_counts: dict[str, list[int]]
    cpu_efficiency: dict[str, float | None]
    memory_efficiency: dict[str, float | None]


@dataclasses.dataclass(frozen=True)
class NodeUsage:
    """Per node, mean CPU percent and memory in use per bucket, from node agent samples (None: no sample)."""

    cpu_percent: dict[str, list[float | None]]
    memory_used: dict[str, list[float | None]]


_TRY_BITS = 32


def _try_key(task_id: int, try_id: int) -> int | tuple[int, int]:
    """One int per try (a tuple of two costs about 100 bytes more); a tuple for a try id no int key holds."""
    return (task_id << _TRY_BITS) | try_id if 0 <= try_id < 1 << _TRY_BITS else (task_id, try_id)


@dataclasses.dataclass(frozen=True)
class UsageShown:
    """What the resource page draws: usage over time on ``axis``, per app, and per node (None: no node agent)."""

    axis: TimeAxis
    over_time: UsageOverTime
    apps: AppUsage
    nodes: NodeUsage | None


class _Tries:
    """What the samples of each try add up to so far, one column per figure.

    Columns rather than an object per try: a million tries cost about 60 MB here instead
    of about 400 MB (an object, its dict entry, its tuple key and six float objects each).
    """

    def __init__(self) -> None:
        self.row: dict[int | tuple[int, int], int] = {}
        self.app = array("l")
        self.first = array("d")
        self.last = array("d")
        self.last_cpu = array("d")
        self.cpu = array("d")
        self.peak = array("d")
        self.sum = array("d")
        self.samples = array("q")

    def add(self, key: int | tuple[int, int], app: int, at: float, cpu: float) -> int:
        """A new try whose first sample is at ``at`` with CPU time ``cpu``; its row."""
        row = self.row[key] = len(self.app)
        self.app.append(app)
        self.first.append(at)
        self.last.append(at)
        self.last_cpu.append(cpu)
        for column in (self.cpu, self.peak, self.sum):
            column.append(0.0)
        self.samples.append(0)
        return row


class ResourceUsage:
    """The resource page of one run, updated sample by sample."""

    def __init__(self, origin: float) -> None:
        self.slots = SlotSeries(origin)
        self.interval = 0.0
        """The longest sampling interval seen: buckets are never narrower."""
        self.samples = 0
        self.node_samples = 0
        self._tries = _Tries()
        self._memory_bins: dict[int, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        self._cpu_bins: dict[int, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        self._app_cpu: dict[int, float] = collections.defaultdict(float)
        self._app_span: dict[int, float] = collections.defaultdict(float)
        self._app_held: dict[int, float] = collections.defaultdict(float)
        self._app_tries: dict[int, int] = collections.defaultdict(int)
        self._hosts: set[str] = set()
        self._nodes: set[str] = set()
        self._max_try = 0

    def _forget(self, row: int) -> None:
        tries = self._tries
        app, peak, cpu = tries.app[row], tries.peak[row], tries.cpu[row]
        self._memory_bins[app][bin_of(peak)] -= 1
        self._cpu_bins[app][bin_of(cpu)] -= 1
        self._app_cpu[app] -= cpu
        self._app_span[app] -= tries.last[row] - tries.first[row]
        self._app_held[app] -= tries.sum[row] / tries.samples[row] / peak if peak else 0.0

    def _count(self, row: int) -> None:
        tries = self._tries
        app, peak, cpu = tries.app[row], tries.peak[row], tries.cpu[row]
        self._memory_bins[app][bin_of(peak)] += 1
        self._cpu_bins[app][bin_of(cpu)] += 1
        self._app_cpu[app] += cpu
        self._app_span[app] += tries.last[row] - tries.first[row]
        self._app_held[app] += tries.sum[row] / tries.samples[row] / peak if peak else 0.0

    def load_samples(self, tasks: TaskStore, rows: Iterable[tuple[Any, ...]]) -> None:
        """All of a run's resource rows, grouped by try in time order (a build's fast path).

        The points go onto the time slots every :data:`POINTS_HELD` points, so a run of
        millions of samples never holds them all in memory at once.
        """
        cpu_points: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        memory_points: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        interval_seen = self.interval
        held = 0
        tries = self._tries
        for (task_id, try_id), samples in itertools.groupby(rows, key=_task_and_try):
            app, host = tasks.app_and_host(task_id, try_id)
            summed = _sum_try(samples, cpu_points[f"cpu@{host}"], memory_points[f"memory@{host}"])
            if summed is None:
                continue
            first, last, previous_cpu, cpu_used, peak, held_sum, count, interval = summed
            interval_seen = max(interval_seen, interval)
            key = _try_key(task_id, try_id)
            row = tries.row.get(key)
            if row is not None:  # cannot happen in one read of a run; kept exact anyway
                self._forget(row)
                self._app_tries[tries.app[row]] -= 1
                tries.app[row], tries.first[row], tries.last_cpu[row] = app, first, previous_cpu
            else:
                row = tries.add(key, app, first, previous_cpu)
            tries.last[row], tries.cpu[row], tries.peak[row] = last, cpu_used, peak
            tries.sum[row], tries.samples[row] = held_sum, count
            self._max_try = max(self._max_try, try_id)
            self._app_tries[app] += 1
            self._count(row)
            self._hosts.add(host)
            self.samples += count
            held += count
            if held >= POINTS_HELD:
                self._put_on_slots(cpu_points, memory_points)
                held = 0
        self.interval = float(interval_seen)
        self._put_on_slots(cpu_points, memory_points)

    def _put_on_slots(self, *collected: dict[str, list[tuple[float, float]]]) -> None:
        for host_points in collected:
            for name, points in host_points.items():
                self.slots.add_values(name, points)
            host_points.clear()

    def add_samples(self, tasks: TaskStore, rows: Iterable[tuple[Any, ...]]) -> None:
        """Resource rows ``(task_id, try_id, at, interval, cpu_time, resident)``, in time order per try."""
        add = self.slots.add_values
        cpu_points: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        memory_points: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        tries = self._tries
        for task_id, try_id, at, interval, cpu_time, resident in rows:
            if at is None:
                continue
            key = _try_key(task_id, try_id)
            app, host = tasks.app_and_host(task_id, try_id)
            cpu_now = cpu_time or 0.0
            rss = resident or 0.0
            row = tries.row.get(key)
            if row is None:
                row = tries.add(key, app, at, cpu_now)
                self._max_try = max(self._max_try, try_id)
                self._app_tries[app] += 1
            else:
                self._forget(row)
            if at >= tries.last[row]:
                grown = max(0.0, cpu_now - tries.last_cpu[row])
                tries.cpu[row] += grown
                tries.last[row], tries.last_cpu[row] = at, cpu_now
                if grown:
                    cpu_points[f"cpu@{host}"].append((at, grown))
            tries.first[row] = min(tries.first[row], at)
            tries.peak[row] = max(tries.peak[row], rss)
            tries.sum[row] += rss
            tries.samples[row] += 1
            self._count(row)
            if interval and interval > 0:
                self.interval = max(self.interval, float(interval))
                memory_points[f"memory@{host}"].append((at, rss * interval))
            self._hosts.add(host)
            self.samples += 1
        for points in (cpu_points, memory_points):
            for name, values in points.items():
                add(name, values)

    def move_app(self, task_id: int, old: int, new: int) -> None:
        """A task's app became known after its samples arrived: count its tries under the new app."""
        tries = self._tries
        for try_id in range(self._max_try + 1):
            row = tries.row.get(_try_key(task_id, try_id))
            if row is not None and tries.app[row] == old:
                self._forget(row)
                self._app_tries[old] -= 1
                tries.app[row] = new
                self._app_tries[new] += 1
                self._count(row)

    def add_node_samples(self, rows: list[tuple[Any, ...]]) -> None:
        """Node agent rows ``(hostname, at, cpu_percent, memory_used)``."""
        points: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        for host, at, percent, used in rows:
            if at is None:
                continue
            self._nodes.add(host)
            if percent is not None:
                points[f"node_cpu@{host}"].append((at, percent))
                points[f"node_cpu#@{host}"].append((at, 1.0))
            if used is not None:
                points[f"node_memory@{host}"].append((at, used))
                points[f"node_memory#@{host}"].append((at, 1.0))
            self.node_samples += 1
        for name, values in points.items():
            self.slots.add_values(name, values)

    def axis(self, end: float | None) -> TimeAxis:
        """Buckets up to ``end``, never narrower than the sampling interval."""
        if end is not None:
            self.slots.reach(end)
        return self.slots.axis(240, self.interval)

    def over_time(self, axis: TimeAxis) -> UsageOverTime:
        """Cores busy and mean resident memory per bucket, in total and for the busiest hosts."""
        slots, width = self.slots, axis.width

        def rate(key: str) -> list[float]:
            return [value / width for value in slots.sums(key, axis)]

        host_cpu = {host: rate(f"cpu@{host}") for host in self._hosts}
        host_memory = {host: rate(f"memory@{host}") for host in self._hosts}
        busiest = sorted(sorted(host_cpu, key=lambda host: -sum(host_cpu[host]))[:MAX_HOSTS])
        return UsageOverTime(
            cpu=[sum(values) for values in zip(*host_cpu.values(), strict=True)] or [0.0] * axis.count,
            memory=[sum(values) for values in zip(*host_memory.values(), strict=True)] or [0.0] * axis.count,
            host_cpu={host: host_cpu[host] for host in busiest},
            host_memory={host: host_memory[host] for host in busiest},
        )

    def nodes(self, axis: TimeAxis) -> NodeUsage | None:
        """Node agent samples per node and bucket; None when the run has none."""
        if not self._nodes:
            return None

        def mean(key: str) -> list[float | None]:
            sums = self.slots.sums(key.replace("#", ""), axis)
            return [total / n if n else None for total, n in zip(sums, self.slots.sums(key, axis), strict=True)]

        cpu = {host: mean(f"node_cpu#@{host}") for host in self._nodes}
        busiest = sorted(sorted(cpu, key=lambda host: -sum(v or 0.0 for v in cpu[host]))[:MAX_HOSTS])
        return NodeUsage({h: cpu[h] for h in busiest}, {h: mean(f"node_memory#@{h}") for h in busiest})

    def shown(self, end: float | None, apps: list[str]) -> UsageShown | None:
        """What the resource page draws, up to ``end``; None before the first sample."""
        if not self.samples and not self.node_samples:
            return None
        axis = self.axis(end)
        return UsageShown(axis, self.over_time(axis), self.per_app(apps), self.nodes(axis))

    def per_app(self, apps: list[str]) -> AppUsage:
        """Histograms and efficiencies per app (``apps``: the run's app names by code)."""
        used = [code for code, n in self._app_tries.items() if n]

        def histogram(
            bins: dict[int, collections.Counter[int]],
        ) -> tuple[list[tuple[float, float]], dict[str, list[int]]]:
            shown = shown_bins(index for code in used for index, n in bins[code].items() if n)
            if not shown:
                return [], {}
            counts = {apps[code]: [bins[code][index] for index in shown] for code in sorted(used, key=apps.__getitem__)}
            return [bin_edges(index) for index in shown], counts

        memory_bins, memory_counts = histogram(self._memory_bins)
        cpu_bins, cpu_counts = histogram(self._cpu_bins)
        names = sorted(used, key=apps.__getitem__)
        return AppUsage(
            memory_bins=memory_bins,
            cpu_bins=cpu_bins,
            memory_counts=memory_counts,
            cpu_counts=cpu_counts,
            cpu_efficiency={
                apps[code]: self._app_cpu[code] / self._app_span[code] if self._app_span[code] > 0 else None
                for code in names
            },
            memory_efficiency={apps[code]: self._app_held[code] / self._app_tries[code] for code in names},
        )


def _task_and_try(row: tuple[Any, ...]) -> tuple[int, int]:
    return row[0], row[1]


def _sum_try(
    samples: Iterable[tuple[Any, ...]],
    cpu_series: list[tuple[float, float]],
    memory_series: list[tuple[float, float]],
) -> tuple[float, float, float, float, float, float, int, float] | None:
    """One try's samples in time order, summed (a build's fast path), their points added to the series.

    Returns ``(first, last, last_cpu, cpu, peak, sum, samples, longest interval)``; None without a timed sample.
    """
    first = last = math.nan
    cpu_used = peak = held_sum = previous_cpu = longest = 0.0
    count = 0
    for _task, _try, at, interval, cpu_time, resident in samples:
        if at is None:
            continue
        cpu_now, rss = cpu_time or 0.0, resident or 0.0
        if not count:
            first = at
        else:
            grown = cpu_now - previous_cpu
            if grown > 0:
                cpu_used += grown
                cpu_series.append((at, grown))
        previous_cpu = cpu_now
        last = at
        peak = max(peak, rss)
        held_sum += rss
        count += 1
        if interval and interval > 0:
            longest = max(longest, interval)
            memory_series.append((at, rss * interval))
    return (first, last, previous_cpu, cpu_used, peak, held_sum, count, longest) if count else None
