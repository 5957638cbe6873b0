from __future__ import annotations

import datetime
import threading
from typing import TYPE_CHECKING, Any

import pytest
import zmq

from parsl_monitor_core.wire import MessageKind, decode_frame, encode_frame, validate_message
from parsl_monitor_hub.config import HubConfig
from parsl_monitor_hub.service import HubService

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

UTC = datetime.timezone.utc
T0 = datetime.datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


class RunningHub:
    def __init__(self, service: HubService, db_path: Path) -> None:
        self.service = service
        self.db_path = db_path
        self.thread = threading.Thread(target=service.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.service.stop()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


class Client:
    """A DEALER connection to the hub, as a sender has."""

    def __init__(self, url: str) -> None:
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.connect(url)
        self.token = 0

    def send(self, messages: list[tuple[int, dict[str, Any] | list[Any]]], sender: str = "test") -> None:
        self.socket.send(encode_frame(messages, sender))

    def send_raw(self, *parts: bytes) -> None:
        self.socket.send_multipart(list(parts))

    def flush(self, timeout: float = 30) -> int:
        self.token += 1
        self.send([(MessageKind.FLUSH, [self.token])])
        assert self.socket.poll(int(timeout * 1000)), "hub did not answer FLUSH"
        (answer,) = [validate_message(item) for item in decode_frame(self.socket.recv()).messages]
        assert answer.kind is MessageKind.FLUSHED
        assert answer.get("token") == self.token
        return int(answer.get("written"))

    def close(self) -> None:
        self.socket.close(linger=1000)
        self.context.term()


@pytest.fixture
def connect() -> type[Client]:
    """Open more connections to a hub: ``connect(url)``."""
    return Client


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "runinfo" / "monitoring.db"


@pytest.fixture
def hub_settings() -> dict[str, Any]:
    """HubConfig fields a test changes (parametrize ``hub_settings`` to override)."""
    return {}


@pytest.fixture
def hub(db_path: Path, hub_settings: dict[str, Any]) -> Iterator[RunningHub]:
    settings = {"batch_delay": 0.05, **hub_settings}
    config = HubConfig(db_url=f"sqlite:///{db_path}", bind="tcp://127.0.0.1:*", **settings)
    running = RunningHub(HubService(config), db_path)
    yield running
    if running.thread.is_alive():
        running.stop()


@pytest.fixture
def client(hub: RunningHub) -> Iterator[Client]:
    c = Client(hub.service.url)
    yield c
    c.close()


class Messages:
    """Builders of realistic payloads, shaped like the ones Parsl sends."""

    at = staticmethod(at)

    @staticmethod
    def workflow_start(run_id: str = "run-1") -> dict[str, Any]:
        return {
            "run_id": run_id,
            "python_version": "3.11.7",
            "parsl_version": "2026.10.26",
            "time_began": at(0),
            "workflow_name": "wf.py",
            "workflow_version": "1",
            "rundir": "/tmp/runinfo/000",
            "host": "h",
            "user": "u",
            "tasks_failed_count": 0,
            "tasks_completed_count": 0,
        }

    @staticmethod
    def task_info(
        task_id: int, status: str, seconds: float, *, run_id: str = "run-1", try_id: int = 0, **changes: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "run_id": run_id,
            "task_id": task_id,
            "try_id": try_id,
            "timestamp": at(seconds),
            "task_status_name": status,
            "task_func_name": "inc",
            "task_executor": "htex",
            "task_memoize": False,
            "task_fail_count": 0,
            "task_fail_cost": 0.0,
            "task_time_invoked": at(0),
            "task_time_returned": None,
            "task_try_time_launched": None,
            "task_try_time_returned": None,
            "task_hashsum": None,
            "task_inputs": "None",
            "task_outputs": "None",
            "task_stdin": None,
            "task_stdout": "",
            "task_stderr": "",
            "task_depends": "",
            "task_joins": None,
            "task_fail_history": "",
            "tasks_failed_count": 0,
            "tasks_completed_count": 0,
        }
        payload.update(changes)
        return payload

    @staticmethod
    def worker_info(
        task_id: int, seconds: float, *, first: bool, run_id: str = "run-1", try_id: int = 0
    ) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "task_id": task_id,
            "try_id": try_id,
            "timestamp": at(seconds),
            "hostname": "node1",
            "block_id": "0",
            "first_msg": first,
            "last_msg": not first,
        }

    @staticmethod
    def resource_info(task_id: int, seconds: float, *, run_id: str = "run-1") -> dict[str, Any]:
        return {
            "run_id": run_id,
            "task_id": task_id,
            "try_id": 0,
            "timestamp": at(seconds),
            "resource_monitoring_interval": 1.0,
            "psutil_process_pid": 42,
            "psutil_process_memory_percent": 0.5,
            "psutil_process_children_count": 0,
            "psutil_process_time_user": 1.25,
            "psutil_process_time_system": 0.5,
            "psutil_process_memory_virtual": 1e8,
            "psutil_process_memory_resident": 5e7,
            "psutil_process_disk_read": 10,
            "psutil_process_disk_write": 20,
            "psutil_process_status": "running",
            "psutil_cpu_num": 1,
            "psutil_process_num_ctx_switches_voluntary": 3,
            "psutil_process_num_ctx_switches_involuntary": 4,
            "hostname": "node1",
        }


@pytest.fixture
def make() -> Messages:
    return Messages()
