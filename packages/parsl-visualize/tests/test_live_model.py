"""A run's model kept up to date row by row must equal one built from scratch, and the truth of the rows.

Hypothesis writes a run as a monitoring hub would, in batches (statuses out of time order,
tries that start, fail while queued or never end, task rows updated), refreshing one model
after every batch. At the end that model, a model built in one go, and the states
computed here from the status rows must all agree.
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime
import itertools
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from parsl_monitor_core.schema import NodeSample, Resource, Status, Task, Try, Workflow, create_or_upgrade, table_of
from parsl_visualize.db import open_database
from parsl_visualize.live.log_bins import bin_of, histogram
from parsl_visualize.live.model import RunModel, TaskFilter
from parsl_visualize.states import STATE_ORDER

if TYPE_CHECKING:
    from pathlib import Path

    from hypothesis.strategies import DrawFn

START = datetime.datetime(2026, 5, 1, 12, 0, 0)  # noqa: DTZ001 - stored naive, as the hub does
RUN = "run-model"
DEPENDENCY_FAILED = "DependencyError([(ValueError('x'), 'task 1')], 2)"
APPS = ("load", "fit", "plot")


def at(seconds: float) -> datetime.datetime:
    return START + datetime.timedelta(seconds=seconds)


@st.composite
def batches(draw: DrawFn) -> list[list[tuple[str, dict[str, Any]]]]:
    """Batches of (table, row) writes: task rows, try rows and status rows of up to 12 tasks.

    As Parsl's DatabaseManager and our hub write them, a task's row is inserted once and
    every later change of its task or try rows comes with a status row of that task.
    Everything is drawn, so a failing example replays (no counter shared between examples).
    """
    out = []
    written: set[tuple[Any, ...]] = set()  # statuses' keys: a duplicate is ignored
    unique, samples = itertools.count(1), itertools.count(1)
    with_host: set[int] = set()  # a try's samples follow its first message, which names its host
    for _ in range(draw(st.integers(1, 6))):
        batch = []
        for _ in range(draw(st.integers(1, 12))):
            task_id = draw(st.integers(0, 11))
            kind = draw(st.sampled_from(["status", "status", "task", "try", "resource", "node"]))
            seconds = draw(st.integers(0, 120_000_000)) / 1_000_000  # microseconds, ties possible
            if kind == "status":
                state = draw(st.sampled_from(STATE_ORDER))
                try_id = draw(st.integers(0, 2))
                row = {"task_id": task_id, "task_status_name": state, "timestamp": at(seconds), "try_id": try_id}
            elif kind == "task":
                returned = draw(st.one_of(st.none(), st.floats(0, 200)))
                row = {
                    "task_id": task_id,
                    "task_func_name": draw(st.sampled_from(APPS)),
                    "task_time_invoked": at(seconds),
                    "task_time_returned": None if returned is None else at(seconds + returned),
                    "task_fail_count": draw(st.integers(0, 3)),
                    "task_depends": ",".join(map(str, range(task_id % 3))) or None,
                }
            elif kind == "resource" and task_id in with_host:  # from one sender, in time order
                sample = next(samples)
                row = {
                    "task_id": task_id,
                    "try_id": 0,
                    "timestamp": at(sample * 0.5),
                    "resource_monitoring_interval": 1.0,
                    "psutil_process_time_user": sample * draw(st.floats(0, 1)),
                    "psutil_process_time_system": 0.0,
                    "psutil_process_memory_resident": draw(st.floats(0, 4e9)),
                }
            elif kind in {"node", "resource"}:
                kind = "node"
                row = {
                    "hostname": draw(st.sampled_from(["n1", "n2"])),
                    "timestamp": at(next(samples) * 0.5),
                    "cpu_percent": draw(st.floats(0, 100)),
                    "memory_used": draw(st.integers(0, 2**40)),
                }
            else:
                times = sorted(draw(st.lists(st.floats(0, 100), min_size=3, max_size=3)))
                ran = draw(st.booleans())
                ended = draw(st.booleans())
                row = {
                    "task_id": task_id,
                    "try_id": draw(st.integers(0, 1)),
                    "hostname": f"n{task_id % 2 + 1}"
                    if task_id in with_host
                    else draw(st.sampled_from([f"n{task_id % 2 + 1}", None])),
                    "task_try_time_launched": at(times[0]),
                    "task_try_time_running": at(times[1]) if ran else None,
                    "task_try_time_returned": at(times[2]) if ended else None,
                    "task_fail_history": draw(st.sampled_from(FAILURES)),
                }
            batch.append((kind, row))
            if kind == "try" and row["try_id"] == 0 and row["hostname"]:
                with_host.add(task_id)
            if kind in {"task", "try"}:  # every change of a task or try row comes with a status row of its own
                state = draw(st.sampled_from(STATE_ORDER))
                stamp = at(seconds) + datetime.timedelta(microseconds=next(unique))
                while (task_id, state, stamp) in written:  # a duplicate would be ignored, and the change missed
                    stamp += datetime.timedelta(microseconds=next(unique))
                status = {"task_id": task_id, "task_status_name": state, "timestamp": stamp, "try_id": 0}
                batch.append(("status", status))
            if batch[-1][0] == "status":
                key = batch[-1][1]
                written.add((key["task_id"], key["task_status_name"], key["timestamp"]))
        out.append(batch)
    return out


FAILURES = (None, "", "KeyError('s_1')", "KeyError('s_22')", "ValueError('bad\\nline')", DEPENDENCY_FAILED)

TASK_DEFAULTS = {"run_id": RUN, "task_memoize": "False", "task_fail_cost": 0.0}
TRY_DEFAULTS = {"run_id": RUN, "task_executor": "htex"}


def _upsert(model: Any, row: dict[str, Any]) -> Any:
    table = table_of(model)
    statement = sqlite_insert(table).values(row)
    keys = [column.name for column in table.primary_key.columns]
    return statement.on_conflict_do_update(index_elements=keys, set_={k: v for k, v in row.items() if k not in keys})


def write(engine: Any, batch: list[tuple[str, dict[str, Any]]]) -> None:
    """One transaction, as the hub writes a batch: statuses appended, task and try rows updated in place."""
    with engine.begin() as conn:
        for kind, row in batch:
            if kind == "status":
                conn.execute(table_of(Status).insert().prefix_with("OR IGNORE"), {**row, "run_id": RUN})
            elif kind == "task":
                conn.execute(_upsert(Task, {**TASK_DEFAULTS, **row}))
            elif kind == "resource":
                conn.execute(table_of(Resource).insert().prefix_with("OR IGNORE"), {**row, "run_id": RUN})
            elif kind in {"node", "resource"}:
                conn.execute(table_of(NodeSample).insert().prefix_with("OR IGNORE"), {**row, "run_id": RUN})
            else:
                conn.execute(_upsert(Try, {**TRY_DEFAULTS, **row}))


ALONG_A_TRY = ("pending", "launched", "running", "running_ended", "joining")
"""How one try of a task goes in Parsl's DataFlowKernel; then it ends (fail_retryable or final)."""
ENDINGS = ("fail_retryable", "exec_done", "memo_done", "failed", "dep_fail")


