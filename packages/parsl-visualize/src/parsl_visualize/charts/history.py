"""One workflow's runs over time: duration, and tasks completed and failed, per run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parsl_visualize.charts._axes import base
from parsl_visualize.formatting import time_text
from parsl_visualize.states import state_color

if TYPE_CHECKING:
    from parsl_visualize.charts import Option
    from parsl_visualize.queries.workflows import WorkflowRow

__all__ = ("ZOOM_FROM", "history_chart")

ZOOM_FROM = 30
"""Runs from which the chart gets a zoom slider."""


def history_chart(runs: list[WorkflowRow]) -> Option:
    """A line of durations (left axis) over bars of tasks completed and failed (right axis), one run per step."""
    option = base()
    option["xAxis"] = {
        "type": "category",
        "data": [time_text(run.began) for run in runs],
        "name": "run started",
        "nameLocation": "middle",
        "nameGap": 28,
    }
    option["yAxis"] = [{"type": "value", "name": "duration (s)"}, {"type": "value", "name": "tasks"}]
    tasks = (
        ("completed", "exec_done", [r.tasks_completed for r in runs]),
        ("failed", "failed", [r.tasks_failed for r in runs]),
    )
    option["series"] = [
        *(
            {
                "name": name,
                "type": "bar",
                "yAxisIndex": 1,
                "stack": "tasks",
                "itemStyle": {"color": state_color(state)},
                "data": data,
            }
            for name, state, data in tasks
        ),
        {
            "name": "duration",
            "type": "line",
            "yAxisIndex": 0,
            "itemStyle": {"color": "#424242"},
            "data": [round(run.duration, 3) for run in runs],
        },
    ]
    if len(runs) > ZOOM_FROM:
        option["dataZoom"] = [{"type": "inside"}, {"type": "slider", "height": 16, "bottom": 4}]
    return option
