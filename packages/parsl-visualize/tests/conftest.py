"""A small monitoring database with known contents, written the way our hub writes it."""

from __future__ import annotations

import datetime
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import create_engine, text

from parsl_monitor_core.schema import NodeSample, Resource, Status, Task, Try, Workflow, create_or_upgrade, table_of
from parsl_visualize.app import create_app
from parsl_visualize.db import Database, open_database

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from litestar import Litestar

RUN_LENGTH = datetime.timedelta(hours=2)
_start = [datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0) - RUN_LENGTH]
"""Times of the example are relative to when it is written (a live run must look live however late a test runs)."""
DONE = "run-done"
LIVE = "run-live"
STALE = "run-stale"
EMPTY = "run-empty"


def at(seconds: float) -> datetime.datetime:
    return _start[0] + datetime.timedelta(seconds=seconds)


def _task(run_id: str, task_id: int, app: str, invoked: float, returned: float | None, **extra: Any) -> dict[str, Any]:
    row = {
        "run_id": run_id,
        "task_id": task_id,
        "task_func_name": app,
        "task_memoize": "False",
        "task_depends": None,
        "task_time_invoked": at(invoked),
        "task_time_returned": None if returned is None else at(returned),
        "task_fail_count": 0,
        "task_fail_cost": 0.0,
        "task_hashsum": None,
        "task_inputs": "None",
        "task_outputs": "None",
        "task_stdin": None,
        "task_stdout": f"/runs/{task_id}.out",
        "task_stderr": None,
    }
    return {**row, **extra}


def _try(
    run_id: str, task_id: int, try_id: int, host: str, times: tuple[float, float, float | None], **extra: Any
) -> dict[str, Any]:
    launched, running, returned = times
    row = {
        "run_id": run_id,
        "task_id": task_id,
        "try_id": try_id,
        "hostname": host,
        "block_id": "0",
        "task_executor": "htex",
        "task_try_time_launched": at(launched),
        "task_try_time_running": at(running),
        "task_try_time_returned": None if returned is None else at(returned),
        "task_fail_history": None,
        "task_joins": None,
    }
    return {**row, **extra}


def _statuses(run_id: str, task_id: int, *changes: tuple[str, float, int]) -> list[dict[str, Any]]:
    return [
        {"run_id": run_id, "task_id": task_id, "task_status_name": name, "timestamp": at(t), "try_id": try_id}
        for name, t, try_id in changes
    ]


def _samples(run_id: str, task_id: int, try_id: int, *, start: float, rss: float, cpu0: float) -> list[dict[str, Any]]:
    # Three samples a second apart: memory constant, CPU time growing by 0.5 s per sample.
    return [
        {
            "run_id": run_id,
            "task_id": task_id,
            "try_id": try_id,
            "timestamp": at(start + i),
            "resource_monitoring_interval": 1.0,
            "psutil_process_pid": 100 + task_id,
            "psutil_process_memory_resident": rss,
            "psutil_process_memory_virtual": rss * 2,
            "psutil_process_time_user": cpu0 + 0.5 * i,
            "psutil_process_time_system": 0.0,
            "psutil_process_memory_percent": 1.0,
            "psutil_process_children_count": 0.0,
            "psutil_process_disk_read": 0.0,
            "psutil_process_disk_write": 0.0,
            "psutil_process_status": "running",
            "psutil_cpu_num": "0",
            "psutil_process_num_ctx_switches_voluntary": 1.0,
            "psutil_process_num_ctx_switches_involuntary": 0.0,
        }
        for i in range(3)
    ]


def _workflow(
    run_id: str, began: datetime.datetime, completed: datetime.datetime | None, done: int, failed: int
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "workflow_name": f"wf-{run_id}",
        "workflow_version": "1",
        "time_began": began,
        "time_completed": completed,
        "host": "login1",
        "user": "alice",
        "rundir": f"/runs/{run_id}",
        "tasks_completed_count": done,
        "tasks_failed_count": failed,
    }


