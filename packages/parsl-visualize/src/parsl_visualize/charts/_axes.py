"""Pieces every chart repeats: grid, tooltip, units."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from parsl_visualize.charts import Option

__all__ = ("GIB", "HEATMAP_FROM", "base", "heatmap_over_time", "lines_over_time", "seconds_axis")

HEATMAP_FROM = 9
"""Series per chart from which a node-by-time heatmap replaces overlapping lines."""

GIB = 1024**3


def base(title: str | None = None, *, legend: bool = True, tooltip: str = "axis") -> Option:
    """Common layout: no animation (charts are redrawn on live updates), room for the legend."""
    option: Option = {
        "animation": False,
        "grid": {"left": 60, "right": 30, "top": 40 if legend else 20, "bottom": 50, "containLabel": True},
        "tooltip": {"trigger": tooltip},
    }
    if title:
        option["title"] = {"text": title, "left": "center", "textStyle": {"fontSize": 13}}
    if legend:
        option["legend"] = {"type": "scroll", "top": 20 if title else 0}
    return option


def seconds_axis(name: str = "seconds since the workflow started") -> Option:
    """The x axis of every time chart: seconds since the run began, so times need no zone."""
    return {"type": "value", "name": name, "nameLocation": "middle", "nameGap": 28, "min": 0}


def lines_over_time(
    x: Sequence[float],
    series: Mapping[str, Sequence[float | None]],
    unit: str,
    *,
    scale: float = 1.0,
    stacked: bool = False,
    colors: Mapping[str, str] | None = None,
) -> Option:
    """One line per named series over seconds since the run began; ``stacked`` fills areas on top of each other."""
    option = base()
    option["xAxis"] = seconds_axis()
    option["yAxis"] = {"type": "value", "name": unit}
    option["series"] = [
        {
            "name": name,
            "type": "line",
            "symbol": "none",
            **({"stack": unit, "areaStyle": {}} if stacked else {}),
            **({"itemStyle": {"color": colors[name]}} if colors and name in colors else {}),
            "connectNulls": True,
            "data": [[t, round(v / scale, 4)] for t, v in zip(x, values, strict=True) if v is not None],
        }
        for name, values in series.items()
    ]
    return option


def heatmap_over_time(
    x: Sequence[float], series: Mapping[str, Sequence[float | None]], unit: str, *, scale: float = 1.0
) -> Option:
    """One row per named series (a node), one cell per bucket, coloured by value: readable with many nodes."""
    option = base(legend=False, tooltip="item")
    names = list(series)
    cells = [
        [column, row, round(value / scale, 4)]
        for row, name in enumerate(names)
        for column, value in enumerate(series[name])
        if value is not None
    ]
    option["grid"]["bottom"] = 80
    option["xAxis"] = {
        "type": "category",
        "data": [f"{t:g}" for t in x],
        "name": "seconds since the workflow started",
        "nameLocation": "middle",
        "nameGap": 28,
    }
    option["yAxis"] = {"type": "category", "data": names}
    option["visualMap"] = {
        "min": 0,
        "max": max((cell[2] for cell in cells), default=1) or 1,
        "calculable": True,
        "orient": "horizontal",
        "left": "center",
        "bottom": 0,
        "text": [unit, ""],
    }
    option["series"] = [{"name": unit, "type": "heatmap", "data": cells}]
    return option
