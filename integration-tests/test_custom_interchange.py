"""An executor with its own ``interchange_launch_cmd`` keeps it: node records then go through Parsl's router."""

from __future__ import annotations

import re
import sqlite3
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import RunWorkflow

pytestmark = pytest.mark.slow


def test_a_custom_interchange_command_falls_back_to_parsls_router(tmp_path: Path, run_mixed: RunWorkflow) -> None:
    run_dir = tmp_path / "runinfo"
    summary = run_mixed(run_dir, "ours", "--custom-interchange", "--noop", "20")
    assert "parsl: monitoring zmq router" in summary["helper_processes"]
    log = "".join(p.read_text() for p in run_dir.glob("*/htex/interchange.log"))
    assert "node records to the monitoring hub" not in log, "Parsl's own interchange ran"
    sent = len(re.findall(r"Sending message .* to MonitoringHub", log))
    with sqlite3.connect(run_dir / "monitoring.db") as conn:
        ((stored,),) = conn.execute("select count(*) from node").fetchall()
        ((tasks,),) = conn.execute("select count(*) from task").fetchall()
    assert stored == sent > 0
    assert tasks >= 20
