"""Several workflows, even concurrent ones, sharing one ``parsl-monitor-hub`` and one database."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from conftest import RunWorkflow

pytestmark = pytest.mark.slow

NOOPS = 300


@pytest.fixture
def shared_hub(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "shared.db"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "parsl_monitor_hub",
            "--db",
            str(db),
            "--bind",
            "tcp://127.0.0.1:*",
            "--log-file",
            str(tmp_path / "hub.log"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().split()[3].rstrip(",")
    yield url, db
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode == 0


def test_concurrent_workflows_share_one_hub(
    tmp_path: Path, shared_hub: tuple[str, Path], run_mixed: RunWorkflow
) -> None:
    url, db = shared_hub
    summaries: dict[str, dict[str, Any]] = {}

    def one(name: str) -> None:
        summaries[name] = run_mixed(tmp_path / name / "runinfo", "ours", "--hub-url", url, "--noop", str(NOOPS))

    threads = [threading.Thread(target=one, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(summaries) == {"first", "second"}
    # close() returned only after the shared hub confirmed: everything is there, hub still running.
    with sqlite3.connect(db) as conn:
        workflows = conn.execute("select run_id, time_completed from workflow order by run_id").fetchall()
        assert sorted(run_id for run_id, _ in workflows) == sorted(s["run_id"] for s in summaries.values())
        assert all(completed is not None for _, completed in workflows)
        per_run = dict(conn.execute("select run_id, count(*) from task group by run_id").fetchall())
        counts = set(per_run.values())
        assert len(counts) == 1
        assert counts.pop() >= NOOPS
        noop_states = conn.execute(
            "select count(*) from status join task using (run_id, task_id) where task_func_name = 'noop'"
        ).fetchone()[0]
        # pending, launched, running, running_ended, exec_done for every no-op task of both runs
        assert noop_states == 2 * NOOPS * 5
    assert not (tmp_path / "first" / "runinfo" / "monitoring.db").exists(), "the shared hub's database is used"
