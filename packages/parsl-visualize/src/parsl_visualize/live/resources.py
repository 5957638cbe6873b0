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
from typing import TYPE_CHECKING, Any

from parsl_visualize.live.slots import SlotSeries

if TYPE_CHECKING:
    from collections.abc import Iterable

    from parsl_visualize.live.slots import TimeAxis
    from parsl_visualize.live.tasks import TaskStore

__all__ = ("MAX_HOSTS", "AppUsage", "NodeUsage", "ResourceUsage", "UsageOverTime", "bin_edges", "histogram")

MAX_HOSTS = 24
POINTS_HELD = 50_000
"""Samples whose points a build collects before putting them on the time slots."""
BINS_PER_DOUBLING = 4
_ZERO_BIN = -(10**6)


def _bin(value: float) -> int:
    return math.floor(BINS_PER_DOUBLING * math.log2(value)) if value > 0 else _ZERO_BIN


def bin_edges(index: int) -> tuple[float, float]:
    """The value range of a histogram bin."""
    if index == _ZERO_BIN:
        return 0.0, 0.0
    return 2 ** (index / BINS_PER_DOUBLING), 2 ** ((index + 1) / BINS_PER_DOUBLING)


def histogram(values: Iterable[float]) -> tuple[list[tuple[float, float]], list[int]]:
    """Counts of values in the logarithmic bins (four per doubling), every bin between the extremes shown."""
    counts = collections.Counter(_bin(value) for value in values)
    if not counts:
        return [], []
    above = [index for index in counts if index != _ZERO_BIN]
    shown = ([_ZERO_BIN] if _ZERO_BIN in counts else []) + (list(range(min(above), max(above) + 1)) if above else [])
    return [bin_edges(index) for index in shown], [counts[index] for index in shown]


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


class _Try:
    """What the samples of one try add up to so far."""

    __slots__ = ("app", "cpu", "first", "last", "last_cpu", "peak", "samples", "sum")

    def __init__(self, app: int, at: float, cpu: float) -> None:
        self.app = app
        self.first = self.last = at
        self.last_cpu = cpu
        self.cpu = 0.0
        self.peak = 0.0
        self.sum = 0.0
        self.samples = 0


