"""The hub on a real PostgreSQL server: the same semantics, and one bad row costs only itself."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
import zmq

from parsl_monitor_core.wire import MessageKind as K
from parsl_monitor_core.wire import decode_frame, encode_frame, validate_message

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import HubProcess, PostgresServer, RunWorkflow

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
WORKFLOWS = Path(__file__).parent / "workflows"
NOW = datetime.datetime(2026, 5, 1, 12, tzinfo=datetime.timezone.utc)
START = {
    "run_id": "r1",
    "python_version": "3.11",
    "time_began": NOW,
    "rundir": "/x",
    "host": "h",
    "user": "u",
    "tasks_failed_count": 0,
    "tasks_completed_count": 0,
}


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        return conn.execute(sql).fetchall()


def answer_to(sock: zmq.Socket[bytes], timeout: float = 60) -> Any:
    assert sock.poll(int(timeout * 1000)), "no answer from the hub"
    (answer,) = [validate_message(item) for item in decode_frame(sock.recv()).messages]
    return answer


@pytest.mark.parametrize("database_comes_back", [True, False])
def test_a_database_that_stops_taking_writes_is_waited_for_then_given_up_on_counting_the_loss(
    postgres: PostgresServer, start_hub: Callable[..., HubProcess], database_comes_back: bool
) -> None:
    name = f"ro_{uuid.uuid4().hex[:8]}"
    url = postgres.create_database(name)
    admin = postgres.url().replace("+psycopg", "")
    hub = start_hub(url, "tcp://127.0.0.1:*", "--stop-grace", "3")
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.connect(hub.url)
    sock.send(encode_frame([(K.WORKFLOW_INFO, START), (K.FLUSH, {"token": 1})], "s"))
    assert answer_to(sock).get("written") == 1
    with psycopg.connect(admin, autocommit=True) as conn:  # a standby, a quota, an operator: no more writes
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    resources = [
        (K.RESOURCE_INFO, {"run_id": "r1", "task_id": 0, "try_id": 0, "timestamp": NOW + datetime.timedelta(seconds=i)})
        for i in range(100)
    ]
    sock.send(encode_frame([*resources, (K.FLUSH, {"token": 2, "sent": 101})], "s"))
    problems = []  # the sender hears why its confirmation waits: first the lost connection, then
    while not any("read-only transaction" in problem for problem in problems):
        waits = answer_to(sock)
        assert (waits.kind, waits.get("token")) == (K.FLUSH_WAITS, 2)
        problems.append(waits.get("problem"))
    if database_comes_back:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
        answer = answer_to(sock)
        while answer.kind is K.FLUSH_WAITS:
            answer = answer_to(sock)
        assert (answer.kind, answer.get("written"), answer.get("settled")) == (K.FLUSHED, 101, 101)
        assert hub.stop() == 0
        assert query(url, "select count(*) from resource") == [(100,)]
    else:
        assert hub.stop() == 1  # within the grace, not forever
        (line,) = hub.stderr.strip().splitlines()
        assert line.startswith(
            "parsl-monitor-hub: error: stopping with 100 messages not written: the database took no write for "
        )
        assert "read-only transaction" in line
    sock.close(linger=0)
    context.term()


CLOSE_BOUND = 30 + 10 + 30 + 20
"""adapter.DATABASE_WAIT_LIMIT + the sender's last flush + the hub's --stop-grace, plus the
time the hub takes to hear of the problem and to start and stop (docs/user-guide/hub.md)."""


REPORT_BOUND = 5 + 10
"""watch.WATCH_INTERVAL, plus the time the hub's writer takes to find the database read-only."""