def truth(batches: list[list[tuple[str, dict[str, Any]]]]) -> dict[int, str]:
    """Each task's newest status: its newest try's furthest state, whatever the times say.

    The times come from two clocks (the program's, the worker's), so they can disagree
    with the path. A task cannot end twice in one try; drawn rows can, so endings are
    ordered among themselves too.
    """
    newest: dict[int, tuple[int, int, datetime.datetime, str]] = {}
    stored: set[tuple[int, str, datetime.datetime]] = set()  # the primary key: a second row is ignored
    for batch in batches:
        for kind, row in batch:
            if kind == "status" and (row["task_id"], row["task_status_name"], row["timestamp"]) not in stored:
                stored.add((row["task_id"], row["task_status_name"], row["timestamp"]))
                state = row["task_status_name"]
                key = (row["try_id"], (*ALONG_A_TRY, *ENDINGS).index(state), row["timestamp"], state)
                newest[row["task_id"]] = max(newest.get(row["task_id"], key), key)
    return {task_id: key[3] for task_id, key in newest.items()}


def seen(model: RunModel, conn: Any) -> dict[str, Any]:
    """Everything the pages read from a model, in comparable form.

    The timeline is compared on an axis reaching far beyond every time written: a model
    that saw a time later corrected to an earlier one may already hold coarser slots.
    """
    model.completed = (START - datetime.datetime(1970, 1, 1)).total_seconds() + 10_000  # noqa: DTZ001
    axis = model.axis(None)
    assert axis is not None
    everything = model.task_page(TaskFilter(per_page=1000))
    usage = model.resources(conn)
    resource_axis = usage.axis(model.completed)
    resources = (usage.over_time(resource_axis), usage.per_app(model.tasks.apps), usage.nodes(resource_axis))
    return {
        "summary": model.summary(),
        "apps": model.apps(),
        "tasks": everything.rows,
        "hosts": model.host_names(),
        "concurrency": model.concurrency(axis),
        "gantt": model.gantt(1000, None),
        "resources": resources,
        "dag": (model.dag_groups("apps"), model.dag_groups("states")),
        "dependents": {t: model.dependents(t) for t in range(12)},
        "failures": model.failures(),
        "roots": {t: model.root_failure(t) for t in range(12)},
        "sorted": {
            (sort, descending, app): ids(model, TaskFilter(sort=sort, descending=descending, app=app, per_page=1000))
            for sort in TIME_SORTS
            for descending in (False, True)
            for app in (None, "fit")
        },
        "first page by run time": ids(model, TaskFilter(sort="running", descending=True, per_page=3)),
        "run time histograms": {app: model.run_time_histogram(app) for app in APPS},
        "by app": {app: ids(model, TaskFilter(app=app, per_page=1000)) for app in APPS},
    }


