"""Charts of one task: its status timeline and its resource samples."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parsl_visualize.charts._axes import GIB, base, seconds_axis
from parsl_visualize.states import state_color

if TYPE_CHECKING:
    import datetime

    from parsl_visualize.charts import Option
    from parsl_visualize.queries.task_detail import ResourceSample, StatusChange

__all__ = ("resource_series_chart", "status_timeline_chart")


def _since(start: datetime.datetime, at: datetime.datetime) -> float:
    return round((at - start).total_seconds(), 3)


def status_timeline_chart(statuses: list[StatusChange]) -> Option:
    """Each state the task was in as a bar from entering it to entering the next (one row)."""
    option = base(tooltip="item")
    option["xAxis"] = seconds_axis("seconds since the task was submitted")
    option["yAxis"] = {"type": "category", "data": ["states"], "show": False}
    option["grid"]["bottom"] = 40
    if not statuses:
        option["series"] = []
        return option
    series: list[Option] = [
        {
            "name": "offset",
            "type": "bar",
            "stack": "t",
            "silent": True,
            "itemStyle": {"color": "transparent"},
            "data": [0.0],
            "tooltip": {"show": False},
        }
    ]
    for i, change in enumerate(statuses):
        end = statuses[i + 1].at if i + 1 < len(statuses) else change.at
        length = max(_since(change.at, end), 0.0)
        series.append(
            {
                "name": change.state,
                "type": "bar",
                "stack": "t",
                "barWidth": 28,
                "itemStyle": {"color": state_color(change.state)},
                "data": [length if length > 0 else 0.001],
            }
        )
    option["legend"]["data"] = list(dict.fromkeys(change.state for change in statuses))
    option["series"] = series
    return option


def resource_series_chart(samples: list[ResourceSample], started: datetime.datetime) -> dict[str, Option]:
    """Resident memory and CPU time of the task's process tree, one line per try."""
    tries = sorted({s.try_id for s in samples})
    memory = base()
    cpu = base()
    for option, unit in ((memory, "GiB resident"), (cpu, "CPU seconds")):
        option["xAxis"] = seconds_axis("seconds since the task was submitted")
        option["yAxis"] = {"type": "value", "name": unit}
    memory["series"] = [
        {
            "name": f"try {t}",
            "type": "line",
            "data": [
                [_since(started, s.at), round((s.memory_resident or 0) / GIB, 4)] for s in samples if s.try_id == t
            ],
        }
        for t in tries
    ]
    cpu["series"] = [
        {
            "name": f"try {t}",
            "type": "line",
            "data": [[_since(started, s.at), round(s.cpu_time or 0.0, 3)] for s in samples if s.try_id == t],
        }
        for t in tries
    ]
    return {"memory": memory, "cpu": cpu}