class ResourceUsage:
    """The resource page of one run, updated sample by sample."""

    def __init__(self, origin: float) -> None:
        self.slots = SlotSeries(origin)
        self.interval = 0.0
        """The longest sampling interval seen: buckets are never narrower."""
        self.samples = 0
        self.node_samples = 0
        self._tries: dict[tuple[int, int], _Try] = {}
        self._memory_bins: dict[int, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        self._cpu_bins: dict[int, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        self._app_cpu: dict[int, float] = collections.defaultdict(float)
        self._app_span: dict[int, float] = collections.defaultdict(float)
        self._app_held: dict[int, float] = collections.defaultdict(float)
        self._app_tries: dict[int, int] = collections.defaultdict(int)
        self._hosts: set[str] = set()
        self._nodes: set[str] = set()
        self._max_try = 0

    def _forget(self, usage: _Try) -> None:
        app = usage.app
        self._memory_bins[app][_bin(usage.peak)] -= 1
        self._cpu_bins[app][_bin(usage.cpu)] -= 1
        self._app_cpu[app] -= usage.cpu
        self._app_span[app] -= usage.last - usage.first
        self._app_held[app] -= usage.sum / usage.samples / usage.peak if usage.peak else 0.0

    def _count(self, usage: _Try) -> None:
        app = usage.app
        self._memory_bins[app][_bin(usage.peak)] += 1
        self._cpu_bins[app][_bin(usage.cpu)] += 1
        self._app_cpu[app] += usage.cpu
        self._app_span[app] += usage.last - usage.first
        self._app_held[app] += usage.sum / usage.samples / usage.peak if usage.peak else 0.0

    def load_samples(self, tasks: TaskStore, rows: Iterable[tuple[Any, ...]]) -> None:
        """All of a run's resource rows, grouped by try in time order (a build's fast path).

        The points go onto the time slots every :data:`POINTS_HELD` points, so a run of
        millions of samples never holds them all in memory at once.
        """
        cpu_points: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        memory_points: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        interval_seen = self.interval
        held = 0
        for (task_id, try_id), samples in itertools.groupby(rows, key=_try_key):
            app, host = tasks.app_and_host(task_id, try_id)
            cpu_series, memory_series = cpu_points[f"cpu@{host}"], memory_points[f"memory@{host}"]
            usage: _Try | None = None
            previous_cpu = 0.0
            for _task, _try, at, interval, cpu_time, resident in samples:
                if at is None:
                    continue
                cpu_now, rss = cpu_time or 0.0, resident or 0.0
                if usage is None:
                    usage = _Try(app, at, cpu_now)
                else:
                    grown = cpu_now - previous_cpu
                    if grown > 0:
                        usage.cpu += grown
                        cpu_series.append((at, grown))
                previous_cpu = cpu_now
                usage.last = at
                usage.peak = max(usage.peak, rss)
                usage.sum += rss
                usage.samples += 1
                if interval and interval > 0:
                    interval_seen = max(interval_seen, interval)
                    memory_series.append((at, rss * interval))
            if usage is None:
                continue
            usage.last_cpu = previous_cpu
            old = self._tries.get((task_id, try_id))
            if old is not None:  # cannot happen in one read of a run; kept exact anyway
                self._forget(old)
                self._app_tries[old.app] -= 1
            self._tries[(task_id, try_id)] = usage
            self._max_try = max(self._max_try, try_id)
            self._app_tries[usage.app] += 1
            self._count(usage)
            self._hosts.add(host)
            self.samples += usage.samples
            held += usage.samples
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
        for task_id, try_id, at, interval, cpu_time, resident in rows:
            if at is None:
                continue
            key = (task_id, try_id)
            app, host = tasks.app_and_host(task_id, try_id)
            cpu_now = cpu_time or 0.0
            rss = resident or 0.0
            usage = self._tries.get(key)
            if usage is None:
                usage = self._tries[key] = _Try(app, at, cpu_now)
                self._max_try = max(self._max_try, try_id)
                self._app_tries[usage.app] += 1
            else:
                self._forget(usage)
            if at >= usage.last:
                grown = max(0.0, cpu_now - usage.last_cpu)
                usage.cpu += grown
                usage.last, usage.last_cpu = at, cpu_now
                if grown:
                    cpu_points[f"cpu@{host}"].append((at, grown))
            usage.first = min(usage.first, at)
            usage.peak = max(usage.peak, rss)
            usage.sum += rss
            usage.samples += 1
            self._count(usage)
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
        for try_id in range(self._max_try + 1):
            usage = self._tries.get((task_id, try_id))
            if usage is not None and usage.app == old:
                self._forget(usage)
                self._app_tries[old] -= 1
                usage.app = new
                self._app_tries[new] += 1
                self._count(usage)

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

    def per_app(self, apps: list[str]) -> AppUsage:
        """Histograms and efficiencies per app (``apps``: the run's app names by code)."""
        used = [code for code, n in self._app_tries.items() if n]

        def histogram(
            bins: dict[int, collections.Counter[int]],
        ) -> tuple[list[tuple[float, float]], dict[str, list[int]]]:
            present = {index for code in used for index, n in bins[code].items() if n}
            if not present:
                return [], {}
            above = [index for index in present if index != _ZERO_BIN]
            shown = list(range(min(above), max(above) + 1)) if above else []
            shown = ([_ZERO_BIN] if _ZERO_BIN in present else []) + shown  # zero, then every bin between
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


def _try_key(row: tuple[Any, ...]) -> tuple[int, int]:
    return row[0], row[1]
