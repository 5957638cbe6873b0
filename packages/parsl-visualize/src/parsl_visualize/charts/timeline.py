"""Charts of task states over time: per-try Gantt bars, or concurrency when there are many tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parsl_visualize.charts._axes import base, lines_over_time, seconds_axis
from parsl_visualize.states import state_color

if TYPE_CHECKING:
    from parsl_visualize.charts import Option
    from parsl_visualize.queries.timeline import Concurrency, GanttTry

__all__ = ("concurrency_chart", "gantt_chart", "running_by_app_chart")

GANTT_PHASES = ("pending", "launched", "running")


def gantt_chart(tries: list[GanttTry], task_url: str) -> Option:
    """One row per try: waiting (pending), queued (launched) and running bars, stacked.

    An invisible first bar offsets each row to the task's invocation, so no JavaScript
    renderer is needed. ``task_url`` holds ``{task_id}``: clicking a bar opens the task.
    """
    labels = [f"task {t.task_id}" + (f" try {t.try_id}" if t.try_id else "") for t in tries]
    # A retry waits from the end of the try before it, not from the task's invocation.
    starts = [
        previous.returned if previous is not None and previous.task_id == t.task_id else t.invoked
        for previous, t in zip([None, *tries], tries, strict=False)
    ]

    def span(start: float | None, end: float | None) -> float:
        return round(end - start, 3) if start is not None and end is not None and end >= start else 0.0

    phases = {
        "pending": [span(start, t.launched) for start, t in zip(starts, tries, strict=True)],
        "launched": [span(t.launched, t.running) for t in tries],
        "running": [span(t.running, t.returned) for t in tries],
    }
    urls = [task_url.format(task_id=t.task_id) for t in tries]
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
        "data": [round(start or 0.0, 3) for start in starts],
        "tooltip": {"show": False},
    }
    bars = [
        {
            "name": phase,
            "type": "bar",
            "stack": "try",
            "itemStyle": {"color": state_color(phase)},
            "data": [{"value": v, "url": u} for v, u in zip(values, urls, strict=True)],
        }
        for phase, values in phases.items()
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
