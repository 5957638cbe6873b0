"""The fields each message kind carries, with their types.

Field names are Parsl's (``parsl/dataflow/dflow.py``, ``parsl/monitoring/remote.py``,
the interchange and the job status poller) so a Parsl message is a valid payload as is.
A payload may hold further fields: they are ignored, which lets senders add fields
without a protocol bump.
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

from parsl_monitor_core.wire.kinds import MessageKind

__all__ = ("PAYLOAD_FIELDS", "WORKFLOW_END_FIELDS", "WORKFLOW_START_FIELDS", "FieldSpec")

_TIME = (datetime.datetime,)
_STR = (str,)
_INT = (int,)
_FLOAT = (float, int)
_BOOL = (bool,)


class FieldSpec(NamedTuple):
    """One payload field: its accepted Python types after decoding, and whether it must be present."""

    name: str
    types: tuple[type, ...]
    required: bool = False


def _required(*names_types: tuple[str, tuple[type, ...]]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(name, types, required=True) for name, types in names_types)


def _optional(*names_types: tuple[str, tuple[type, ...]]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(name, types) for name, types in names_types)


_TASK_KEY = _required(("run_id", _STR), ("task_id", _INT), ("try_id", _INT), ("timestamp", _TIME))

WORKFLOW_START_FIELDS = (
    *_required(
        ("run_id", _STR),
        ("time_began", _TIME),
        ("host", _STR),
        ("user", _STR),
        ("rundir", _STR),
        ("tasks_failed_count", _INT),
        ("tasks_completed_count", _INT),
        ("python_version", _STR),
    ),
    *_optional(("workflow_name", _STR), ("workflow_version", _STR), ("parsl_version", _STR)),
)
"""A workflow start message: Parsl marks it by the presence of ``python_version``."""

WORKFLOW_END_FIELDS = (
    *_required(
        ("run_id", _STR),
        ("time_completed", _TIME),
        ("tasks_failed_count", _INT),
        ("tasks_completed_count", _INT),
    ),
    *_optional(
        ("rundir", _STR),
    ),
)

PAYLOAD_FIELDS: dict[MessageKind, tuple[FieldSpec, ...]] = {
    MessageKind.TASK_INFO: (
        *_TASK_KEY,
        *_required(
            ("task_status_name", _STR),
            ("task_func_name", _STR),
            ("task_executor", _STR),
            ("task_memoize", (bool, int, str)),
            ("task_fail_count", _INT),
            ("task_fail_cost", _FLOAT),
        ),
        *_optional(
            ("task_time_invoked", _TIME),
            ("task_time_returned", _TIME),
            ("task_try_time_launched", _TIME),
            ("task_try_time_returned", _TIME),
            ("task_hashsum", _STR),
            ("task_inputs", _STR),
            ("task_outputs", _STR),
            ("task_stdin", _STR),
            ("task_stdout", _STR),
            ("task_stderr", _STR),
            ("task_depends", _STR),
            ("task_joins", _STR),
            ("task_fail_history", _STR),
            ("tasks_failed_count", _INT),
            ("tasks_completed_count", _INT),
        ),
    ),
    MessageKind.WORKER_TASK_INFO: (
        *_TASK_KEY,
        *_required(("first_msg", _BOOL), ("last_msg", _BOOL)),
        *_optional(("hostname", _STR), ("block_id", _STR)),
    ),
    MessageKind.RESOURCE_INFO: (
        *_TASK_KEY,
        *_optional(
            ("resource_monitoring_interval", _FLOAT),
            ("psutil_process_pid", _INT),
            ("psutil_process_memory_percent", _FLOAT),
            ("psutil_process_children_count", _FLOAT),
            ("psutil_process_time_user", _FLOAT),
            ("psutil_process_time_system", _FLOAT),
            ("psutil_process_memory_virtual", _FLOAT),
            ("psutil_process_memory_resident", _FLOAT),
            ("psutil_process_disk_read", _FLOAT),
            ("psutil_process_disk_write", _FLOAT),
            ("psutil_process_status", _STR),
            ("psutil_cpu_num", (str, int)),
            ("psutil_process_num_ctx_switches_voluntary", _FLOAT),
            ("psutil_process_num_ctx_switches_involuntary", _FLOAT),
            ("hostname", _STR),
        ),
    ),
    MessageKind.NODE_INFO: _required(
        ("run_id", _STR),
        ("hostname", _STR),
        ("uid", _STR),
        ("block_id", _STR),
        ("cpu_count", _INT),
        ("total_memory", _INT),
        ("active", _BOOL),
        ("worker_count", _INT),
        ("python_v", _STR),
        ("timestamp", _TIME),
        ("last_heartbeat", _TIME),
    ),
    MessageKind.BLOCK_INFO: (
        *_required(
            ("run_id", _STR), ("executor_label", _STR), ("block_id", _STR), ("timestamp", _TIME), ("status", _STR)
        ),
        *_optional(
            ("job_id", _STR),
        ),
    ),
    MessageKind.FLUSH: _required(("token", _INT)),
    MessageKind.FLUSHED: _required(("token", _INT), ("written", _INT)),
}
"""Fields per kind. WORKFLOW_INFO is absent: it is a start or an end message, see above."""
