from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parsl.dataflow import dflow
from parsl.monitoring.radios.htex import HTEXRadio
from parsl.monitoring.remote import monitor_wrapper

from parsl_monitor_core.wire import MessageKind
from parsl_monitor_worker import ZMQRadio, task_wrapper

if TYPE_CHECKING:
    from conftest import FakeHub


def add(a: int, b: int) -> int:
    return a + b


def wrap(radio: Any, task_id: int) -> tuple[Any, Any, dict[str, Any]]:
    return task_wrapper.monitored(
        f=add,
        args=(1,),
        kwargs={"b": 2},
        x_try_id=0,
        x_task_id=task_id,
        radio_config=radio,
        run_id="run-1",
        logging_level=20,
        sleep_dur=0,
        monitor_resources=True,
        run_dir="/tmp",
    )


def test_zmqradio_tasks_share_one_wrapper_that_sends_first_and_last_messages(hub: FakeHub) -> None:
    radio = ZMQRadio(hub_url=hub.url)
    task_wrapper.install()
    try:
        assert dflow.monitor_wrapper is task_wrapper.monitored  # type: ignore[attr-defined]
        first, args, kwargs = wrap(radio, 1)
        second, _, _ = wrap(radio, 2)
        assert first is second  # serialized once per app, not once per task
        assert first(*args, **kwargs) == 3
        messages = hub.receive(2)
        assert [(m.kind, m.get("task_id"), m.get("first_msg"), m.get("last_msg")) for m in messages] == [
            (MessageKind.WORKER_TASK_INFO, 1, True, False),
            (MessageKind.WORKER_TASK_INFO, 1, False, True),
        ]
    finally:
        task_wrapper.uninstall()
    assert dflow.monitor_wrapper is monitor_wrapper  # type: ignore[attr-defined]  # Parsl's is back


def test_other_radios_keep_parsl_s_wrapper() -> None:
    task_wrapper.install()
    try:
        first, _, _ = wrap(HTEXRadio(), 1)
        second, _, _ = wrap(HTEXRadio(), 2)
        assert first is not second  # Parsl's: a new closure per task
    finally:
        task_wrapper.uninstall()