TIME_SORTS = ("invoked", "returned", "duration", "waiting", "queued", "running", "result")


def ids(model: RunModel, spec: TaskFilter) -> list[int]:
    return [row.task_id for row in model.task_page(spec).rows]


def assert_in_duration_order(model: RunModel, *, descending: bool) -> None:
    """The list sorted by duration is in the order of the Duration column it shows: known first, the rest by id.

    Ties within a microsecond are not checked: the model's float seconds since 1970 can split them.
    """
    rows = model.task_page(TaskFilter(sort="duration", descending=descending, per_page=1000)).rows
    shown = [row.task_id for row in rows]
    durations = {row.task_id: row.duration for row in rows}
    known = [t for t in shown if durations[t] is not None]
    assert shown[: len(known)] == known
    for a, b in itertools.pairwise(known):
        first, second = durations[a], durations[b]
        assert first is not None and second is not None
        if descending:
            first, second = second, first
        assert first <= second + 1e-6, (a, b)
    assert shown[len(known) :] == sorted(shown[len(known) :], reverse=descending)


@pytest.fixture
def fresh_db(tmp_path: Path) -> Any:
    def make(name: str) -> tuple[Any, str]:
        path = tmp_path / name
        engine = create_engine(f"sqlite:///{path}")
        create_or_upgrade(engine)
        with engine.begin() as conn:
            conn.execute(
                table_of(Workflow).insert(),
                {
                    "run_id": RUN,
                    "time_began": START,
                    "host": "h",
                    "user": "u",
                    "rundir": "/r",
                    "tasks_completed_count": 0,
                    "tasks_failed_count": 0,
                },
            )
        return engine, str(path)

    return make


