"""What cannot be kept is counted: a killed hub or writer, an unwritable database.

The program hears of such troubles while the workflow runs (``HubWatch``), not only at ``close()``.

The hub records per sender how many messages it settled, in the same transactions as the
rows; a sender's FLUSH says how many it sent. The tests count the rows themselves.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from parsl_monitor_hub import watch
from parsl_monitor_hub.database import open_database
from parsl_monitor_hub.embedded import EmbeddedHub
from parsl_monitor_hub.errors import DatabaseOpenError
from parsl_monitor_hub.sender import HubSender
from parsl_monitor_hub.watch import HubWatch

if TYPE_CHECKING:
    from collections.abc import Iterator

    from conftest import Messages

MESSAGES = 60_000
HUB = (sys.executable, "-m", "parsl_monitor_hub", "--batch-size", "2000")


class FakeMessageType:
    def __init__(self, value: int) -> None:
        self.value = value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_STARTED: list[Hub] = []


@pytest.fixture(autouse=True)
def _no_hub_outlives_its_test() -> Iterator[None]:
    yield
    while _STARTED:
        process = _STARTED.pop().process
        if process.poll() is None:  # a test that failed before stopping it
            process.kill()
            process.communicate()


class Hub:
    """``parsl-monitor-hub`` on a fixed port, so a second one can take over the first one's senders."""

    def __init__(self, db: Path, port: int, log: Path, *extra: str) -> None:
        _STARTED.append(self)
        self.process = subprocess.Popen(
            [*HUB, "--db", str(db), "--bind", f"tcp://127.0.0.1:{port}", "--log-file", str(log), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().startswith("parsl-monitor-hub: listening on")

    def writer_pid(self) -> int:
        (child,) = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return int(child)

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=120)
        return self.process.returncode, err


def wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and "Z (zombie)" not in Path(f"/proc/{pid}/status").read_text():
        assert time.monotonic() < deadline, f"process {pid} outlived its hub"
        time.sleep(0.05)


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return int(conn.execute(sql).fetchone()[0])


@pytest.mark.parametrize("killed", ["hub", "writer"])
def test_a_killed_hub_or_writer_loses_exactly_what_the_sender_is_told(
    tmp_path: Path, make: Messages, killed: str
) -> None:
    db, port = tmp_path / "monitoring.db", free_port()
    first = Hub(db, port, tmp_path / "hub-1.log")
    writer = first.writer_pid()
    sender = HubSender(f"tcp://127.0.0.1:{port}")
    channel = sender._local()
    sender.put((FakeMessageType(2), make.workflow_start()))
    for i in range(MESSAGES):
        sender.put((FakeMessageType(1), make.resource_info(i, 1)))
    deadline = time.monotonic() + 60
    while count(db, "select count(*) from resource") < MESSAGES // 10:
        assert time.monotonic() < deadline, "the hub wrote too little"
        time.sleep(0.01)
    os.kill(first.process.pid if killed == "hub" else writer, signal.SIGKILL)
    code, err = first.stop()
    if killed == "writer":  # the hub reports it and exits; it cannot write what it holds
        assert code == 1
        assert "the database writer process exited with code -9" in err
    else:
        assert code == -signal.SIGKILL
    wait_gone(writer, 10)  # the writer never outlives its hub

    second = Hub(db, port, tmp_path / "hub-2.log")  # senders reconnect to the same address
    confirmed = sender.close(timeout=60)
    second.stop()

    written = count(db, "select count(*) from resource") + count(db, "select count(*) from workflow")
    assert channel.sent == MESSAGES + 1
    assert channel.lost == channel.sent - written  # exactly what the database lacks
    assert confirmed is (channel.lost == 0)
    with sqlite3.connect(db) as conn:
        assert conn.execute("select settled, lost from parsl_monitor_sender").fetchall() == [(written, channel.lost)]
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="parsl-monitor-hub-shared-"))
    root.chmod(0o777)
    yield root
    shutil.rmtree(root)


