"""The interchange's radio: Parsl's node records (full manager records) reach the database, confirmed."""

from __future__ import annotations

import datetime
import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest
import zmq
from parsl.monitoring.message_type import MessageType

from parsl_monitor_hub.parsl import interchange

if TYPE_CHECKING:
    import pytest

    from conftest import RunningHub


def manager_record(worker_count: int) -> dict[str, Any]:
    """What Parsl's interchange sends as NODE_INFO: the manager record plus three fields."""
    return {
        "block_id": "0",
        "tasks": [1, 2],
        "worker_count": worker_count,
        "max_capacity": worker_count,
        "active": True,
        "hostname": "node1",
        "uid": "abc123",
        "cpu_count": 8,
        "total_memory": 16 * 2**30,
        "python_v": "3.11.7",
        "packages": {f"package-{i}": "1.0" for i in range(120)},
        "timestamp": datetime.datetime.now(),  # noqa: DTZ005 - naive local time, as Parsl sends it
        "last_heartbeat": datetime.datetime.now(),  # noqa: DTZ005 - idem
        "run_id": "run-1",
    }


def test_node_records_are_counted_stored_and_confirmed(hub: RunningHub) -> None:
    radio = interchange.HubRadio(hub.service.url)
    for workers in (1, 2, 3):
        radio.send((MessageType.NODE_INFO, manager_record(workers)))
    assert radio.close() is True
    assert radio.node_records == 3
    with sqlite3.connect(hub.db_path) as conn:
        rows = conn.execute("select worker_count, hostname from node order by id").fetchall()
    assert rows == [(1, "node1"), (2, "node1"), (3, "node1")]


def test_close_gives_up_when_no_hub_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interchange, "CONFIRM_TIMEOUT", 0.5)
    with zmq.Context() as context, context.socket(zmq.ROUTER) as silent:
        port = silent.bind_to_random_port("tcp://127.0.0.1")
        radio = interchange.HubRadio(f"tcp://127.0.0.1:{port}")
        radio.send((MessageType.NODE_INFO, manager_record(1)))
        started = time.monotonic()
        assert radio.close() is False
        assert time.monotonic() - started < 5


def test_started_without_a_hub_url_it_says_how_to_run_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "parsl_monitor_hub.parsl.interchange"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "usage: python -m parsl_monitor_hub.parsl.interchange tcp://HOST:PORT  (Parsl's config pickle on stdin)"
    ]


def test_a_parsl_that_renamed_start_zmq_receiver_keeps_its_own_router_path(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from parsl.executors.high_throughput import executor as htex_module

    from parsl_monitor_hub.parsl import htex_launch

    parsl_start = getattr(
        htex_module.HighThroughputExecutor.start, "__wrapped__", htex_module.HighThroughputExecutor.start
    )
    monkeypatch.setattr(htex_module.HighThroughputExecutor, "start", parsl_start)  # as Parsl ships it
    monkeypatch.delattr(htex_module, "start_zmq_receiver")  # as a Parsl release renaming it would
    htex_launch.install()
    assert htex_module.HighThroughputExecutor.start is parsl_start  # not wrapped: Parsl's path stays
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "lacks parsl.executors.high_throughput.executor.start_zmq_receiver" in warnings[0]