counter = iter(range(10**9))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(written=batches())
def test_a_model_followed_batch_by_batch_equals_one_built_at_the_end_and_the_truth(
    fresh_db: Any, written: list[list[tuple[str, dict[str, Any]]]]
) -> None:
    engine, path = fresh_db(f"run-{next(counter)}.db")
    db = open_database(path)
    followed = RunModel(RUN)
    charts_late = RunModel(RUN)  # a task list open during the run; the summary's charts asked for at the end
    with db.engine.connect() as conn:
        followed.refresh(conn)
        followed.resources(conn)  # followed from the start, as on a page opened before the run
        followed.axis(None)  # the summary's timeline too
        for batch in written:
            write(engine, batch)
            followed.refresh(conn)
            followed.summary()  # as a page open during the run: phases then follow row by row
            ids(followed, TaskFilter(sort="running", descending=True))  # the list by run time, followed too
            ids(followed, TaskFilter(sort="duration"))
            charts_late.refresh(conn)
        built = RunModel(RUN)
        built.refresh(conn)
        followed_seen, built_seen, late_seen = seen(followed, conn), seen(built, conn), seen(charts_late, conn)
    db.engine.dispose()
    engine.dispose()
    assert followed_seen == built_seen == late_seen
    rows = built.task_page(TaskFilter(per_page=1000)).rows
    states = {row.task_id: row.state for row in rows}
    assert {t: s for t, s in states.items() if s != "unknown"} == truth(written)
    counts = collections.Counter(s for s in states.values() if s != "unknown")
    for descending in (False, True):
        assert_in_duration_order(built, descending=descending)
    for app in APPS:  # an app page lists the tasks the whole list shows with its app
        assert built_seen["by app"][app] == [row.task_id for row in rows if row.app == app]
    for app in APPS:  # an app page's run time histogram counts what its task list's Running column shows
        shown = collections.Counter(bin_of(row.running) for row in rows if row.app == app and row.running is not None)
        assert built.run_time_histogram(app) == histogram(shown)
    assert dict(built.summary().states) == dict(counts)
    for series in [*built_seen["concurrency"].phases.values(), *built_seen["concurrency"].running_by_app.values()]:
        assert min(series, default=0) >= 0
    failed_tries = failure_truth(written)
    report = built_seen["failures"]
    assert report.failed_tries == sum(failed_tries.values())
    assert {(g.type, g.pattern): g.tries for g in report.groups} == failed_tries


def failure_truth(batches: list[list[tuple[str, dict[str, Any]]]]) -> collections.Counter[tuple[str, str]]:
    """Failed tries per (type, message with numbers folded), from the last row written of each try."""
    last: dict[tuple[int, int], str | None] = {}
    for batch in batches:
        for kind, row in batch:
            if kind == "try":
                last[row["task_id"], row["try_id"]] = row["task_fail_history"]
    named = {"KeyError('s_1')": ("KeyError", "'s_#'"), "KeyError('s_22')": ("KeyError", "'s_#'")}
    named["ValueError('bad\\nline')"] = ("ValueError", "bad")
    return collections.Counter(named[text] for text in last.values() if text and text != DEPENDENCY_FAILED)


def test_pages_read_the_model_while_a_refresh_waits_for_the_database(fresh_db: Any) -> None:
    """A refresh reads new rows without holding the lock pages read under: they show the model as it was until then.

    The database is in rollback mode (as Parsl's own are) and a writer holds it locked,
    so the refresh's read waits, as a slow scan would on a big run.
    """
    engine, path = fresh_db("locked.db")
    write(
        engine,
        [("status", {"task_id": t, "task_status_name": "pending", "timestamp": at(t), "try_id": 0}) for t in range(5)],
    )
    engine.dispose()
    db = open_database(path)
    model = RunModel(RUN)
    with db.engine.connect() as conn:
        model.refresh(conn)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    for t in range(5):
        writer.execute(
            "INSERT INTO status (task_id, task_status_name, timestamp, run_id, try_id) "
            "VALUES (?, 'exec_done', ?, ?, 0)",
            (t, at(100 + t).strftime("%Y-%m-%d %H:%M:%S.%f"), RUN),
        )
    refreshed: list[bool] = []

    def refresh() -> None:
        with db.engine.connect() as conn:
            refreshed.append(model.refresh(conn))

    reader = threading.Thread(target=refresh)
    reader.start()
    time.sleep(0.5)  # the refresh is waiting for the writer's lock (SQLite's busy wait, 5 s)
    pages = concurrent.futures.ThreadPoolExecutor(1)
    before = pages.submit(model.summary).result(timeout=3.0)
    assert reader.is_alive(), "the page waited for the refresh"
    pages.shutdown(wait=False)
    writer.execute("COMMIT")
    writer.close()
    reader.join(timeout=10.0)
    assert refreshed == [True]
    assert dict(before.states) == {"pending": 5}
    assert dict(model.summary().states) == {"exec_done": 5}
    db.engine.dispose()
