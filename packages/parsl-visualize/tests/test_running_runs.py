"""The server reads running runs when it starts and keeps them current: pages right, ended runs left alone.

Real SQLite files written as the hub writes them (task, try, status and resource rows in
transactions), the real application with its start-up hook, and the truth counted here
from the rows written.
"""

from __future__ import annotations

import collections
import datetime
import re
import threading
import time
from typing import TYPE_CHECKING, Any

from litestar.testing import TestClient
from sqlalchemy import create_engine, event

from parsl_monitor_core.schema import Resource, Status, Task, Try, Workflow, create_or_upgrade, table_of
from parsl_visualize.app import create_app
from parsl_visualize.db import open_database
from parsl_visualize.live.model import RunModel, TaskFilter
from parsl_visualize.live.registry import ModelRegistry
from parsl_visualize.live.running_runs import FOLLOW_EVERY, LEEWAY, RunningRunReader
from parsl_visualize.queries.workflows import WorkflowRow, find_workflow

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Connection, Engine

RUNNING, QUIET, ENDED = "run-running", "run-quiet", "run-ended"
TOKEN = re.compile(r'hx-vals=\'\{"since": "([^"]+)"\}\'')
STATES = ("pending", "launched", "running", "exec_done", "failed")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _database(path: Path) -> Engine:
    """Three runs: one running (messages now), one quiet for an hour without an end, one ended."""
    engine = create_engine(f"sqlite:///{path}")
    create_or_upgrade(engine)
    now = _now()
    with engine.begin() as conn:
        for run_id, began, ended in (
            (RUNNING, now, None),
            (QUIET, now - datetime.timedelta(hours=2), None),
            (ENDED, now - datetime.timedelta(hours=3), now - datetime.timedelta(hours=2)),
        ):
            conn.execute(
                table_of(Workflow).insert(),
                {
                    "run_id": run_id,
                    "workflow_name": run_id,
                    "time_began": began,
                    "time_completed": ended,
                    "host": "h",
                    "user": "u",
                    "rundir": "/r",
                    "tasks_completed_count": 0,
                    "tasks_failed_count": 0,
                },
            )
    write_tasks(engine, QUIET, range(3), "exec_done", _now() - datetime.timedelta(hours=1))
    write_tasks(engine, ENDED, range(3), "exec_done", _now() - datetime.timedelta(hours=2))
    return engine


def write_tasks(engine: Engine, run_id: str, task_ids: range, state: str, at: datetime.datetime) -> None:
    """One transaction: each task's row, its try and its statuses up to ``state``, and one resource sample."""
    with engine.begin() as conn:
        for task_id in task_ids:
            moment = at + datetime.timedelta(milliseconds=task_id)
            conn.execute(
                table_of(Task).insert().prefix_with("OR REPLACE"),
                {
                    "task_id": task_id,
                    "run_id": run_id,
                    "task_func_name": f"app{task_id % 3}",
                    "task_memoize": "False",
                    "task_fail_cost": 0.0,
                    "task_time_invoked": moment,
                    "task_time_returned": moment if state in {"exec_done", "failed"} else None,
                    "task_fail_count": int(state == "failed"),
                    "task_depends": str(task_id - 1) if task_id else None,
                },
            )
            reached = STATES[: STATES.index(state) + 1] if state != "failed" else (*STATES[:3], "failed")
            for i, name in enumerate(reached):
                conn.execute(
                    table_of(Status).insert().prefix_with("OR IGNORE"),
                    {
                        "task_id": task_id,
                        "run_id": run_id,
                        "try_id": 0,
                        "task_status_name": name,
                        "timestamp": moment + datetime.timedelta(microseconds=i),
                    },
                )
            if state == "pending":
                continue
            conn.execute(
                table_of(Try).insert().prefix_with("OR REPLACE"),
                {
                    "task_id": task_id,
                    "try_id": 0,
                    "run_id": run_id,
                    "hostname": "n1",
                    "task_executor": "htex",
                    "task_try_time_launched": moment,
                    "task_try_time_running": moment if state != "launched" else None,
                    "task_try_time_returned": moment if state in {"exec_done", "failed"} else None,
                    "task_fail_history": "ValueError('x')" if state == "failed" else None,
                },
            )
            conn.execute(
                table_of(Resource).insert(),
                {
                    "task_id": task_id,
                    "try_id": 0,
                    "run_id": run_id,
                    "timestamp": moment,
                    "resource_monitoring_interval": 1.0,
                    "psutil_process_time_user": 0.5,
                    "psutil_process_time_system": 0.0,
                    "psutil_process_memory_resident": 1e6,
                },
            )


