"""A workflow whose SQLite database cannot grow for a while (a full disk, a quota, ``ulimit -f``).

The user's terminal says so while it lasts and when it is over, and every row arrives.
The hub and its writer are refused any file growth (``RLIMIT_FSIZE``, set from outside as
``prlimit`` does): SQLite gets EFBIG where a full disk gives ENOSPC, and reports
SQLITE_IOERR instead of SQLITE_FULL; the writer waits out both (``test_transient.py``).
"""

from __future__ import annotations

import queue
import resource
import sqlite3
import threading
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import IO

    from conftest import MidRun

pytestmark = pytest.mark.slow

NO_GROWTH = (1, resource.RLIM_INFINITY)
"""Soft limit one byte: no write past a file's first byte, the database's, its WAL's or a log's."""
ANY_SIZE = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)


class Terminal:
    """The program's standard error, line by line, as the user reads it."""

    def __init__(self, run: MidRun) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert run.process.stderr is not None
        threading.Thread(target=self._read, args=(run.process.stderr,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"the terminal never said {text!r}:\n{''.join(self.seen)[-3000:]}")


def test_a_database_that_cannot_grow_mid_run_is_waited_for_said_so_and_whole_once_there_is_room(
    tmp_path: Path, mid_run: Callable[..., MidRun], truth_of: Callable[[Path, str], dict[int, str]]
) -> None:
    run = mid_run(tmp_path)
    run.wait_for(lambda counts: counts["running"] == 2 and counts["exec_done"] == 3)
    hub = [p for p, command in run.started().items() if "parsl_monitor_hub" in command]
    assert len(hub) == 2, "the hub and its writer"
    terminal = Terminal(run)
    for process in hub:
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, NO_GROWTH)
    run.release_file.touch()  # the blocked tasks and those after them finish: their states wait
    said = terminal.wait_for("cannot write yet", timeout=60)
    assert "monitoring hub at tcp://127.0.0.1:" in said
    assert "I/O error" in said  # the reason, in the database's words
    time.sleep(3)  # a full disk is not freed at once: the writer keeps trying meanwhile
    for process in hub:
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, ANY_SIZE)
    terminal.wait_for("writes its database again", timeout=60)
    run.process.wait(timeout=300)
    assert run.process.returncode == 0, "".join(terminal.seen)[-3000:]

    # The truth, from the workflow itself (midrun.py): what became of each task, in submission order.
    final = ["exec_done"] * 3 + ["failed", "dep_fail"] + ["exec_done"] * 8
    assert truth_of(run.db, run.run_id) == dict(enumerate(final))
    with sqlite3.connect(f"file:{run.db}?mode=ro", uri=True) as db:
        ran = dict(db.execute("select task_status_name, count(*) from status group by 1").fetchall())
        (ended,) = db.execute("select count(*) from workflow where time_completed is not null").fetchone()
        (blocked_samples,) = db.execute(
            "select count(distinct task_id) from resource where task_id between 5 and 8"
        ).fetchone()
    assert ran["running"] == ran["running_ended"] == 12  # every task but the dep_fail one ran, and ended
    assert ended == 1
    assert blocked_samples == 4  # the blocked tasks ran seconds: each was sampled
    log = "".join(p.read_text() for p in run.run_dir.glob("*/monitoring_hub.log"))
    assert "database unavailable (OperationalError: disk I/O error)" in log
    assert "senders counted 0 lost" in log
