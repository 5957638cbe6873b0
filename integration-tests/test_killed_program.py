"""A Parsl program killed alone (``kill -9 PID``, the OOM killer) mid-run: nothing it started runs on.

Parsl's own interchange runs on without its program, and its workers with it, holding a login
node's cores until someone finds them (Parsl issue 3663). With our hub the interchange is ours
to start: it exits, and the workers follow once they miss its heartbeats. The hub, which
watches the program too, serves on for two seconds, so the interchange's last records are stored.
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import TYPE_CHECKING, Any

import psutil
import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.slow

HEARTBEAT_THRESHOLD = 6
"""Seconds the workers wait for a silent interchange (Parsl's default is 120)."""


def test_a_program_killed_alone_leaves_no_interchange_or_worker_running(
    tmp_path: Path, mid_run: Callable[..., Any], node_records_of: Callable[[Path], tuple[int, str]]
) -> None:
    run = mid_run(tmp_path, "--heartbeat-threshold", str(HEARTBEAT_THRESHOLD))
    run.wait_for(lambda counts: counts["launched"] + counts["running"] == 4)  # two tasks run, two wait
    commands = run.started()
    left = list(commands)
    kinds = {"interchange": "parsl: HTEX interchange", "workers": "process_worker_pool"}
    found = {kind: [p for p, command in commands.items() if text in command] for kind, text in kinds.items()}
    assert all(found.values()), commands
    psutil.Process(run.process.pid).kill()  # the program only
    run.process.wait(timeout=60)
    try:
        _, alive = psutil.wait_procs(found["interchange"], timeout=30)
        assert not alive, "the interchange runs on without its program"
        _, alive = psutil.wait_procs(left, timeout=HEARTBEAT_THRESHOLD + 60)
        assert not alive, {p.pid: commands[p] for p in alive}
    finally:
        for process in left:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
    (log,) = run.run_dir.glob("*/htex/interchange.log")
    text = log.read_text()
    assert f"the Parsl program that started this interchange (pid {run.process.pid}) is gone; exiting" in text
    # The hub, which watches the program too, waited for the interchange's last node records...
    sent, confirmed = node_records_of(run.run_dir)
    assert confirmed == "all confirmed"
    with sqlite3.connect(run.db) as conn:
        assert conn.execute("select count(*) from node").fetchone() == (sent,)
        # ...and ended the run as abandoned
        assert conn.execute("select reason from parsl_monitor_run_end").fetchall() == [("abandoned",)]