def running_row(conn: Connection) -> WorkflowRow:
    run = find_workflow(conn, RUNNING, _now())
    assert run is not None
    return run


def shown(model: RunModel, conn: Connection) -> dict[str, Any]:
    """What the pages read of a model, comparable between a followed one and one built afresh."""
    rows = model.task_page(TaskFilter(per_page=10_000)).rows
    return {
        "summary": model.summary(),
        "apps": model.apps(),
        "states": {row.task_id: row.state for row in rows},
        "samples": model.resources(conn).samples,
    }


def test_the_server_reads_the_running_run_at_start_and_follows_it(tmp_path: Path) -> None:
    engine = _database(tmp_path / "m.db")
    write_tasks(engine, RUNNING, range(40), "exec_done", _now())
    write_tasks(engine, RUNNING, range(40, 50), "running", _now())
    told: list[str] = []
    db = open_database(str(tmp_path / "m.db"))
    with TestClient(app=create_app(db, follow_running=told.append), base_url="http://127.0.0.1") as client:
        deadline = time.monotonic() + 60
        while not told and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(told) == 1, told  # the running run only: not the quiet one, not the ended one
        assert re.fullmatch(rf"read running run {RUNNING} \({RUNNING}\): 50 tasks in \d+\.\d s; .*", told[0])
        # The run goes on: 10 tasks finish, 20 new ones come; the server reads them in the
        # background, and pages show them within one look (FOLLOW_EVERY plus its leeway).
        write_tasks(engine, RUNNING, range(40, 50), "exec_done", _now())
        write_tasks(engine, RUNNING, range(50, 60), "failed", _now())
        write_tasks(engine, RUNNING, range(60, 70), "pending", _now())
        written = time.monotonic()
        summary = client.get(f"/api/workflow/{RUNNING}").json()["summary"]
        while summary["tasks"] != 70 and time.monotonic() < deadline:
            assert summary["tasks"] in {50, 60}  # before the next look: the run as a look left it, mid-write or before
            time.sleep(0.1)
            summary = client.get(f"/api/workflow/{RUNNING}").json()["summary"]
        caught_up = time.monotonic() - written
        page = client.get(f"/workflow/{RUNNING}/task/?state=pending").text
    db.engine.dispose()
    assert caught_up < FOLLOW_EVERY + LEEWAY + 1.0  # the bound the docs give, and a second for this test's polls
    assert summary["tasks"] == 70
    assert dict(summary["states"]) == {"exec_done": 50, "failed": 10, "pending": 10}
    assert sorted(map(int, re.findall(r'class="task-link" href="[^"]+">(\d+)</a>', page))) == list(range(60, 70))
    assert len(told) == 1  # told once per run, not on every look


def test_a_run_followed_in_the_background_equals_one_built_afresh(tmp_path: Path) -> None:
    engine = _database(tmp_path / "m.db")
    db = open_database(str(tmp_path / "m.db"))
    models = ModelRegistry()
    reader = RunningRunReader(db, models, report=lambda _line: None)
    truth: dict[int, str] = {}
    for step, state in enumerate(("pending", "launched", "running", "exec_done", "failed")):
        ids = range(step * 10, step * 10 + 15)  # overlapping: five tasks of each step move on
        write_tasks(engine, RUNNING, ids, state, _now())
        truth.update(dict.fromkeys(ids, state))
        reader.sweep()
    assert QUIET not in models and ENDED not in models
    with db.engine.connect() as conn:
        followed = models.model(conn, RUNNING)
        built = RunModel(RUNNING)
        built.refresh(conn)
        followed_shown, built_shown = shown(followed, conn), shown(built, conn)
    db.engine.dispose()
    assert followed_shown == built_shown
    assert built_shown["samples"] == 4 * 15  # one per write of a task with a try (the pending ones have none)
    assert built_shown["states"] == truth
    assert dict(built.summary().states) == dict(collections.Counter(truth.values()))


