"""Charts of task states over time: per-try Gantt bars, or concurrency when there are many tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parsl_visualize.charts._axes import base, lines_over_time, seconds_axis
from parsl_visualize.states import FINAL_STATES, state_color

if TYPE_CHECKING:
    from parsl_visualize.charts import Option
    from parsl_visualize.live.model import Concurrency, GanttTry

__all__ = ("concurrency_chart", "gantt_chart", "running_by_app_chart")

GANTT_PHASES = ("pending", "launched", "running")


def _span(start: float | None, end: float | None) -> float:
    return round(end - start, 3) if start is not None and end is not None and end >= start else 0.0


def gantt_chart(tries: list[GanttTry], task_url: str) -> Option:
    """One row per try: waiting (pending), queued (launched) and running bars, stacked.

    An invisible first bar offsets each row to when the try began waiting, so no
    JavaScript renderer is needed. A try still open reaches the end of the run (or now);
    the running bar takes the colour of how the try ended (red for a failure), and a try
    that ended without ever running has its queued bar in that colour. ``task_url`` holds
    ``{task_id}``: clicking a bar opens the task.
    """
    labels = [f"task {t.task_id}" + (f" try {t.try_id}" if t.try_id else "") for t in tries]
    urls = [task_url.format(task_id=t.task_id) for t in tries]

    def item(value: float, url: str, outcome: str | None, ended: str) -> Option:
        entry: Option = {"value": value, "url": url, "outcome": ended}
        if outcome is not None:
            entry["itemStyle"] = {"color": state_color(outcome)}
        return entry

    def ended(t: GanttTry) -> str:
        return t.outcome if t.outcome in FINAL_STATES or t.outcome == "fail_retryable" else "running"

    waited = [_span(t.waiting_since, t.launched if t.launched is not None else t.returned) for t in tries]
    queued = [_span(t.launched, t.running if t.running is not None else t.returned) for t in tries]
    ran = [_span(t.running, t.returned) for t in tries]
    phases = {
        "pending": [item(v, u, None, ended(t)) for v, u, t in zip(waited, urls, tries, strict=True)],
        "launched": [
            item(v, u, ended(t) if t.running is None and ended(t) != "running" else None, ended(t))
            for v, u, t in zip(queued, urls, tries, strict=True)
        ],
        "running": [item(v, u, ended(t), ended(t)) for v, u, t in zip(ran, urls, tries, strict=True)],
    }
    option = base()
    option["tooltip"] = {"trigger": "item"}
    option["xAxis"] = seconds_axis()
    option["yAxis"] = {"type": "category", "data": labels, "inverse": True, "axisLabel": {"fontSize": 10}}
    option["dataZoom"] = [{"type": "inside", "yAxisIndex": 0}, {"type": "slider", "yAxisIndex": 0, "right": 0}]
    offset = {
        "name": "offset",
        "type": "bar",
        "stack": "try",
        "silent": True,
        "itemStyle": {"color": "transparent"},
        "data": [round(t.waiting_since or 0.0, 3) for t in tries],
        "tooltip": {"show": False},
    }
    bars = [
        {"name": phase, "type": "bar", "stack": "try", "itemStyle": {"color": state_color(phase)}, "data": data}
        for phase, data in phases.items()
    ]
    option["legend"]["data"] = list(GANTT_PHASES)
    option["series"] = [offset, *bars]
    return option


def concurrency_chart(data: Concurrency) -> Option:
    """Tasks waiting, queued and running over time (for runs too big for one bar per task)."""
    colors = {phase: state_color(phase) for phase in data.phases}
    return lines_over_time(data.axis.offsets(), data.phases, "tasks", stacked=True, colors=colors)


def running_by_app_chart(data: Concurrency) -> Option:
    """Running tasks of each app over time."""
    return lines_over_time(data.axis.offsets(), data.running_by_app, "running tasks")
