"""Reading a database the viewer may not write: another user's run, a read-only directory.

As root (CI), the reader is a forked child that became ``nobody``: root may write anywhere,
and the environment's interpreter under /root is not readable by others, so the child keeps
the modules already loaded instead of starting Python again.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from parsl_visualize.db import open_database
from parsl_visualize.queries.workflows import list_workflows

if TYPE_CHECKING:
    from collections.abc import Iterator

    from conftest import WriteExample


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory others can enter (pytest's tmp_path is private to its user)."""
    root = Path(tempfile.mkdtemp(prefix="parsl-visualize-shared-"))
    root.chmod(0o755)
    yield root
    for path in (root, *root.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(root)


def read_as_another_user(path: Path) -> dict[str, Any]:
    """Open ``path`` with the viewer in a child process that cannot write its directory; what it saw."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns to pytest
        result: dict[str, Any]
        try:
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            db = open_database(str(path))
            with db.engine.connect() as conn:
                runs = list_workflows(conn, db.now())
                attach = "allowed"
                try:
                    conn.exec_driver_sql(f"ATTACH DATABASE '{path.parent / 'evil.db'}' AS evil")
                except Exception as exc:  # noqa: BLE001 - whatever refuses it
                    attach = type(exc).__name__
            result = {"runs": sorted(run.run_id for run in runs), "attach": attach}
        except Exception as exc:  # noqa: BLE001 - report anything to the parent
            result = {"error": f"{type(exc).__name__}: {exc}"}
        os.write(writer, json.dumps(result).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as answer:
        seen: dict[str, Any] = json.loads(answer.read())
    os.waitpid(pid, 0)
    return seen


def as_wal(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def lock_down(directory: Path) -> None:
    for path in directory.iterdir():
        path.chmod(0o644)
    directory.chmod(0o555)


def test_a_finished_wal_database_in_a_directory_the_viewer_cannot_write(
    shared_dir: Path, example: WriteExample
) -> None:
    runs = shared_dir / "runinfo"
    runs.mkdir()
    db = runs / "monitoring.db"
    example(f"sqlite:///{db}")
    as_wal(db)  # a hub left it in WAL mode; its -wal and -shm files are gone
    assert sorted(p.name for p in runs.iterdir()) == ["monitoring.db"]
    lock_down(runs)
    seen = read_as_another_user(db)
    assert seen.get("runs") == ["run-done", "run-empty", "run-live", "run-stale"], seen
    assert seen["attach"] != "allowed"
    assert sorted(p.name for p in runs.iterdir()) == ["monitoring.db"]  # nothing created beside it


def test_a_database_being_written_is_read_with_its_newest_rows(shared_dir: Path, example: WriteExample) -> None:
    runs = shared_dir / "runinfo"
    runs.mkdir()
    db = runs / "monitoring.db"
    example(f"sqlite:///{db}")
    as_wal(db)
    writer = sqlite3.connect(db)  # a hub still has it open: its last rows are only in the -wal file
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE workflow SET run_id = 'run-renamed' WHERE run_id = 'run-empty'")
    writer.commit()
    assert (runs / "monitoring.db-wal").exists()
    lock_down(runs)
    try:
        seen = read_as_another_user(db)
    finally:
        writer.close()
    assert seen.get("runs") == ["run-done", "run-live", "run-renamed", "run-stale"], seen
    assert seen["attach"] != "allowed"


def test_rows_written_and_checkpointed_between_two_requests_are_seen(tmp_path: Path, example: WriteExample) -> None:
    # The viewer opens a finished WAL database (no -wal file: read as immutable). A short
    # workflow then writes it and ends, its hub checkpointing and removing the -wal file,
    # all while nobody looked: the next request must read the new rows, not pages it
    # cached from the file as it was (stale answers, or "database disk image is malformed").
    db = tmp_path / "monitoring.db"
    example(f"sqlite:///{db}")
    as_wal(db)
    viewer = open_database(str(db))
    with viewer.engine.connect() as conn:
        before = sorted(run.run_id for run in list_workflows(conn, viewer.now()))
    with sqlite3.connect(db) as writer:  # many rows, so the file itself changes at the checkpoint
        writer.executemany(
            "INSERT INTO workflow (run_id, workflow_name, time_began, user, host, rundir, tasks_failed_count, "
            "tasks_completed_count) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
            [(f"run-new-{i}", "w" * 500, "2026-12-04 12:00:00.000000", "u", "h", "/r") for i in range(200)],
        )
    writer.close()
    assert not (tmp_path / "monitoring.db-wal").exists()  # checkpointed and gone before the next request
    with viewer.engine.connect() as conn:
        after = sorted(run.run_id for run in list_workflows(conn, viewer.now()))
    viewer.engine.dispose()
    assert after == sorted([*before, *(f"run-new-{i}" for i in range(200))])
