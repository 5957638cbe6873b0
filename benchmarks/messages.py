"""Realistic monitoring messages, shaped as Parsl sends them, for the ingest benchmarks."""

from __future__ import annotations

import datetime
from typing import Any

T0 = datetime.datetime(2026, 11, 1, 12, 0, 0)  # naive local time, as Parsl's datetime.now()  # noqa: DTZ001
RUN_ID = "3f1c2b9e-bench-4d2a-9c1e-000000000001"

# Parsl's MessageType values
TASK_INFO, RESOURCE_INFO, WORKFLOW_INFO, WORKER_TASK_INFO = 0, 1, 2, 5


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def workflow_start() -> dict[str, Any]:
    return {
        "run_id": RUN_ID,
        "python_version": "3.11.7",
        "parsl_version": "2026.10.26",
        "time_began": T0,
        "workflow_name": "bench.py",
        "workflow_version": "1",
        "rundir": "/scratch/runinfo/000",
        "host": "login1",
        "user": "alice",
        "tasks_failed_count": 0,
        "tasks_completed_count": 0,
    }


def task_info(task_id: int, status: str, seconds: float, done: int) -> dict[str, Any]:
    return {
        "task_func_name": "simulate",
        "task_memoize": False,
        "task_hashsum": None,
        "task_fail_count": 0,
        "task_fail_cost": 0.0,
        "task_status": status,
        "task_id": task_id,
        "task_time_invoked": at(task_id * 1e-3),
        "task_try_time_launched": at(seconds) if status != "pending" else None,
        "task_time_returned": at(seconds) if status == "exec_done" else None,
        "task_try_time_returned": at(seconds) if status == "exec_done" else None,
        "task_executor": "htex",
        "run_id": RUN_ID,
        "try_id": 0,
        "timestamp": at(seconds),
        "task_status_name": status,
        "tasks_failed_count": 0,
        "tasks_completed_count": done,
        "tasks_memo_completed_count": 0,
        "from_memo": False,
        "task_inputs": "None",
        "task_outputs": "None",
        "task_stdin": None,
        "task_stdout": "",
        "task_stderr": "",
        "task_fail_history": "",
        "task_depends": str(task_id - 1) if task_id else None,
        "task_joins": None,
    }


def worker_info(task_id: int, seconds: float, *, first: bool) -> dict[str, Any]:
    return {
        "run_id": RUN_ID,
        "try_id": 0,
        "task_id": task_id,
        "hostname": "nid001234",
        "block_id": "0",
        "first_msg": first,
        "last_msg": not first,
        "timestamp": at(seconds),
    }


def resource_info(n: int) -> dict[str, Any]:
    task_id, sample = divmod(n, 10)
    return {
        "psutil_process_pid": 4000 + task_id % 64,
        "psutil_process_memory_percent": 0.48,
        "psutil_process_num_threads": 1,
        "psutil_process_status": "running",
        "psutil_process_name": "python",
        "psutil_process_ppid": 3990,
        "psutil_process_cpu_num": 1,
        "run_id": RUN_ID,
        "task_id": task_id,
        "try_id": 0,
        "resource_monitoring_interval": 10.0,
        "hostname": "nid001234",
        "timestamp": at(sample * 10),
        "psutil_cpu_count": 128,
        "psutil_cpu_num": 1,
        "psutil_process_num_ctx_switches_voluntary": 13.0 + sample,
        "psutil_process_num_ctx_switches_involuntary": 487.0,
        "psutil_process_memory_virtual": 153722880.0,
        "psutil_process_memory_resident": 123351040.0 + sample,
        "psutil_process_time_user": 1.05 * sample,
        "psutil_process_time_system": 0.46,
        "psutil_process_children_count": 0.0,
        "psutil_process_disk_write": 6825.0,
        "psutil_process_disk_read": 15414805.0,
    }


def task_stream(n_tasks: int) -> list[tuple[int, dict[str, Any]]]:
    """Five messages per task, as a task's life produces: pending, launched, running, running_ended, exec_done."""
    out: list[tuple[int, dict[str, Any]]] = []
    for t in range(n_tasks):
        out += [
            (TASK_INFO, task_info(t, "pending", t * 1e-3, t)),
            (TASK_INFO, task_info(t, "launched", t * 1e-3 + 0.1, t)),
            (WORKER_TASK_INFO, worker_info(t, t * 1e-3 + 0.2, first=True)),
            (WORKER_TASK_INFO, worker_info(t, t * 1e-3 + 0.3, first=False)),
            (TASK_INFO, task_info(t, "exec_done", t * 1e-3 + 0.4, t + 1)),
        ]
    return out


def resource_stream(n: int) -> list[tuple[int, dict[str, Any]]]:
    return [(RESOURCE_INFO, resource_info(i)) for i in range(n)]
