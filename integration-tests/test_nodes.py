"""Nodes and blocks of real runs: what the machine had, what each block went through, and why an executor gave up."""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.request
from typing import TYPE_CHECKING, Any

import psutil
import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from conftest import ViewerProcess

    Runs = dict[str, tuple[Path, dict[str, Any]]]
    StartViewer = Callable[[str], ViewerProcess]

pytestmark = pytest.mark.slow


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
        return response.read().decode()  # type: ignore[no-any-return]


@pytest.mark.parametrize("writer", ["ours", "parsl"])
def test_the_worker_pool_is_this_machine_and_the_block_went_from_pending_to_scaled_in(
    mixed_runs: Runs, start_viewer: StartViewer, writer: str
) -> None:
    run_dir, summary = mixed_runs[writer]
    db = run_dir / "monitoring.db"
    viewer = start_viewer(str(db))
    answer = json.loads(_get(f"{viewer.url}/api/workflow/{summary['run_id']}/nodes"))
    (pool,) = answer["nodes"]  # one block of one worker pool on this machine
    assert (pool["cores"], pool["memory"]) == (os.cpu_count(), psutil.virtual_memory().total)
    assert pool["workers"] == min(2, os.cpu_count() or 1)  # max_workers_per_node=2
    with sqlite3.connect(db) as conn:  # the truth: the pool's rows, oldest and newest
        rows = conn.execute("SELECT timestamp, worker_count, active FROM node ORDER BY id").fetchall()
        states = [s for (s,) in conn.execute("SELECT status FROM block ORDER BY timestamp")]
    assert pool["first_seen"].replace("T", " ") == rows[0][0] and pool["last_seen"].replace("T", " ") == rows[-1][0]
    assert pool["active"] == bool(rows[-1][2])
    (block,) = answer["blocks"]
    assert [s["status"] for s in block["states"]] == states
    # Parsl records a block's state when its poller looks (every few seconds): a short run's
    # block may go from PENDING to SCALED_IN without a RUNNING seen in between.
    assert states[0] == "PENDING" and states[-1] == "SCALED_IN"
    assert set(states) <= {"PENDING", "RUNNING", "SCALED_IN"}
    resources = _get(f"{viewer.url}/workflow/{summary['run_id']}/resource_usage")
    assert "capacity of the nodes" in resources and 'id="chart-utilisation"' in resources


def test_a_block_whose_workers_never_started_shows_missing_and_the_executor_s_reason(
    failing_runs: Runs, start_viewer: StartViewer
) -> None:
    run_dir, truth = failing_runs["broken"]
    viewer = start_viewer(str(run_dir / "monitoring.db"))
    answer = json.loads(_get(f"{viewer.url}/api/workflow/{truth['run_id']}/nodes"))
    assert answer["nodes"] == []
    (block,) = answer["blocks"]
    assert block["states"][-1]["status"] in {"MISSING", "FAILED"}
    page = _get(f"{viewer.url}/workflow/{truth['run_id']}/nodes")
    reason = page[page.index("Why the executor gave up") : page.index("Worker pools")]
    assert "parsl-monitor-no-such-command: command not found" in reason
    assert "No worker pool registered" in page
