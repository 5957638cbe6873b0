"""Resource usage charts: totals and per host over time, per-app histograms and efficiency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parsl_visualize.charts._axes import GIB, base, seconds_axis

if TYPE_CHECKING:
    from parsl_visualize.charts import Option
    from parsl_visualize.queries.resources import AppUsage, UsageOverTime
    from parsl_visualize.queries.timeline import TimeAxis

__all__ = ("app_usage_charts", "usage_charts")


def _lines(x: list[float], series: dict[str, list[float]], unit: str, scale: float = 1.0, area: bool = False) -> Option:
    option = base()
    option["xAxis"] = seconds_axis()
    option["yAxis"] = {"type": "value", "name": unit}
    option["series"] = [
        {
            "name": name,
            "type": "line",
            "symbol": "none",
            **({"areaStyle": {}} if area else {}),
            "data": [[t, round(v / scale, 4)] for t, v in zip(x, values, strict=True)],
        }
        for name, values in series.items()
    ]
    return option


def usage_charts(usage: UsageOverTime, axis: TimeAxis) -> dict[str, Option]:
    """CPU (cores busy) and resident memory (GiB) across all workers, and per host."""
    x = axis.offsets()
    return {
        "cpu_total": _lines(x, {"all workers": usage.cpu}, "cores busy", area=True),
        "memory_total": _lines(x, {"all workers": usage.memory}, "GiB resident", GIB, area=True),
        "cpu_hosts": _lines(x, usage.host_cpu, "cores busy"),
        "memory_hosts": _lines(x, usage.host_memory, "GiB resident", GIB),
    }


def _histogram(edges: list[float], counts: dict[str, list[int]], unit: str, scale: float) -> Option:
    option = base()
    labels = [f"{edges[i] / scale:.3g}" for i in range(len(edges) - 1)]
    option["xAxis"] = {"type": "category", "data": labels, "name": unit, "nameLocation": "middle", "nameGap": 28}
    option["yAxis"] = {"type": "value", "name": "tries"}
    option["series"] = [{"name": app, "type": "bar", "data": values} for app, values in counts.items()]
    return option


def app_usage_charts(usage: AppUsage) -> dict[str, Option]:
    """Histograms of each try's peak memory and CPU time, one bar series per app."""
    return {
        "memory_per_app": _histogram(
            usage.memory_edges, usage.memory_counts, "peak resident memory (GiB, bin start)", GIB
        ),
        "cpu_per_app": _histogram(usage.cpu_edges, usage.cpu_counts, "CPU time (s, bin start)", 1.0),
    }
