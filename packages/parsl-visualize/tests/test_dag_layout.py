import collections
import random

from parsl_visualize.charts.dag import MAX_NODES, ColorBy, dag_chart, dag_groups_chart, layout
from parsl_visualize.live.dag_counts import DagCounts
from parsl_visualize.live.model import MAX_LEVELS, DagGroups, DagTask, RunModel


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


def chain_model(length: int) -> RunModel:
    """A run whose tasks form one chain (each depends on the one before), apps taking turns."""
    model = RunModel("chain")
    for task_id in range(length):
        position = model.tasks.slot(task_id)
        parents = (task_id - 1,) if task_id else ()
        model.tasks.set_task(
            position, app=f"app{task_id % 3}", invoked=0.0, returned=1.0, fail_count=0, depends=parents
        )
    return model


def test_a_chain_deeper_than_the_chart_is_drawn_in_bands_of_levels() -> None:
    length = 5 * MAX_LEVELS + 3  # 1,003 levels: bands of 8 (a power of two), 126 rows
    members, edges, per_group = chain_model(length).dag_groups("apps")
    assert per_group == 8
    assert {level for level, _app in members} == set(range(0, length, 8))
    assert sum(members.values()) == length
    # only the dependencies that cross from one band to the next are drawn, one per boundary
    assert sum(edges.values()) == len(range(0, length, 8)) - 1
    assert all(b[0] == a[0] + 8 for a, b in edges)
    view = dag_groups_chart(members, edges, "apps", "/l?{key}={value}", per_group)
    names = [node["name"] for node in view.option["series"][0]["data"]]
    assert "app0: 3 tasks at levels 0\u20137" in names  # tasks 0, 3 and 6
    assert max(node["y"] for node in view.option["series"][0]["data"]) == (len(range(0, length, 8)) - 1) * 60


COLORS: tuple[ColorBy, ...] = ("apps", "states")


def counted_afresh(model: RunModel, color_by: ColorBy) -> DagGroups:
    """The groups counted from nothing over the model's tasks: the truth a followed count must equal."""
    counts = DagCounts(model.tasks, color_by, MAX_LEVELS)
    names = model.tasks.apps if color_by == "apps" else model.tasks.states
    return DagGroups(*counts.groups(names), counts.band)


def test_groups_followed_poll_after_poll_equal_groups_counted_afresh() -> None:
    # A run as a live page sees it: a chain growing past several band doublings, tasks
    # changing state, and a task named as a dependency before its own row arrives.
    model = RunModel("growing")  # live: its counts index children from the start
    tasks = model.tasks
    indexed_late = {c: DagCounts(tasks, c, MAX_LEVELS) for c in COLORS}  # as for an ended run: at the first move
    rng = random.Random(7)  # noqa: S311 - a reproducible test, not a secret
    states = ["pending", "launched", "running", "exec_done", "failed"]
    known = 0
    for poll in range(12):
        arriving = list(range(known, known + 150 * (poll + 1)))
        for i in range(0, len(arriving) - 1, 97):  # now and then a task's row comes before its dependency's
            arriving[i], arriving[i + 1] = arriving[i + 1], arriving[i]
        for task_id in arriving:
            tasks.set_task(
                tasks.slot(task_id),
                app=f"app{task_id % 4}",
                invoked=0.0,
                returned=1.0,
                fail_count=0,
                depends=(task_id - 1,) if task_id else (),
            )
        known += len(arriving)
        for task_id in rng.sample(range(known), min(known, 200)):
            tasks.apply_status(tasks.position[task_id], rng.choice(states), f"{poll:03d}{task_id:08d}")
        for color_by in COLORS:
            truth = counted_afresh(model, color_by)
            assert model.dag_groups(color_by) == truth, (poll, color_by)
            late = indexed_late[color_by]
            late.sync()
            assert DagGroups(*late.groups(tasks.apps if color_by == "apps" else tasks.states), late.band) == truth
    assert model.dag_groups("apps").levels_per_group >= 64  # the chain outgrew the chart several times


def test_a_dag_within_the_chart_keeps_a_row_per_level() -> None:
    members, edges, per_group = chain_model(MAX_LEVELS).dag_groups("apps")
    assert per_group == 1 and len(members) == MAX_LEVELS
    assert sum(edges.values()) == MAX_LEVELS - 1
