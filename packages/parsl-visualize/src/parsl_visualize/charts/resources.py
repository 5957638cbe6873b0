"""Resource usage charts: totals and per host over time, per-app histograms and efficiency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parsl_visualize.charts._axes import GIB, HEATMAP_FROM, base, heatmap_over_time, lines_over_time

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from parsl_visualize.charts import Option
    from parsl_visualize.live.capacity import CapacityOverTime
    from parsl_visualize.live.resources import AppUsage, NodeUsage, UsageOverTime
    from parsl_visualize.live.slots import TimeAxis

__all__ = ("app_usage_charts", "node_charts", "run_time_chart", "usage_charts")


def usage_charts(usage: UsageOverTime, axis: TimeAxis, capacity: CapacityOverTime | None = None) -> dict[str, Option]:
    """CPU (cores busy) and resident memory (GiB) across all workers, and per host; with the nodes' capacity."""
    x = axis.offsets()
    charts = {
        "cpu_total": lines_over_time(x, {"all workers": usage.cpu}, "cores busy", stacked=True),
        "memory_total": lines_over_time(
            x, {"all workers": usage.memory}, "GiB resident (mean)", scale=GIB, stacked=True
        ),
        "cpu_hosts": _per_host(x, usage.host_cpu, "cores busy"),
        "memory_hosts": _per_host(x, usage.host_memory, "GiB resident (mean)", scale=GIB),
    }
    if capacity is not None and any(capacity.cores):
        _add_capacity(charts["cpu_total"], x, capacity.cores, 1.0)
        _add_capacity(charts["memory_total"], x, capacity.memory, GIB)
        charts["utilisation"] = lines_over_time(
            x,
            {
                "CPU": [_percent(used, whole) for used, whole in zip(usage.cpu, capacity.cores, strict=True)],
                "memory": [_percent(used, whole) for used, whole in zip(usage.memory, capacity.memory, strict=True)],
            },
            "% of the nodes' capacity",
        )
    return charts


def _per_host(
    x: Sequence[float], series: Mapping[str, Sequence[float | None]], unit: str, scale: float = 1.0
) -> Option:
    """Lines for a few hosts, a heatmap (host by time) for many."""
    if len(series) >= HEATMAP_FROM:
        return heatmap_over_time(x, series, unit, scale=scale)
    return lines_over_time(x, series, unit, scale=scale)


def _add_capacity(option: Option, x: Sequence[float], values: Sequence[float], scale: float) -> None:
    """A dashed line of what the nodes had, over the stacked use."""
    option["series"].append(
        {
            "name": "capacity of the nodes",
            "type": "line",
            "symbol": "none",
            "step": "end",
            "lineStyle": {"type": "dashed"},
            "itemStyle": {"color": "#424242"},
            "data": [[t, round(v / scale, 4)] for t, v in zip(x, values, strict=True)],
        }
    )


def _percent(used: float, whole: float) -> float | None:
    return round(100.0 * used / whole, 2) if whole else None


def _histogram(
    bins: list[tuple[float, float]], counts: dict[str, list[int]], unit: str, scale: float, of: str = "tries"
) -> Option:
    option = base()
    labels = [f"{low / scale:.3g} to {high / scale:.3g}" if high else "0" for low, high in bins]
    option["xAxis"] = {"type": "category", "data": labels, "name": unit, "nameLocation": "middle", "nameGap": 28}
    option["yAxis"] = {"type": "value", "name": of}
    option["series"] = [{"name": app, "type": "bar", "data": values} for app, values in counts.items()]
    return option


def app_usage_charts(usage: AppUsage) -> dict[str, Option]:
    """Histograms of each try's peak memory and CPU time, one bar series per app (bins double every 4)."""
    return {
        "memory_per_app": _histogram(usage.memory_bins, usage.memory_counts, "peak resident memory (GiB)", GIB),
        "cpu_per_app": _histogram(usage.cpu_bins, usage.cpu_counts, "CPU time (s)", 1.0),
    }


def node_charts(usage: NodeUsage, axis: TimeAxis) -> dict[str, Option]:
    """Whole-node CPU (%) and memory in use (GiB) per node, from the node agents."""
    x = axis.offsets()
    return {
        "node_cpu": _per_host(x, usage.cpu_percent, "CPU %"),
        "node_memory": _per_host(x, usage.memory_used, "GiB in use", scale=GIB),
    }


def run_time_chart(app: str, bins: list[tuple[float, float]], counts: list[int]) -> Option:
    """A histogram of an app's tasks by seconds running (bins double every 4)."""
    return _histogram(bins, {app: counts}, "seconds running", 1.0, of="tasks")
