"""Resource usage of a run: totals and per-host series over time, per-app distributions."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sqlalchemy import func, inspect, select

from parsl_monitor_core.schema import NodeSample, table_of
from parsl_visualize.queries._common import RESOURCE, TASK, TRY
from parsl_visualize.sqltime import bucket, epoch

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from parsl_visualize.queries.timeline import TimeAxis

__all__ = (
    "AppUsage",
    "NodeUsage",
    "UsageOverTime",
    "app_usage",
    "has_resource_data",
    "node_usage",
    "sampling_interval",
    "usage_over_time",
)

MAX_HOSTS = 24
BINS = 20


def has_resource_data(conn: Connection, run_id: str) -> bool:
    """Whether resource monitoring recorded anything for this run."""
    return conn.execute(select(RESOURCE.c.run_id).where(RESOURCE.c.run_id == run_id).limit(1)).first() is not None


def sampling_interval(conn: Connection, run_id: str) -> float:
    """The longest resource monitoring interval of the run, in seconds.

    Time buckets must be at least this wide, or CPU growth reported once per interval
    would look like bursts on many cores.
    """
    interval = conn.execute(
        select(func.max(RESOURCE.c.resource_monitoring_interval)).where(RESOURCE.c.run_id == run_id)
    ).scalar()
    return float(interval or 0.0)


@dataclasses.dataclass(frozen=True)
class UsageOverTime:
    """Per bucket: cores busy (CPU seconds used / bucket width) and resident memory (bytes).

    Totals are across every worker; ``hosts`` holds the same per host (the busiest
    :data:`MAX_HOSTS` hosts; the others are still in the totals).
    """

    cpu: list[float]
    memory: list[float]
    host_cpu: dict[str, list[float]]
    host_memory: dict[str, list[float]]


def usage_over_time(conn: Connection, run_id: str, axis: TimeAxis) -> UsageOverTime:
    """CPU from the growth of each try's CPU time between samples; memory from each try's peak per bucket.

    Parsl samples the worker process, whose CPU time includes the tasks it ran before:
    only growth between a try's own samples counts, so a try's first sample adds nothing.
    """
    r = RESOURCE.c
    cpu_time = r.psutil_process_time_user + r.psutil_process_time_system
    previous = func.lag(cpu_time).over(partition_by=(r.task_id, r.try_id), order_by=r.timestamp)
    samples = (
        select(
            r.task_id,
            r.try_id,
            bucket((epoch(r.timestamp) - axis.start) / axis.width).label("b"),
            (cpu_time - func.coalesce(previous, cpu_time)).label("cpu"),
            r.psutil_process_memory_resident.label("rss"),
        )
        .where(r.run_id == run_id)
        .subquery("samples")
    )
    s = samples.c
    per_try = (
        select(s.task_id, s.try_id, s.b, func.sum(s.cpu).label("cpu"), func.max(s.rss).label("rss"))
        .group_by(s.task_id, s.try_id, s.b)
        .subquery("per_try")
    )
    p = per_try.c
    y = TRY.c
    host = func.coalesce(y.hostname, "unknown")
    query = (
        select(host, p.b, func.sum(p.cpu), func.sum(p.rss))
        .select_from(per_try.outerjoin(TRY, (y.run_id == run_id) & (y.task_id == p.task_id) & (y.try_id == p.try_id)))
        .group_by(host, p.b)
    )
    cpu = [0.0] * axis.count
    memory = [0.0] * axis.count
    host_cpu: dict[str, list[float]] = {}
    host_memory: dict[str, list[float]] = {}
    for name, index, used, rss in conn.execute(query):
        i = min(max(index, 0), axis.count - 1)
        cores = (used or 0.0) / axis.width
        cpu[i] += cores
        memory[i] += rss or 0.0
        host_cpu.setdefault(name, [0.0] * axis.count)[i] += cores
        host_memory.setdefault(name, [0.0] * axis.count)[i] += rss or 0.0
    busiest = sorted(host_cpu, key=lambda name: -sum(host_cpu[name]))[:MAX_HOSTS]
    return UsageOverTime(
        cpu=cpu,
        memory=memory,
        host_cpu={name: host_cpu[name] for name in sorted(busiest)},
        host_memory={name: host_memory[name] for name in sorted(busiest)},
    )


@dataclasses.dataclass(frozen=True)
class AppUsage:
    """Per app: histograms of per-try peak memory and CPU time, and efficiencies.

    Attributes:
        memory_edges, cpu_edges: bin edges shared by all apps (bytes, seconds).
        memory_counts, cpu_counts: per app, tries per bin.
        cpu_efficiency: per app, CPU seconds used / seconds between first and last sample
            (1.0 = one core busy). A try's CPU time is its growth across its samples:
            Parsl samples the long-lived worker process, whose total includes earlier tasks.
        memory_efficiency: per app, mean over tries of mean resident / peak resident.
    """

    memory_edges: list[float]
    cpu_edges: list[float]
    memory_counts: dict[str, list[int]]
    cpu_counts: dict[str, list[int]]
    cpu_efficiency: dict[str, float | None]
    memory_efficiency: dict[str, float | None]


def _edges(low: float, high: float) -> list[float]:
    step = (high - low) / BINS or 1.0
    return [low + i * step for i in range(BINS + 1)]


def app_usage(conn: Connection, run_id: str) -> AppUsage:
    """Distributions per app, binned by the database (one row per app and bin comes back)."""
    r, t = RESOURCE.c, TASK.c
    cpu_time = r.psutil_process_time_user + r.psutil_process_time_system
    per_try = (
        select(
            r.task_id,
            r.try_id,
            func.max(r.psutil_process_memory_resident).label("peak"),
            func.avg(r.psutil_process_memory_resident).label("mean"),
            (func.max(cpu_time) - func.min(cpu_time)).label("cpu"),
            (epoch(func.max(r.timestamp)) - epoch(func.min(r.timestamp))).label("span"),
        )
        .where(r.run_id == run_id)
        .group_by(r.task_id, r.try_id)
        .subquery("per_try")
    )
    p = per_try.c
    source = per_try.join(TASK, (t.run_id == run_id) & (t.task_id == p.task_id))
    low_mem, high_mem, low_cpu, high_cpu = conn.execute(
        select(func.min(p.peak), func.max(p.peak), func.min(p.cpu), func.max(p.cpu))
    ).one()
    memory_edges = _edges(low_mem or 0.0, high_mem or 0.0)
    cpu_edges = _edges(low_cpu or 0.0, high_cpu or 0.0)
    app = t.task_func_name
    memory_counts: dict[str, list[int]] = {}
    cpu_counts: dict[str, list[int]] = {}
    for column, edges, counts in ((p.peak, memory_edges, memory_counts), (p.cpu, cpu_edges, cpu_counts)):
        width = edges[1] - edges[0]
        index = bucket((func.coalesce(column, edges[0]) - edges[0]) / width)
        for name, i, n in conn.execute(select(app, index, func.count()).select_from(source).group_by(app, index)):
            counts.setdefault(name, [0] * BINS)[min(max(i, 0), BINS - 1)] += n
    cpu_efficiency: dict[str, float | None] = {}
    memory_efficiency: dict[str, float | None] = {}
    query = select(app, func.sum(p.cpu), func.sum(p.span), func.avg(p.mean / func.nullif(p.peak, 0))).select_from(
        source
    )
    for name, used, running, held in conn.execute(query.group_by(app).order_by(app)):
        cpu_efficiency[name] = used / running if used is not None and running else None
        memory_efficiency[name] = held
    return AppUsage(
        memory_edges=memory_edges,
        cpu_edges=cpu_edges,
        memory_counts=dict(sorted(memory_counts.items())),
        cpu_counts=dict(sorted(cpu_counts.items())),
        cpu_efficiency=cpu_efficiency,
        memory_efficiency=memory_efficiency,
    )


@dataclasses.dataclass(frozen=True)
class NodeUsage:
    """Per node, mean CPU percent and memory in use per bucket, from node agent samples (None: no sample)."""

    cpu_percent: dict[str, list[float | None]]
    memory_used: dict[str, list[float | None]]


def node_usage(conn: Connection, run_id: str, axis: TimeAxis) -> NodeUsage | None:
    """None for databases without node samples (written by Parsl, or before schema version 2)."""
    if not inspect(conn).has_table(NodeSample.__tablename__):
        return None
    n = table_of(NodeSample).c
    index = bucket((epoch(n.timestamp) - axis.start) / axis.width)
    query = (
        select(n.hostname, index, func.avg(n.cpu_percent), func.avg(n.memory_used))
        .where(n.run_id == run_id)
        .group_by(n.hostname, index)
    )
    cpu: dict[str, list[float | None]] = {}
    memory: dict[str, list[float | None]] = {}
    for host, i, percent, used in conn.execute(query):
        at = min(max(i, 0), axis.count - 1)
        cpu.setdefault(host, [None] * axis.count)[at] = percent
        memory.setdefault(host, [None] * axis.count)[at] = used
    if not cpu:
        return None
    busiest = sorted(cpu, key=lambda host: -sum(v or 0.0 for v in cpu[host]))[:MAX_HOSTS]
    return NodeUsage({h: cpu[h] for h in sorted(busiest)}, {h: memory[h] for h in sorted(busiest)})
