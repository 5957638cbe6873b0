"""Several workflows, even concurrent ones, sharing one ``parsl-monitor-hub`` and one database."""

from __future__ import annotations

import sqlite3
import threading
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from conftest import HubProcess, RunWorkflow

    StartHub = Callable[[str], HubProcess]

pytestmark = pytest.mark.slow

NOOPS = 300


def test_concurrent_workflows_share_one_hub(tmp_path: Path, start_hub: StartHub, run_mixed: RunWorkflow) -> None:
    db = tmp_path / "shared.db"
    hub = start_hub(str(db))
    url = hub.url
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
        # each workflow's interchange sent its node records to the shared hub itself
        nodes = dict(conn.execute("select run_id, count(*) from node group by run_id").fetchall())
        assert sorted(nodes) == sorted(per_run)
        assert min(nodes.values()) >= NOOPS  # at least one per result
    assert not (tmp_path / "first" / "runinfo" / "monitoring.db").exists(), "the shared hub's database is used"
    assert hub.process.poll() is None, "the shared hub outlives its workflows"
    assert hub.stop() == 0
