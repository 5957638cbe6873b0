"""The workflow DAG: a layered layout in linear time, aggregated when too big to draw node by node.

Layout: a task's level is one more than the deepest task it depends on (Parsl gives
dependencies smaller ids, so one pass in id order suffices); within a level, tasks are
ordered by the mean position of their parents (one barycenter sweep). Cost is
O(tasks + edges) plus a sort per level.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import TYPE_CHECKING, Literal

from parsl_visualize.charts._axes import base
from parsl_visualize.states import STATE_ORDER, state_color

if TYPE_CHECKING:
    from parsl_visualize.charts import Option
    from parsl_visualize.live.model import DagTask

__all__ = ("MAX_NODES", "ColorBy", "DagView", "dag_chart", "dag_groups_chart", "layout")

MAX_NODES = 2000
"""Above this many tasks the graph is drawn as groups (level x app or state) unless asked otherwise."""

ColorBy = Literal["apps", "states"]

NODE_SIZES = ((200, 10), (5000, 6), (float("inf"), 3))
"""(up to this many tasks, node diameter in pixels): smaller nodes for bigger graphs."""

PALETTE = (
    "#5470c6",
    "#91cc75",
    "#fac858",
    "#ee6666",
    "#73c0de",
    "#3ba272",
    "#fc8452",
    "#9a60b4",
    "#ea7ccc",
    "#2f4554",
    "#61a0a8",
    "#d48265",
    "#749f83",
    "#ca8622",
    "#bda29a",
    "#6e7074",
)


@dataclasses.dataclass(frozen=True)
class DagView:
    """What the page says about the drawing."""

    option: Option
    tasks: int
    nodes: int
    aggregated: bool


def layout(tasks: list[DagTask]) -> tuple[dict[int, int], dict[int, float]]:
    """Level (row, top to bottom) and position within the level (column, centred) of every task."""
    level: dict[int, int] = {}
    for task in tasks:
        parents = [level[d] for d in task.depends if d in level]
        level[task.task_id] = 1 + max(parents) if parents else 0
    by_level: dict[int, list[DagTask]] = {}
    for task in tasks:
        by_level.setdefault(level[task.task_id], []).append(task)
    position: dict[int, float] = {}
    for depth in sorted(by_level):
        members = by_level[depth]

        def barycenter(task: DagTask) -> float:
            placed = [position[d] for d in task.depends if d in position]
            return sum(placed) / len(placed) if placed else float(task.task_id)

        members.sort(key=barycenter)
        middle = (len(members) - 1) / 2
        for i, task in enumerate(members):
            position[task.task_id] = i - middle  # levels centred under each other
    return level, position


def _categories(names: list[str], color_by: ColorBy) -> list[Option]:
    if color_by == "states":
        return [{"name": name, "itemStyle": {"color": state_color(name)}} for name in names]
    return [{"name": name, "itemStyle": {"color": PALETTE[i % len(PALETTE)]}} for i, name in enumerate(names)]


def _graph(categories: list[str], color_by: ColorBy, nodes: list[Option], links: list[Option]) -> Option:
    option = base(tooltip="item")
    option["legend"] = {"type": "scroll", "top": 0, "data": categories}
    option["series"] = [
        {
            "type": "graph",
            "layout": "none",
            "roam": True,
            "categories": _categories(categories, color_by),
            "data": nodes,
            "links": links,
            "edgeSymbol": ["none", "arrow"],
            "edgeSymbolSize": 5,
            "lineStyle": {"opacity": 0.5, "width": 1},
            "emphasis": {"focus": "adjacency"},
            "label": {"show": False},
        }
    ]
    return option


def _key(task: DagTask, color_by: ColorBy) -> str:
    return task.app if color_by == "apps" else task.state


def _ordered(names: set[str], color_by: ColorBy) -> list[str]:
    if color_by == "states":
        rank = {s: i for i, s in enumerate(STATE_ORDER)}
        return sorted(names, key=lambda s: (rank.get(s, len(rank)), s))
    return sorted(names)


def dag_chart(tasks: list[DagTask], color_by: ColorBy, task_url: str) -> DagView:
    """One node per task (for runs up to :data:`MAX_NODES` tasks, or when asked).

    Args:
        tasks: every task of the run, in id order.
        color_by: colour nodes by app or by current state.
        task_url: link of a task node, with ``{task_id}``.
    """
    level, position = layout(tasks)
    names = _ordered({_key(t, color_by) for t in tasks}, color_by)
    category = {name: i for i, name in enumerate(names)}
    index = {t.task_id: i for i, t in enumerate(tasks)}
    size = next(size for most, size in NODE_SIZES if len(tasks) <= most)
    nodes = [
        {
            "name": f"{t.app} (task {t.task_id}, {t.state})",
            "x": position[t.task_id] * 30,
            "y": level[t.task_id] * 100,
            "category": category[_key(t, color_by)],
            "symbolSize": size,
            "url": task_url.format(task_id=t.task_id),
        }
        for t in tasks
    ]
    links = [{"source": index[d], "target": index[t.task_id]} for t in tasks for d in t.depends if d in index]
    return DagView(_graph(names, color_by, nodes, links), len(tasks), len(nodes), aggregated=False)


def dag_groups_chart(
    members: dict[tuple[int, str], int],
    edges: dict[tuple[tuple[int, str], tuple[int, str]], int],
    color_by: ColorBy,
    group_url: str,
    levels_per_group: int = 1,
) -> DagView:
    """The graph of a big run as groups: one node per (level, app or state), edges counted between them.

    Args:
        members: tasks per (level, name); with bands, the level is the band's first.
        edges: dependencies counted per pair of groups.
        color_by: colour groups by app or by current state.
        group_url: link of a group node (a filtered task list), with ``{key}`` and ``{value}``.
        levels_per_group: consecutive levels drawn as one row (a very deep DAG).
    """
    names = _ordered({name for _level, name in members}, color_by)
    category = {name: i for i, name in enumerate(names)}
    keys = sorted(members, key=lambda k: (k[0], category[k[1]]))
    index = {key: i for i, key in enumerate(keys)}
    columns: dict[int, int] = {}
    width = collections.Counter(depth for depth, _name in keys)
    nodes = []
    for depth, name in keys:
        column = columns[depth] = columns.get(depth, -1) + 1
        n = members[(depth, name)]
        where = f"level {depth}" if levels_per_group == 1 else f"levels {depth}\u2013{depth + levels_per_group - 1}"
        nodes.append(
            {
                "name": f"{name}: {n} task{'s' if n != 1 else ''} at {where}",
                "value": n,
                "x": (column - (width[depth] - 1) / 2) * 80,
                "y": depth // levels_per_group * 60,
                "category": category[name],
                "symbolSize": 8 + 6 * math.log10(n),
                "url": group_url.format(key="app" if color_by == "apps" else "state", value=name),
            }
        )
    links = [
        {"source": index[a], "target": index[b], "value": n, "lineStyle": {"width": min(1 + math.log10(n), 6)}}
        for (a, b), n in edges.items()
    ]
    return DagView(_graph(names, color_by, nodes, links), sum(members.values()), len(nodes), aggregated=True)
