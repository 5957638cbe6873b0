"""The dashboard during a run: a real workflow held mid-way, compared with the truth of its status rows.

The truth is computed here, in plain Python, from the snapshot's ``status`` rows: a task's
state is its newest try's furthest status (conftest's ``status_truth``). Every count,
filter, App Summary column, DAG colour, CSV row and task page must agree with it, and the
tasks shown running with the tasks that said they had started.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import re
import sqlite3
import time
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest
from litestar.testing import TestClient

from parsl_visualize.app import create_app
from parsl_visualize.db import open_database

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from litestar import Litestar

MID_RUN_STATES = {"pending": 3, "launched": 1, "running": 2, "exec_done": 3, "failed": 1, "dep_fail": 1}
"""What workflows/midrun.py holds still at: at least this many tasks in each state, and its four blocked
tasks all queued or running (two run, one per worker)."""


def held_still(counts: collections.Counter[str]) -> bool:
    return (
        all(counts[state] >= n for state, n in MID_RUN_STATES.items()) and counts["launched"] + counts["running"] == 4
    )


def wait_held(run: Any) -> None:
    run.wait_for(held_still, timeout=120)


def apps_of(db: Path, run_id: str) -> dict[int, str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return dict(conn.execute("select task_id, task_func_name from task where run_id = ?", (run_id,)).fetchall())


def snapshot(db: Path, to: Path) -> None:
    """A consistent copy of a database being written (SQLite's online backup)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as source, sqlite3.connect(to) as target:
        source.backup(target)


class Held(NamedTuple):
    db: Path
    """A snapshot of the run's database."""
    started: int
    """Blocked tasks that had started when it was taken, as they said themselves (their ``started-N`` files)."""


@pytest.fixture(params=[("ours", "htex"), ("parsl", "htex"), ("ours", "threads"), ("parsl", "threads")], ids="-".join)
def held(request: pytest.FixtureRequest, tmp_path: Path, mid_run: Callable[..., Any]) -> Iterator[Held]:
    """A snapshot of a real workflow's database taken mid-run, written by our hub or by Parsl's monitoring.

    On a HighThroughputExecutor or a ThreadPoolExecutor: on the threads, a task's "running"
    is stamped before its "launched" (Parsl issue 4021).
    """
    monitoring, executor = request.param
    run = mid_run(tmp_path, "--monitoring", monitoring, "--executor", executor)
    try:
        wait_held(run)
        time.sleep(1.5)  # let resource samples and node records of the held state arrive too
        wait_held(run)
        snapshot(run.db, tmp_path / "snapshot.db")
        started = len(list(tmp_path.glob("started-*")))
    finally:
        run.release()
    yield Held(tmp_path / "snapshot.db", started)


def client_for(db: Path) -> TestClient[Litestar]:
    return TestClient(app=create_app(open_database(str(db))), base_url="http://127.0.0.1")


def only_run(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        (run_id,) = conn.execute("select run_id from workflow").fetchone()
    return str(run_id)


def test_every_view_of_a_run_held_mid_way_agrees_with_its_status_rows(
    held: Held, truth_of: Callable[[Path, str], dict[int, str]]
) -> None:
    run_id = only_run(held.db)
    states = truth_of(held.db, run_id)
    apps = apps_of(held.db, run_id)
    counts = collections.Counter(states.values())
    assert held_still(counts), counts
    with client_for(held.db) as client:
        api = f"/api/workflow/{run_id}"
        workflow = client.get(api).json()
        summary = workflow["summary"]
        assert dict(summary["states"]) == dict(counts)
        assert dict(summary["states"])["running"] == workflow["workflow"]["progress"]["running"] == held.started == 2
        for state in {*counts, "failures"}:
            page = client.get(f"{api}/tasks", params={"state": state, "per_page": 1000}).json()
            wanted = {
                t for t, s in states.items() if s == state or (state == "failures" and s in {"failed", "dep_fail"})
            }
            assert {row["task_id"] for row in page["rows"]} == wanted, state
            assert page["total"] == len(wanted)
        app_summary = {a["app"]: a for a in client.get(f"{api}/apps").json()}
        for app in set(apps.values()):
            mine = [states.get(t) for t, a in apps.items() if a == app]
            assert app_summary[app]["running"] == mine.count("running"), app
            assert app_summary[app]["failed"] == sum(s in {"failed", "dep_fail"} for s in mine), app
        for task_id, state in states.items():
            assert client.get(f"{api}/task/{task_id}").json()["state"] == state
        exported = csv.DictReader(io.StringIO(client.get(f"/workflow/{run_id}/tasks.csv").text))
        assert {int(row["task_id"]): row["state"] for row in exported} == states
        dag = client.get(f"/workflow/{run_id}/dag_group_by_states").text
        (option,) = re.findall(r'<script type="application/json" data-option-for="chart-dag">(.*?)</script>', dag, re.S)
        graph = json.loads(option)["series"][0]
        category = [c["name"] for c in graph["categories"]]
        drawn = {int(re.search(r"task (\d+)", n["name"]).group(1)): category[n["category"]] for n in graph["data"]}  # type: ignore[union-attr]
        assert drawn == states
        page = client.get(f"/workflow/{run_id}/").text
        for state, n in counts.items():
            assert f'task?state={state}">{n}</a>' in page, state


def test_charts_of_a_run_whose_workers_never_start_are_never_negative(
    tmp_path: Path, mid_run: Callable[..., Any], truth_of: Callable[[Path, str], dict[int, str]]
) -> None:
    run = mid_run(tmp_path, "--broken-workers")
    run.wait_for(lambda counts: counts["launched"] >= 4)
    snapshot(run.db, tmp_path / "held.db")
    run.release()  # no worker ever starts: Parsl fails the queued tasks
    for db in (tmp_path / "held.db", run.db):
        states = truth_of(db, run.run_id)
        with client_for(db) as client:
            summary = client.get(f"/api/workflow/{run.run_id}").json()["summary"]
            assert dict(summary["states"]) == dict(collections.Counter(states.values()))
            assert "running" not in dict(summary["states"])
            page = client.get(f"/workflow/{run.run_id}/").text
            charts = {
                chart_id: json.loads(option)
                for chart_id, option in re.findall(
                    r'<script type="application/json" data-option-for="([^"]+)">(.*?)</script>', page, re.S
                )
            }
            for chart_id, option in charts.items():
                for series in option.get("series", []):
                    values = [v[-1] if isinstance(v, list) else v for v in series.get("data", [])]
                    assert all(v is None or not isinstance(v, int | float) or v >= 0 for v in values), chart_id
            running = charts["chart-running-apps"]["series"]
            assert all(value == 0 for series in running for value in series["data"]), running
    assert set(truth_of(run.db, run.run_id).values()) <= {"failed", "dep_fail", "pending", "launched"}


def test_a_killed_program_s_run_is_shown_abandoned_not_completed(tmp_path: Path, mid_run: Callable[..., Any]) -> None:
    run = mid_run(tmp_path)
    wait_held(run)
    run.kill()
    deadline = time.monotonic() + 60  # the hub notices its program is gone, writes what it holds, ends the run
    while True:
        with sqlite3.connect(run.db) as conn:
            ended = conn.execute("select reason from parsl_monitor_run_end where run_id = ?", (run.run_id,)).fetchall()
        if ended:
            break
        assert time.monotonic() < deadline, "the hub never ended the killed program's run"
        time.sleep(0.5)
    assert ended == [("abandoned",)]
    with client_for(run.db) as client:
        assert {r["run_id"]: r["status"] for r in client.get("/api/workflows").json()} == {run.run_id: "abandoned"}
        page = client.get(f"/workflow/{run.run_id}/").text
        assert '<span class="run-status abandoned"' in page
