"""The dashboard during a run: a real workflow held mid-way, compared with the truth of its status rows.

The truth is computed here, in plain Python, from the snapshot's ``status`` rows: a task's
state is its newest status, and a final state wins a tie of timestamps. Every count,
filter, App Summary column, DAG colour, CSV row and task page must agree with it.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from litestar.testing import TestClient

from parsl_visualize.app import create_app
from parsl_visualize.db import open_database

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from litestar import Litestar

MIDRUN = Path(__file__).parent / "workflows" / "midrun.py"
FINAL = {"exec_done", "memo_done", "failed", "dep_fail"}
MID_RUN_STATES = {"pending": 3, "launched": 1, "running": 1, "exec_done": 3, "failed": 1, "dep_fail": 1}
"""What workflows/midrun.py holds still at: at least this many tasks in each state, and its four blocked
tasks all queued or running (two run; a worker may start a task before the DataFlowKernel stamps its
launch, and then the newest status of that running task is "launched")."""


def held_still(counts: collections.Counter[str]) -> bool:
    return (
        all(counts[state] >= n for state, n in MID_RUN_STATES.items()) and counts["launched"] + counts["running"] == 4
    )


def truth(db: Path, run_id: str) -> dict[int, str]:
    """Each task's newest status, from the status rows alone."""
    newest: dict[int, tuple[str, bool, str]] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("select task_id, timestamp, task_status_name from status where run_id = ?", (run_id,))
        for task_id, timestamp, state in rows:
            key = (timestamp, state in FINAL, state)
            if task_id not in newest or key > newest[task_id]:
                newest[task_id] = key
    return {task_id: key[2] for task_id, key in newest.items()}


def apps_of(db: Path, run_id: str) -> dict[int, str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return dict(conn.execute("select task_id, task_func_name from task where run_id = ?", (run_id,)).fetchall())


def snapshot(db: Path, to: Path) -> None:
    """A consistent copy of a database being written (SQLite's online backup)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as source, sqlite3.connect(to) as target:
        source.backup(target)


class MidRun:
    """workflows/midrun.py, running until :meth:`release`."""

    def __init__(self, tmp_path: Path, env: dict[str, str], *args: str) -> None:
        self.run_dir = tmp_path / "runinfo"
        self.release_file = tmp_path / "release"
        self.process = subprocess.Popen(
            [sys.executable, str(MIDRUN), "--run-dir", str(self.run_dir), "--release", str(self.release_file), *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, self.process.stderr.read()  # type: ignore[union-attr]
        self.run_id: str = json.loads(line)["run_id"]
        self.db = self.run_dir / "monitoring.db"

    def wait_for(self, wanted: Callable[[collections.Counter[str]], bool], timeout: float = 120) -> dict[int, str]:
        deadline = time.monotonic() + timeout
        while True:
            states: dict[int, str] = {}
            if self.db.exists():
                with contextlib.suppress(sqlite3.OperationalError):  # tables not created yet
                    states = truth(self.db, self.run_id)
            counts = collections.Counter(states.values())
            if wanted(counts):
                return states
            assert time.monotonic() < deadline, f"the workflow never got there: {dict(counts)}"
            time.sleep(0.2)

    def release(self) -> None:
        self.release_file.touch()
        _out, err = self.process.communicate(timeout=300)
        assert self.process.returncode == 0, err[-3000:]


@pytest.fixture(params=["ours", "parsl"])
def held(request: pytest.FixtureRequest, tmp_path: Path, parsl_environment: dict[str, str]) -> Iterator[Path]:
    """A snapshot of a real workflow's database taken mid-run, written by our hub or by Parsl's monitoring."""
    run = MidRun(tmp_path, parsl_environment, "--monitoring", request.param)
    try:
        run.wait_for(held_still)
        time.sleep(1.5)  # let resource samples and node records of the held state arrive too
        run.wait_for(held_still)
        snapshot(run.db, tmp_path / "snapshot.db")
    finally:
        run.release()
    yield tmp_path / "snapshot.db"


def client_for(db: Path) -> TestClient[Litestar]:
    return TestClient(app=create_app(open_database(str(db))))


def only_run(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        (run_id,) = conn.execute("select run_id from workflow").fetchone()
    return str(run_id)


def test_every_view_of_a_run_held_mid_way_agrees_with_its_status_rows(held: Path) -> None:
    run_id = only_run(held)
    states = truth(held, run_id)
    apps = apps_of(held, run_id)
    counts = collections.Counter(states.values())
    assert held_still(counts), counts
    with client_for(held) as client:
        api = f"/api/workflow/{run_id}"
        summary = client.get(api).json()["summary"]
        assert dict(summary["states"]) == dict(counts)
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
            assert f'task/?state={state}">{n}</a>' in page, state


def test_charts_of_a_run_whose_workers_never_start_are_never_negative(
    tmp_path: Path, parsl_environment: dict[str, str]
) -> None:
    run = MidRun(tmp_path, parsl_environment, "--broken-workers")
    run.wait_for(lambda counts: counts["launched"] >= 4)
    snapshot(run.db, tmp_path / "held.db")
    run.release()  # no worker ever starts: Parsl fails the queued tasks
    for db in (tmp_path / "held.db", run.db):
        states = truth(db, run.run_id)
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
    assert set(truth(run.db, run.run_id).values()) <= {"failed", "dep_fail", "pending", "launched"}
