"""The in-memory task store's bookkeeping that live polls lean on: states found fast, durations kept sorted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parsl_visualize.live.tasks import TaskStore

STATES = ("pending", "launched", "running", "exec_done", "failed", "dep_fail")


@given(
    events=st.lists(st.tuples(st.integers(0, 60), st.sampled_from(STATES)), max_size=300),
    wanted=st.lists(st.sampled_from(STATES), min_size=1, max_size=3, unique=True),
)
def test_tasks_in_a_state_are_those_whose_newest_status_is_that_state(
    events: list[tuple[int, str]], wanted: list[str]
) -> None:
    store = TaskStore()
    newest: dict[int, str] = {}
    for order, (task_id, state) in enumerate(events):
        store.apply_status(store.slot(task_id), state, f"{order:06d}")
        newest[task_id] = state
    codes = [store.state_code(name) for name in wanted]
    truth = sorted(store.position[task_id] for task_id, state in newest.items() if state in wanted)
    assert store.positions_in_state(*codes) == truth


@given(st.lists(st.tuples(st.integers(0, 40), st.floats(0, 1e6), st.floats(0, 1e6)), min_size=1, max_size=200))
def test_the_median_and_longest_duration_follow_tasks_whose_times_change(
    rows: list[tuple[int, float, float]],
) -> None:
    store = TaskStore()
    duration: dict[int, float] = {}
    for task_id, invoked, took in rows:  # a task row read again (a retry returned later) replaces its duration
        store.set_task(store.slot(task_id), app="a", invoked=invoked, returned=invoked + took, fail_count=0, depends=())
        duration[task_id] = (invoked + took) - invoked
    known = sorted(duration.values())
    assert list(store.durations) == known
    assert store.durations[len(known) // 2] == known[len(known) // 2]
    assert store.durations[-1] == known[-1]


@given(
    rows=st.lists(
        st.tuples(st.sampled_from(("slot", "row")), st.integers(0, 40), st.sampled_from(("fit", "plot", "unknown"))),
        max_size=300,
    )
)
def test_an_apps_tasks_are_those_whose_app_column_names_it_as_tasks_arrive_and_rows_change_app(
    rows: list[tuple[str, int, str]],
) -> None:
    store = TaskStore()
    app: dict[int, str] = {}
    for what, task_id, name in rows:  # a status may come before its task's row; a row read again may change app
        position = store.slot(task_id)
        app.setdefault(task_id, "unknown")
        if what == "row":
            store.set_task(position, app=name, invoked=0.0, returned=1.0, fail_count=0, depends=())
            app[task_id] = name
    for name in ("fit", "plot", "unknown"):
        if name in store.apps:
            truth = sorted(store.position[task_id] for task_id, a in app.items() if a == name)
            assert list(store.positions_of_app(store.apps.index(name))) == truth
