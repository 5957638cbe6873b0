import datetime
from typing import Any

import pytest

from parsl_monitor_core.wire import PAYLOAD_FIELDS, MessageError, MessageKind, validate_message

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def task_info(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "run_id": "r",
        "task_id": 1,
        "try_id": 0,
        "timestamp": NOW,
        "task_status_name": "pending",
        "task_func_name": "f",
        "task_executor": "htex",
        "task_memoize": False,
        "task_fail_count": 0,
        "task_fail_cost": 0,
        "task_time_invoked": NOW,
        "task_time_returned": None,
    }
    payload.update(changes)
    return payload


def test_a_parsl_task_message_is_valid_and_kept_whole() -> None:
    payload = task_info(extra_field_from_a_newer_sender=[1, 2])
    message = validate_message([0, payload])
    assert message.kind is MessageKind.TASK_INFO
    assert message.payload is payload


def test_workflow_start_and_end_are_told_apart_by_python_version() -> None:
    start = {
        "run_id": "r",
        "time_began": NOW,
        "host": "h",
        "user": "u",
        "rundir": "d",
        "python_version": "3.11",
        "tasks_failed_count": 0,
        "tasks_completed_count": 0,
    }
    end = {"run_id": "r", "time_completed": NOW, "tasks_failed_count": 0, "tasks_completed_count": 3}
    assert validate_message([2, start]).payload is start
    assert validate_message([2, end]).payload is end
    with pytest.raises(MessageError, match="missing field 'time_began'"):
        validate_message([2, {**end, "python_version": "3.11"}])


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ([0], r"\[kind, payload\] array"),
        ("text", r"\[kind, payload\] array"),
        ([42, {}], "unknown message kind 42"),
        (["TASK_INFO", {}], "unknown message kind 'TASK_INFO'"),
        ([True, {}], "unknown message kind True"),
        ([0, [1, 2]], "TASK_INFO: payload must be a map"),
        ([0, task_info(run_id=None)], "TASK_INFO: missing field 'run_id'"),
        ([0, task_info(task_id="1")], "TASK_INFO: field 'task_id' must be int, got str"),
        ([0, task_info(task_id=True)], "TASK_INFO: field 'task_id' must be int, got bool"),
        ([0, task_info(timestamp=1.5)], "TASK_INFO: field 'timestamp' must be datetime, got float"),
        ([0, task_info(task_time_invoked="yesterday")], "field 'task_time_invoked' must be datetime"),
        (
            [5, {"run_id": "r", "task_id": 1, "try_id": 0, "timestamp": NOW, "first_msg": 1, "last_msg": False}],
            "WORKER_TASK_INFO: field 'first_msg' must be bool, got int",
        ),
    ],
)
def test_bad_messages_raise_message_error_naming_kind_and_field(item: object, reason: str) -> None:
    with pytest.raises(MessageError, match=reason) as caught:
        validate_message(item)
    assert "\n" not in str(caught.value)


def test_every_kind_but_workflow_info_has_a_field_spec() -> None:
    assert set(MessageKind) - set(PAYLOAD_FIELDS) == {MessageKind.WORKFLOW_INFO}
