"""The fields each message kind carries, in order, with their types.

Field names are Parsl's (``parsl/dataflow/dflow.py``, ``parsl/monitoring/remote.py``,
the interchange and the job status poller). A payload is either an array of values in
the order listed here (what our senders send: no field names to pack, decode and hash)
or a map from field name to value (any other sender; a Parsl dict is valid as is).
Fields are only ever appended to a kind: an array shorter than the list is padded with
None (an older sender), a longer one is cut (a newer sender's fields are ignored), and
a map's unknown fields are ignored.
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

from parsl_monitor_core.wire.kinds import MessageKind

__all__ = ("FIELD_INDEX", "PAYLOAD_FIELDS", "WORKFLOW_END_REQUIRED", "WORKFLOW_START_REQUIRED", "FieldSpec")

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

WORKFLOW_START_REQUIRED = frozenset(
    {"run_id", "time_began", "host", "user", "rundir", "tasks_failed_count", "tasks_completed_count", "python_version"}
)
"""A WORKFLOW_INFO with ``python_version`` is the workflow's start (Parsl's convention) and needs these."""

WORKFLOW_END_REQUIRED = frozenset({"run_id", "time_completed", "tasks_failed_count", "tasks_completed_count"})
"""A WORKFLOW_INFO without ``python_version`` is the workflow's end and needs these."""

PAYLOAD_FIELDS: dict[MessageKind, tuple[FieldSpec, ...]] = {
    MessageKind.WORKFLOW_INFO: (
        *_required(("run_id", _STR)),
        *_optional(
            ("python_version", _STR),
            ("time_began", _TIME),
            ("time_completed", _TIME),
            ("host", _STR),
            ("user", _STR),
            ("rundir", _STR),
            ("tasks_failed_count", _INT),
            ("tasks_completed_count", _INT),
            ("workflow_name", _STR),
            ("workflow_version", _STR),
            ("parsl_version", _STR),
        ),
    ),
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
    MessageKind.NODE_SAMPLE: (
        *_required(("run_id", _STR), ("hostname", _STR), ("timestamp", _TIME)),
        *_optional(
            ("interval", _FLOAT),
            ("cpu_count", _INT),
            ("cpu_percent", _FLOAT),
            ("load_1m", _FLOAT),
            ("load_5m", _FLOAT),
            ("load_15m", _FLOAT),
            ("memory_total", _INT),
            ("memory_used", _INT),
            ("memory_available", _INT),
            ("swap_used", _INT),
            ("disk_read_bytes", _INT),
            ("disk_write_bytes", _INT),
            ("net_sent_bytes", _INT),
            ("net_recv_bytes", _INT),
            ("gpu_count", _INT),
            ("gpu_utilization", _FLOAT),
            ("gpu_memory_used", _INT),
            ("gpu_memory_total", _INT),
            ("tasks_running", _INT),
            ("messages_dropped", _INT),
        ),
    ),
    MessageKind.FLUSH: (*_required(("token", _INT)), *_optional(("sent", _INT))),
    MessageKind.FLUSHED: (*_required(("token", _INT), ("written", _INT)), *_optional(("settled", _INT))),
    MessageKind.FLUSH_WAITS: _required(("token", _INT), ("problem", _STR)),
}
"""Fields per kind, in payload order. WORKFLOW_INFO's requirements depend on start or end, see above."""

FIELD_INDEX: dict[MessageKind, dict[str, int]] = {
    kind: {field.name: i for i, field in enumerate(fields)} for kind, fields in PAYLOAD_FIELDS.items()
}
"""Position of each field in a kind's payload array."""
