"""Several workflows at once, writing one database: through one ``parsl-monitor-hub``, or each through its own."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
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


def test_two_workflows_started_in_one_directory_each_with_its_own_hub_both_land_whole_in_runinfo(
    tmp_path: Path, run_mixed: RunWorkflow
) -> None:
    """Two scripts started a moment apart in one project directory, with the default ``MonitoringHub()``.

    Each starts a hub of its own (the second finds port 55055 taken and picks another), and
    both hubs write the same ``runinfo/monitoring.db`` at the same time: SQLite takes one
    writer at a time, and neither hub may lose a row or fail for it.
    """
    run_dir = tmp_path / "runinfo"
    summaries: dict[str, dict[str, Any]] = {}

    def one(name: str) -> None:
        summaries[name] = run_mixed(run_dir, "ours", "--noop", str(NOOPS))

    first = threading.Thread(target=one, args=("first",))
    first.start()
    deadline = time.monotonic() + 60
    while not (run_dir / "000").exists() and time.monotonic() < deadline:  # Parsl numbers run dirs without a lock
        time.sleep(0.05)
    second = threading.Thread(target=one, args=("second",))
    second.start()
    first.join()
    second.join()
    assert set(summaries) == {"first", "second"}, "a workflow failed: see the assertion above"
    with sqlite3.connect(run_dir / "monitoring.db") as conn:
        spans = {
            run_id: (began, ended)
            for run_id, began, ended in conn.execute("select run_id, time_began, time_completed from workflow")
        }
        assert sorted(spans) == sorted(s["run_id"] for s in summaries.values())
        (began_a, ended_a), (began_b, ended_b) = spans.values()
        assert ended_a is not None and ended_b is not None
        assert began_a < ended_b and began_b < ended_a, "the two runs did not overlap"
        noop_states = dict(
            conn.execute(
                "select run_id, count(*) from status join task using (run_id, task_id) "
                "where task_func_name = 'noop' group by run_id"
            ).fetchall()
        )
        # pending, launched, running, running_ended, exec_done for every no-op task of each run
        assert noop_states == dict.fromkeys(spans, NOOPS * 5)
        nodes = dict(conn.execute("select run_id, count(*) from node group by run_id").fetchall())
        assert sorted(nodes) == sorted(spans)
    ends = [(run_dir / f"00{i}" / "monitoring_hub.log").read_text() for i in (0, 1)]
    ports = {re.findall(r"listening on tcp://127\.0\.0\.1:(\d+)", log)[0] for log in ends}
    assert len(ports) == 2, "each workflow had a hub of its own"
    for log in ends:
        stopped = re.search(r"stopped: (\d+) messages written, (\d+) rejected.*senders counted (\d+) lost", log)
        assert stopped is not None, log[-2000:]
        assert int(stopped.group(1)) > NOOPS * 5
        assert stopped.group(2) == stopped.group(3) == "0"