def test_a_database_that_stops_taking_writes_is_in_the_program_s_log_within_seconds_and_close_is_bounded(
    tmp_path: Path, postgres: PostgresServer, parsl_environment: dict[str, str]
) -> None:
    name = f"stall_{uuid.uuid4().hex[:8]}"
    url = postgres.create_database(name)
    go = tmp_path / "go"
    program = subprocess.Popen(
        [sys.executable, str(WORKFLOWS / "stalled_db.py"), url, str(tmp_path / "runinfo"), str(go)],
        cwd=tmp_path,
        env=parsl_environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert program.stdout is not None
    assert program.stdout.readline() == "ready\n"
    with psycopg.connect(postgres.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    go.touch()
    out, err = program.communicate(timeout=CLOSE_BOUND + 120)
    assert program.returncode == 0, err[-3000:]
    seconds = json.loads(out)
    sys.stdout.write(f"{seconds}\n")
    assert seconds["close_seconds"] < CLOSE_BOUND
    # during the run, not at close: the program asks the hub every 5 s (watch.WATCH_INTERVAL)
    assert seconds["reported_seconds"] is not None, "the program's log never said the hub cannot write"
    assert seconds["reported_seconds"] < REPORT_BOUND
    # the program's log says why, and how many messages were not confirmed
    assert "monitoring hub at tcp://127.0.0.1:" in err and "cannot write yet" in err
    assert "could not write its database for" in err and "read-only transaction" in err
    unconfirmed = re.search(r"the (\d+) messages sent since its last confirmation may be lost", err)
    assert unconfirmed is not None, err[-3000:]
    assert int(unconfirmed.group(1)) > 20  # at least the second half's task states
    assert "monitoring hub exited with code 1" in err
    # what the hub could write, it wrote: the first half
    assert query(url, "select count(*) from task") == [(10,)]


def test_hub_cli_writes_to_postgres_keeps_an_unknown_runs_rows_and_isolates_a_refused_row(
    postgres: PostgresServer, start_hub: Callable[[str], HubProcess]
) -> None:
    url = postgres.create_database(f"hub_{uuid.uuid4().hex[:8]}")
    hub = start_hub(url)
    assert "writing postgresql+psycopg://" in hub.ready_line
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.connect(hub.url)
    status = {
        "run_id": "r1",
        "task_id": 0,
        "try_id": 0,
        "timestamp": NOW,
        "task_status_name": "pending",
        "task_func_name": "f",
        "task_executor": "htex",
        "task_memoize": True,
        "task_fail_count": 0,
        "task_fail_cost": 0.0,
        "tasks_failed_count": 0,
        "tasks_completed_count": 0,
    }
    # A run whose workflow row has not arrived (or never will) is kept, as SQLite keeps it.
    orphans = [
        (K.RESOURCE_INFO, {"run_id": "no-such-run", "task_id": 1, "try_id": 0, "timestamp": NOW}),
        (K.TASK_INFO, {**status, "run_id": "no-such-run", "task_id": 1}),
    ]
    # A task id past PostgreSQL's INTEGER (Parsl's column type); SQLite would take it.
    out_of_range = {
        "run_id": "r1",
        "task_id": 2**31,
        "try_id": 0,
        "timestamp": NOW,
        "resource_monitoring_interval": 1.0,
    }
    resources = [
        {
            "run_id": "r1",
            "task_id": 0,
            "try_id": 0,
            "timestamp": NOW + datetime.timedelta(seconds=i),
            "psutil_process_memory_resident": 1e6 * i,
        }
        for i in range(100)
    ]
    sock.send(
        encode_frame(
            [
                (K.WORKFLOW_INFO, START),
                (K.TASK_INFO, status),
                *orphans,
                (K.RESOURCE_INFO, out_of_range),
                *[(K.RESOURCE_INFO, r) for r in resources],
                (K.FLUSH, {"token": 1}),
            ],
            "pg-test",
        )
    )
    assert sock.poll(60_000)
    (answer,) = [validate_message(item) for item in decode_frame(sock.recv()).messages]
    assert (answer.kind, answer.get("written")) == (K.FLUSHED, 104)
    sock.close(linger=0)
    context.term()
    assert hub.stop() == 0
    assert query(url, "select run_id, count(*) from resource group by run_id order by run_id") == [
        ("no-such-run", 1),
        ("r1", 100),
    ]
    assert query(
        url, "select run_id, task_memoize, task_status_name from task join status using (task_id, run_id) order by 1"
    ) == [("no-such-run", "1", "pending"), ("r1", "1", "pending")]
    log = hub.log_file.read_text()
    assert "rejected RESOURCE_INFO message from r1: NumericValueOutOfRange" in log


def test_rows_copied_in_keep_odd_text_and_a_re_sent_batch_adds_nothing(
    postgres: PostgresServer, start_hub: Callable[[str], HubProcess]
) -> None:
    """Append-only rows go in by COPY: its text escaping must round-trip, and a duplicate must not fail the batch."""
    url = postgres.create_database(f"copy_{uuid.uuid4().hex[:8]}")
    hub = start_hub(url)
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.connect(hub.url)
    odd = "tab\there, newline\nthere, back\\slash, quote ' and \\N, caf\u00e9"
    statuses = [
        {
            **dict.fromkeys(("task_fail_count", "tasks_failed_count", "tasks_completed_count"), 0),
            "run_id": "r1",
            "task_id": i,
            "try_id": 0,
            "timestamp": NOW + datetime.timedelta(seconds=i),
            "task_status_name": odd,
            "task_func_name": "f",
            "task_executor": "htex",
            "task_memoize": False,
            "task_fail_cost": 0.0,
        }
        for i in range(50)
    ]
    batch = [(K.TASK_INFO, status) for status in statuses]
    sock.send(encode_frame([(K.WORKFLOW_INFO, START), *batch, (K.FLUSH, {"token": 1})], "copy-test"))
    assert answer_to(sock).get("written") == 51
    sock.send(encode_frame([*batch, (K.FLUSH, {"token": 2})], "copy-test"))  # the same 50 again
    assert answer_to(sock).get("written") == 101  # messages written so far, all of them taken
    sock.close(linger=0)
    context.term()
    assert hub.stop() == 0
    assert query(url, "select count(*), min(task_status_name), max(task_status_name) from status") == [(50, odd, odd)]
    assert "101 messages written, 0 rejected" in hub.log_file.read_text()


def test_two_hubs_write_one_postgres_database_at_once_and_lose_nothing(
    postgres: PostgresServer, start_hub: Callable[..., HubProcess]
) -> None:
    """Two workflows on two login nodes, each with its own hub, one PostgreSQL database."""
    url = postgres.create_database(f"two_{uuid.uuid4().hex[:8]}")
    first = start_hub(url)  # creates the tables
    second = start_hub(url)
    context = zmq.Context()
    sockets = []
    for run_id, hub in (("run-a", first), ("run-b", second)):
        sock = context.socket(zmq.DEALER)
        sock.connect(hub.url)
        samples = [
            (
                K.RESOURCE_INFO,
                {
                    "run_id": run_id,
                    "task_id": i % 50,
                    "try_id": 0,
                    "timestamp": NOW + datetime.timedelta(microseconds=i),
                },
            )
            for i in range(5000)
        ]
        frames = [[(K.WORKFLOW_INFO, {**START, "run_id": run_id})]] + [
            samples[i : i + 500] for i in range(0, 5000, 500)
        ]
        sockets.append((sock, frames))
    for position in range(max(len(frames) for _sock, frames in sockets)):  # interleaved: both write at once
        for sock, frames in sockets:
            if position < len(frames):
                sock.send(encode_frame(frames[position], "two-hubs"))
    for token, (sock, _frames) in enumerate(sockets):
        sock.send(encode_frame([(K.FLUSH, {"token": token})], "two-hubs"))
        assert answer_to(sock).get("written") == 5001
        sock.close(linger=0)
    context.term()
    assert (first.stop(), second.stop()) == (0, 0)
    assert query(url, "select run_id, count(*) from resource group by run_id order by run_id") == [
        ("run-a", 5000),
        ("run-b", 5000),
    ]


def test_a_parsl_workflow_monitored_into_postgres(
    tmp_path: Path, postgres: PostgresServer, run_mixed: RunWorkflow, start_hub: Callable[[str], HubProcess]
) -> None:
    url = postgres.create_database(f"wf_{uuid.uuid4().hex[:8]}")
    hub = start_hub(url)
    summary = run_mixed(tmp_path / "runinfo", "ours", "--hub-url", hub.url, "--noop", "50")
    assert hub.stop() == 0
    assert query(url, "select run_id, workflow_name from workflow") == [(summary["run_id"], "mixed.py")]
    states = dict(query(url, "select task_status_name, count(*) from status group by task_status_name"))
    assert states["exec_done"] >= 50
    assert states["memo_done"] == 1
    assert states["dep_fail"] == 1
    # Every try that ran has its worker-side start time; only the dep_fail and memo_done tasks never ran (as in Parsl).
    never_ran = query(
        url,
        "select s.task_status_name from try join status s using (run_id, task_id, try_id) "
        "where task_try_time_running is null and s.task_status_name in ('dep_fail', 'memo_done')",
    )
    assert query(url, "select count(*) from try where task_try_time_running is null") == [(len(never_ran),)] == [(2,)]
    check_dashboard_reads(url, summary["run_id"])


def check_dashboard_reads(url: str, run_id: str) -> None:
    """parsl-visualize on the same PostgreSQL database: every page answers, and it cannot write."""
    from litestar.testing import TestClient
    from sqlalchemy import text
    from sqlalchemy.exc import InternalError

    from parsl_visualize.app import create_app
    from parsl_visualize.db import open_database

    db = open_database(url.replace("postgresql+psycopg://", "postgres://"))  # as hosting services write it
    try:
        with TestClient(app=create_app(db), base_url="http://127.0.0.1") as client:
            for path in (
                "",
                "dag_group_by_apps",
                "dag_group_by_states",
                "resource_usage",
                "task/",
                "app/inc",
                "task/1",
                "tasks.csv",
            ):
                assert client.get(f"/workflow/{run_id}/{path}").status_code == 200, path
            failures = client.get(f"/api/workflow/{run_id}/tasks", params={"state": "dep_fail"}).json()
            assert failures["total"] == 1
            assert client.get(f"/api/workflow/{run_id}/apps").json()
        with db.engine.connect() as conn, pytest.raises(InternalError, match="read-only transaction"):
            conn.execute(text("DELETE FROM workflow"))
    finally:
        db.engine.dispose()


def test_a_workflow_s_own_hub_writes_postgres_with_a_password_that_no_other_user_can_read(
    tmp_path: Path, postgres: PostgresServer, run_mixed: RunWorkflow
) -> None:
    """``logging_endpoint="postgresql://user:password@host/db"``, as Parsl's users write it.

    The password reaches the hub and its writer (the server demands it), and nothing another
    user of the node can read holds it: no command line while the run lasts (``ps``), no log.
    """
    role, secret = f"wf_{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    url = postgres.create_owner_with_password(role, secret)
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(url).close()  # the server does ask for it
    with_password = url.replace(f"{role}@", f"{role}:{secret}@")
    seen: dict[str, list[bytes]] = {"hubs": [], "leaks": []}
    running = threading.Event()
    running.set()

    def watch_command_lines() -> None:
        while running.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    text = cmdline.read_bytes()
                except OSError:
                    continue
                if b"parsl_monitor_hub\0" in text and b"--parent-pid" in text:
                    seen["hubs"].append(text)
                if secret.encode() in text:
                    seen["leaks"].append(text)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch_command_lines)
    watcher.start()
    try:
        summary = run_mixed(tmp_path / "runinfo", "ours", "--noop", "30", env={"LOGGING_ENDPOINT": with_password})
    finally:
        running.clear()
        watcher.join()
    assert seen["hubs"], "the workflow's hub was never seen running"
    assert seen["leaks"] == []
    assert query(with_password, "select run_id from workflow") == [(summary["run_id"],)]
    states = dict(query(with_password, "select task_status_name, count(*) from status group by task_status_name"))
    assert states["exec_done"] >= 30
    shown = f"postgresql+psycopg://{role}:***@127.0.0.1:{postgres.port}/{role}"
    assert f"writing {shown}" in next(tmp_path.rglob("monitoring_hub.log")).read_text()
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(files) > 5  # parsl.log, the hub's, the interchange's and the workers' logs, the program's stderr
    assert [path for path in files if secret.encode() in path.read_bytes()] == []