def write_example(url: str, parsl_written: bool = False) -> None:
    """Four runs: DONE (5 tasks, every ending), LIVE (running now), STALE (no end, quiet for an hour),
    EMPTY (just started: no task yet)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)
    _start[0] = now - RUN_LENGTH
    engine = create_engine(url)
    create_or_upgrade(engine)
    d = DONE
    tasks = [
        _task(d, 0, "load", 0, 10),
        _task(d, 1, "simulate", 1, 40, task_depends="0", task_fail_count=1),
        _task(d, 2, "simulate", 1, 30, task_depends="0", task_fail_count=1),
        _task(d, 3, "reduce", 2, 30, task_depends="1,2"),
        _task(d, 4, "load", 3, 3.5, task_memoize="True", task_hashsum="abc"),
        _task(LIVE, 0, "sleep", 7190, None),
        _task(STALE, 0, "sleep", 0, None),
    ]
    tries = [
        _try(d, 0, 0, "nodeA", (1, 2, 10)),
        _try(d, 1, 0, "nodeA", (11, 12, 20), task_fail_history="ValueError: flaky"),
        _try(d, 1, 1, "nodeB", (21, 22, 40)),
        _try(d, 2, 0, "nodeB", (11, 12, 30), task_fail_history="RuntimeError: broken"),
        _try(LIVE, 0, 0, "nodeA", (7191, 7192, None)),
    ]
    statuses = [
        *_statuses(
            d,
            0,
            ("pending", 0, 0),
            ("launched", 1, 0),
            ("running", 2, 0),
            ("running_ended", 10, 0),
            ("exec_done", 10, 0),
        ),
        *_statuses(
            d,
            1,
            ("pending", 1, 0),
            ("launched", 11, 0),
            ("running", 12, 0),
            ("fail_retryable", 20, 0),
            ("launched", 21, 1),
            ("running", 22, 1),
            ("running_ended", 40, 1),
            ("exec_done", 40, 1),
        ),
        *_statuses(d, 2, ("pending", 1, 0), ("launched", 11, 0), ("running", 12, 0), ("failed", 30, 0)),
        *_statuses(d, 3, ("pending", 2, 0), ("dep_fail", 30, 0)),
        *_statuses(d, 4, ("pending", 3, 0), ("memo_done", 3.5, 0)),
        *_statuses(LIVE, 0, ("pending", 7190, 0), ("launched", 7191, 0), ("running", 7192, 0)),
        *_statuses(STALE, 0, ("pending", 0, 0)),
    ]
    nodes = [
        {
            "run_id": d,
            "hostname": host,
            "timestamp": at(t),
            "cpu_percent": cpu,
            "memory_used": 2**30 * gib,
            "memory_total": 2**34,
            "cpu_count": 8,
            "tasks_running": 1,
        }
        for host, t, cpu, gib in (("nodeA", 5, 50.0, 1), ("nodeA", 15, 100.0, 2), ("nodeB", 25, 25.0, 4))
    ]
    resources = [
        *_samples(d, 0, 0, start=3, rss=100 * 2**20, cpu0=10.0),
        *_samples(d, 1, 1, start=23, rss=300 * 2**20, cpu0=50.0),
    ]
    with engine.begin() as conn:
        conn.execute(
            table_of(Workflow).insert(),
            [
                _workflow(d, at(0), at(41), 3, 2),
                _workflow(LIVE, at(7190), None, 0, 0),
                _workflow(STALE, at(0), None, 0, 0),
                _workflow(EMPTY, now, None, 0, 0),
            ],
        )
        conn.execute(table_of(Task).insert(), tasks)
        conn.execute(table_of(Try).insert(), tries)
        conn.execute(table_of(Status).insert(), statuses)
        conn.execute(table_of(Resource).insert(), resources)
        conn.execute(table_of(NodeSample).insert(), nodes)
        if parsl_written:
            conn.execute(text("DROP TABLE parsl_monitor_schema"))
    engine.dispose()


WriteExample = Callable[..., None]


@pytest.fixture
def port() -> int:
    """A free TCP port on loopback, for a real server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        number: int = sock.getsockname()[1]
        return number


@pytest.fixture
def example() -> WriteExample:
    """:func:`write_example`, for tests that need a database of their own."""
    return write_example


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "monitoring.db"
    write_example(f"sqlite:///{path}")
    return path


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_database(str(db_path))
    yield database
    database.engine.dispose()


@pytest.fixture
def app(db: Database) -> Litestar:
    return create_app(db)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app=app, base_url="http://127.0.0.1") as test_client:
        yield test_client