def open_as_another_user(url: str) -> dict[str, Any]:
    """``open_database(url)`` in a forked child that is not root (root writes any file)."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        result: dict[str, Any]
        try:
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            open_database(url).dispose()
            result = {"opened": True}
        except DatabaseOpenError as exc:
            result = {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - report anything to the parent
            result = {"unexpected": f"{type(exc).__name__}: {exc}"}
        os.write(writer, json.dumps(result).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as answer:
        seen: dict[str, Any] = json.loads(answer.read())
    os.waitpid(pid, 0)
    return seen


def test_a_database_the_hub_may_not_write_is_refused_at_start_in_one_line(shared_dir: Path) -> None:
    db = shared_dir / "monitoring.db"
    open_database(f"sqlite:///{db}").dispose()  # a current schema: opening alone writes nothing
    db.chmod(0o444)
    seen = open_as_another_user(f"sqlite:///{db}")
    assert seen == {"error": f"cannot write sqlite:///{db}: attempt to write a readonly database"}


WATCH_INTERVAL = 0.3


def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in caplog.records:
            if text in record.getMessage():
                return record.getMessage()
        time.sleep(0.05)
    raise AssertionError(f"nothing logged with {text!r} within {timeout} s")


def test_a_hub_killed_and_restarted_mid_run_reports_the_loss_during_the_run(
    tmp_path: Path, make: Messages, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch, "SILENT_HUB_WARNING", 2.0)  # a request the dead hub took is asked again sooner
    caplog.set_level(logging.WARNING, logger="parsl_monitor_hub")
    db, port = tmp_path / "monitoring.db", free_port()
    first = Hub(db, port, tmp_path / "hub-1.log")
    sender = HubSender(f"tcp://127.0.0.1:{port}")
    watcher = HubWatch(sender, None, interval=WATCH_INTERVAL)
    sender.put((FakeMessageType(2), make.workflow_start()))
    for i in range(MESSAGES):
        sender.put((FakeMessageType(1), make.resource_info(i, 1)))
    deadline = time.monotonic() + 60
    while count(db, "select count(*) from resource") < MESSAGES // 10:
        assert time.monotonic() < deadline, "the first hub wrote too little"
        time.sleep(0.01)
    os.kill(first.process.pid, signal.SIGKILL)  # it dies holding messages it had not written
    first.stop()
    second = Hub(db, port, tmp_path / "hub-2.log")
    try:
        line = wait_for_log(caplog, "never received", 30)  # while the sender is still open
        written = count(db, "select count(*) from resource") + count(db, "select count(*) from workflow")
    finally:
        watcher.stop()
        sender.close(timeout=30)
        second.stop()
    assert f"never received {MESSAGES + 1 - written} of the {MESSAGES + 1} messages" in line
    assert count(db, "select lost from parsl_monitor_sender") == MESSAGES + 1 - written > 0


def test_an_embedded_hub_that_dies_is_reported_within_seconds(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="parsl_monitor_hub")
    hub = EmbeddedHub(
        db_url=f"sqlite:///{tmp_path / 'monitoring.db'}",
        bind="tcp://127.0.0.1:*",
        any_port_if_busy=False,
        log_file=tmp_path / "hub.log",
        debug=False,
    )
    sender = HubSender(hub.url)
    watcher = HubWatch(sender, hub, interval=WATCH_INTERVAL)
    os.kill(hub.process.pid, signal.SIGKILL)
    try:
        line = wait_for_log(caplog, "the monitoring hub exited", 10)
    finally:
        watcher.stop()
        sender.close(timeout=1)
        hub.stop()
    assert "exited (code -9) while the workflow runs" in line


def test_a_healthy_hub_gives_no_warning_and_the_watch_stops_at_once(
    tmp_path: Path, make: Messages, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="parsl_monitor_hub")
    db, port = tmp_path / "monitoring.db", free_port()
    hub = Hub(db, port, tmp_path / "hub.log")
    sender = HubSender(f"tcp://127.0.0.1:{port}")
    try:
        watcher = HubWatch(sender, None, interval=WATCH_INTERVAL)
        sender.put((FakeMessageType(2), make.workflow_start()))
        for i in range(1000):
            sender.put((FakeMessageType(1), make.resource_info(i, 1)))
        time.sleep(10 * WATCH_INTERVAL)
        started = time.monotonic()
        watcher.stop()
        stop_seconds = time.monotonic() - started
        assert sender.close(timeout=30)
    finally:
        hub.stop()
    assert stop_seconds < 2 * WATCH_INTERVAL
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert count(db, "select count(*) from resource") == 1000
    assert count(db, "select settled from parsl_monitor_sender") == 1001


NO_GROWTH = (1, resource.RLIM_INFINITY)
"""A soft file-size limit of one byte: SQLite can no longer grow the database or its WAL (as on a full disk)."""
ANY_SIZE = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)


def test_a_database_that_cannot_grow_is_told_to_the_program_even_while_batches_wait_for_it(
    tmp_path: Path, make: Messages, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="parsl_monitor_hub")
    db, port = tmp_path / "monitoring.db", free_port()
    hub = Hub(db, port, tmp_path / "hub.log")
    writer = hub.writer_pid()
    sender = HubSender(f"tcp://127.0.0.1:{port}")
    sender.put((FakeMessageType(2), make.workflow_start()))
    assert sender.request_flush().wait(30)
    resource.prlimit(writer, resource.RLIMIT_FSIZE, NO_GROWTH)  # as `prlimit --fsize` does
    try:
        # Waves apart in time: each is a batch of its own, and the writer holds them all
        # (the hub keeps two in flight and stops reading its socket until one is written).
        for wave in range(4):
            for i in range(10):
                sender.put((FakeMessageType(1), make.resource_info(10 * wave + i, 1)))
            time.sleep(0.5)
        watcher = HubWatch(sender, None, interval=WATCH_INTERVAL)  # the program's watch asks only now
        line = wait_for_log(caplog, "cannot write yet", 30)
        later = sender.request_flush()  # as close() does: it knows why it waits, at once
        assert later.problem is not None
        assert "disk I/O error" in later.problem
        resource.prlimit(writer, resource.RLIMIT_FSIZE, ANY_SIZE)
        wait_for_log(caplog, "writes its database again", 30)
        assert later.wait(30)
        assert later.confirmed
        watcher.stop()
        assert sender.close(timeout=30)
    finally:
        resource.prlimit(writer, resource.RLIMIT_FSIZE, ANY_SIZE)
        hub.stop()
    assert "disk I/O error" in line
    assert count(db, "select count(*) from resource") == 40
