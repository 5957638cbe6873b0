import datetime
from typing import Any

import pytest

from parsl_monitor_core.wire import FIELD_INDEX, PAYLOAD_FIELDS, MessageError, MessageKind, to_wire, validate_message

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


NAMES = [field.name for field in PAYLOAD_FIELDS[MessageKind.TASK_INFO]]


def test_a_parsl_task_dict_becomes_positional_values() -> None:
    payload = task_info(extra_field_from_a_newer_sender=[1, 2])
    message = validate_message([0, payload])
    assert message.kind is MessageKind.TASK_INFO
    assert message.values == [payload.get(name) for name in NAMES]
    assert message.get("task_func_name") == "f"
    assert message.get("task_stdin") is None


def test_positional_payloads_from_older_and_newer_senders() -> None:
    values = [task_info().get(name) for name in NAMES]
    assert validate_message([0, values]).values == values
    older = values[:-2]  # a sender that predates the last two fields
    assert validate_message([0, older]).values == [*older, None, None]
    newer = [*values, "a field this hub does not know"]
    assert validate_message([0, newer]).values == values


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
    assert validate_message([2, start]).is_workflow_start
    assert not validate_message([2, end]).is_workflow_start
    assert validate_message([2, end]).get("tasks_completed_count") == 3
    with pytest.raises(MessageError, match=r"WORKFLOW_INFO \(start\): missing field 'time_began'"):
        validate_message([2, {**end, "python_version": "3.11"}])
    with pytest.raises(MessageError, match=r"WORKFLOW_INFO \(end\): missing field 'time_completed'"):
        validate_message([2, {**end, "time_completed": None}])


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ([0], r"\[kind, payload\] array"),
        ("text", r"\[kind, payload\] array"),
        ([42, {}], "unknown message kind 42"),
        (["TASK_INFO", {}], "unknown message kind 'TASK_INFO'"),
        ([True, {}], "unknown message kind True"),
        ([0, "text"], "TASK_INFO: payload must be an array or a map"),
        ([0, [1, 2]], "TASK_INFO: field 'run_id' must be str, got int"),
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


def test_every_kind_has_a_field_spec() -> None:
    assert set(MessageKind) == set(PAYLOAD_FIELDS)


def test_parsl_tuples_become_wire_messages() -> None:
    class Tag:  # Parsl's MessageType members carry their number as .value
        def __init__(self, value: int) -> None:
            self.value = value

    blocks = [
        {"run_id": "r", "executor_label": "htex", "block_id": str(i), "job_id": 17, "status": "RUNNING"}
        for i in range(2)
    ]
    converted = to_wire((Tag(4), blocks))
    assert [kind for kind, _ in converted] == [MessageKind.BLOCK_INFO] * 2
    assert converted[1][1][FIELD_INDEX[MessageKind.BLOCK_INFO]["job_id"]] == "17"
    with pytest.raises(TypeError, match="not a monitoring message type"):
        to_wire((Tag(99), {}))
    with pytest.raises(TypeError, match="expected a \\(MessageType, payload\\) tuple"):
        to_wire("resource")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("task_id", 2**63, "field 'task_id' is outside the 64-bit integer range"),
        ("tasks_completed_count", 2**64 - 1, "field 'tasks_completed_count' is outside the 64-bit integer range"),
        ("task_fail_cost", 2**63, "field 'task_fail_cost' is outside the 64-bit integer range"),
        ("task_fail_cost", float("nan"), "field 'task_fail_cost' must be a finite number, got nan"),
        ("task_fail_cost", float("-inf"), "field 'task_fail_cost' must be a finite number, got -inf"),
    ],
)
def test_values_no_database_column_can_hold_are_rejected(field: str, value: object, reason: str) -> None:
    with pytest.raises(MessageError, match=f"^TASK_INFO: {reason}$"):
        validate_message([0, task_info(**{field: value})])


def test_fields_stored_as_text_take_any_integer() -> None:
    assert validate_message([0, task_info(task_memoize=2**64 - 1)]).get("task_memoize") == 2**64 - 1
    assert validate_message([0, task_info(task_memoize=2**64 - 1, task_fail_cost=1e300)]).get("task_fail_cost") == 1e300


def test_the_64_bit_extremes_and_huge_finite_floats_are_accepted() -> None:
    message = validate_message([0, task_info(task_id=2**63 - 1, try_id=-(2**63), task_fail_cost=1e308)])
    assert (message.get("task_id"), message.get("try_id"), message.get("task_fail_cost")) == (
        2**63 - 1,
        -(2**63),
        1e308,
    )