def test_a_running_run_too_big_to_keep_does_not_push_out_what_people_look_at(tmp_path: Path) -> None:
    engine = _database(tmp_path / "m.db")
    write_tasks(engine, RUNNING, range(30), "running", _now())
    db = open_database(str(tmp_path / "m.db"))
    models = ModelRegistry(max_tasks=10)
    told: list[str] = []
    reader = RunningRunReader(db, models, report=told.append)
    with db.engine.connect() as conn:
        models.model(conn, QUIET)  # someone looks at the quiet run (3 tasks)
    reader.sweep()
    reader.sweep()
    db.engine.dispose()
    assert QUIET in models and RUNNING not in models
    assert told == [
        f"running run {RUNNING} ({RUNNING}) is too big to keep in memory with the runs already open: its "
        "pages read it when opened"
    ]


def test_a_page_takes_a_followed_model_as_it_is_until_the_next_look_or_the_run_ends(tmp_path: Path) -> None:
    engine = _database(tmp_path / "m.db")
    write_tasks(engine, RUNNING, range(10), "running", _now())
    db = open_database(str(tmp_path / "m.db"))
    models = ModelRegistry()
    seen: list[dict[str, int]] = []
    with db.engine.connect() as conn:

        def look(*, running: bool) -> None:
            seen.append(dict(models.model(conn, RUNNING, running=running).summary().states))
            conn.rollback()

        models.follow(conn, running_row(conn), db.seconds_now(), fresh_for=0.5)
        conn.rollback()
        write_tasks(engine, RUNNING, range(10), "exec_done", _now())
        look(running=True)  # the run as the reader's look left it
        time.sleep(0.6)  # the next look is late (say the reader stopped): the page reads the new rows itself
        look(running=True)
        models.follow(conn, running_row(conn), db.seconds_now(), fresh_for=60.0)
        conn.rollback()
        write_tasks(engine, RUNNING, range(10, 15), "failed", _now())
        look(running=True)
        look(running=False)  # the run has ended: its last page is whole at once
    db.engine.dispose()
    assert seen == [{"running": 10}, {"exec_done": 10}, {"exec_done": 10}, {"exec_done": 10, "failed": 5}]


def test_a_poll_of_a_followed_run_that_finds_nothing_new_reads_no_database(tmp_path: Path) -> None:
    """The page takes the run's row and model as the background reader's look left them; new rows still come."""
    engine = _database(tmp_path / "m.db")
    write_tasks(engine, RUNNING, range(20), "running", _now())
    told: list[str] = []
    db = open_database(str(tmp_path / "m.db"))
    from_pages: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread().name != "running-run-reader":
            from_pages.append(statement)

    page = f"/workflow/{RUNNING}/"
    polls = []
    with TestClient(app=create_app(db, follow_running=told.append), base_url="http://127.0.0.1") as client:
        deadline = time.monotonic() + 60
        while not told and time.monotonic() < deadline:
            time.sleep(0.05)
        token = TOKEN.search(client.get(page).text)
        assert token is not None
        for _ in range(5):
            from_pages.clear()
            answer = client.get(page, params={"since": token.group(1)}, headers={"HX-Request": "true"})
            polls.append((answer.status_code, len(from_pages)))
        write_tasks(engine, RUNNING, range(20), "exec_done", _now())
        answer = client.get(page, params={"since": token.group(1)}, headers={"HX-Request": "true"})
        while answer.status_code == 204 and time.monotonic() < deadline:
            time.sleep(0.1)
            answer = client.get(page, params={"since": token.group(1)}, headers={"HX-Request": "true"})
        states = client.get(f"/api/workflow/{RUNNING}").json()["summary"]["states"]
    db.engine.dispose()
    assert polls == [(204, 0)] * 5
    assert answer.status_code == 200  # the fragment with the new rows
    new_token = TOKEN.search(answer.text)
    assert new_token is not None and new_token.group(1) != token.group(1)
    assert dict(states) == {"exec_done": 20}
