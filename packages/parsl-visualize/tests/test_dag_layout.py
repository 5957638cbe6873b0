import collections

from parsl_visualize.charts.dag import MAX_NODES, dag_chart, dag_groups_chart, layout
from parsl_visualize.live.model import DagTask


def chain_of_diamonds(n: int) -> list[DagTask]:
    """0 -> (1, 2) -> 3 -> (4, 5) -> 6 ..."""
    tasks = [DagTask(0, "start", "exec_done", ())]
    while len(tasks) < n:
        top = tasks[-1].task_id
        tasks += [
            DagTask(top + 1, "left", "exec_done", (top,)),
            DagTask(top + 2, "right", "failed", (top,)),
            DagTask(top + 3, "join", "dep_fail", (top + 1, top + 2)),
        ]
    return tasks


def test_levels_follow_dependencies_and_levels_are_centred() -> None:
    level, position = layout(chain_of_diamonds(7))
    assert [level[i] for i in range(7)] == [0, 1, 1, 2, 3, 3, 4]
    assert position[1] == -position[2] and position[0] == position[3] == 0


def test_unknown_dependencies_do_not_break_the_layout() -> None:
    level, _ = layout([DagTask(5, "a", "exec_done", (99,)), DagTask(6, "a", "exec_done", (5,))])
    assert level == {5: 0, 6: 1}


def test_small_graphs_get_a_node_per_task_with_a_link() -> None:
    view = dag_chart(chain_of_diamonds(7), "states", "/t/{task_id}")
    graph = view.option["series"][0]
    assert not view.aggregated and view.nodes == 7
    assert graph["data"][3]["url"] == "/t/3" and graph["data"][3]["name"] == "join (task 3, dep_fail)"
    assert len(graph["links"]) == 8


def groups(
    tasks: list[DagTask],
) -> tuple[dict[tuple[int, str], int], dict[tuple[tuple[int, str], tuple[int, str]], int]]:
    """Tasks per (level, app) and edges between those groups, as a run's model counts them."""
    level, _ = layout(tasks)
    group = {t.task_id: (level[t.task_id], t.app) for t in tasks}
    edges = collections.Counter((group[d], group[t.task_id]) for t in tasks for d in t.depends if d in group)
    return dict(collections.Counter(group.values())), dict(edges)


def test_big_graphs_are_grouped_by_level_and_key() -> None:
    tasks = chain_of_diamonds(MAX_NODES + 100)
    view = dag_groups_chart(*groups(tasks), "apps", "/l?{key}={value}")
    assert view.aggregated and view.tasks == len(tasks)
    graph = view.option["series"][0]
    levels = max(layout(tasks)[0].values()) + 1
    assert view.nodes == len(graph["data"]) < levels * 2  # one or two groups (apps) per level
    assert sum(node["value"] for node in graph["data"]) == len(tasks)
    assert graph["data"][1]["url"] in ("/l?app=left", "/l?app=right")
    assert sum(link["value"] for link in graph["links"]) == sum(len(t.depends) for t in tasks)
    full = dag_chart(tasks, "apps", "/t/{task_id}")
    assert not full.aggregated and full.nodes == len(tasks)
