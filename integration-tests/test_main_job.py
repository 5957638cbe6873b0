"""The README's main job (examples/demo.py) and the benchmarks keep working."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow


def test_the_demo_workflow_is_monitored_into_runinfo(tmp_path: Path, parsl_environment: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--tasks", "6"],
        cwd=tmp_path,
        env=parsl_environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    db = tmp_path / "runinfo" / "monitoring.db"
    assert f"monitoring database: {db}" in result.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from task").fetchone() == (6 + 4 + 1 + 1 + 1 + 1,)
        states = dict(conn.execute("select task_status_name, count(*) from status group by 1").fetchall())
        assert states["failed"] == 1  # broken_step
        assert states["fail_retryable"] == 2  # calibrate (then succeeds) and broken_step (then fails for good)
        assert conn.execute("select count(*) from resource where psutil_process_memory_resident > 0").fetchone()[0] > 0


def test_the_benchmarks_still_run(tmp_path: Path, parsl_environment: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--json", str(tmp_path / "results.json")],
        cwd=ROOT,
        env=parsl_environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ingest resource" in result.stdout
    assert "backlog ours :     5,000 of 5,000 stored" in result.stdout
    assert "no-op tasks" in result.stdout
