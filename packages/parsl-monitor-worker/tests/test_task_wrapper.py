from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
from parsl.dataflow import dflow
from parsl.monitoring.radios.htex import HTEXRadio
from parsl.monitoring.remote import monitor_wrapper

from parsl_monitor_core.wire import MessageKind
from parsl_monitor_worker import ZMQRadio
from parsl_monitor_worker.agent_link import AGENT_ENV, ANNOUNCE_AFTER
from parsl_monitor_worker.node_agent import NodeAgent
from parsl_monitor_worker.parsl import task_wrapper

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from conftest import FakeHub
    from parsl_monitor_core.wire import Message


def add(a: int, b: int) -> int:
    return a + b


def wrap(
    radio: Any,
    task_id: int,
    f: Callable[..., Any] = add,
    args: tuple[Any, ...] = (1,),
    kwargs: dict[str, Any] | None = None,
    *,
    wrapper: Callable[..., Any] = task_wrapper.monitored,
    **newer: Any,
) -> tuple[Any, Any, dict[str, Any]]:
    """A task wrapped as the DataFlowKernel wraps it (``newer``: keywords a later Parsl might add)."""
    return wrapper(  # type: ignore[no-any-return]
        f=f,
        args=args,
        kwargs={"b": 2} if kwargs is None else kwargs,
        x_try_id=0,
        x_task_id=task_id,
        radio_config=radio,
        run_id="run-1",
        logging_level=20,
        sleep_dur=30,  # the DataFlowKernel passes the hub's interval: node agents sample, not the wrapper
        monitor_resources=True,
        run_dir="/tmp",
        **newer,
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


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NodeAgent]:
    address = f"ipc://{tmp_path / 'agent'}"
    monkeypatch.setenv(AGENT_ENV, address)
    node_agent = NodeAgent(address, interval=30)
    assert node_agent.acquire(wait=False)
    yield node_agent
    node_agent.close()


@pytest.fixture
def announcements(agent: NodeAgent, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kinds of announcement the agent handles, in order."""
    seen: list[str] = []
    handle = agent.handle

    def recorded(message: list[Any]) -> None:
        seen.append(message[0])
        handle(message)

    monkeypatch.setattr(agent, "handle", recorded)
    return seen


def run_task(hub: FakeHub, task_id: int, f: Callable[[], Any]) -> Any:
    radio = ZMQRadio(hub_url=hub.url)
    radio.interval = 10.0  # what create_receiver learns from our MonitoringHub
    wrapped, args, kwargs = wrap(radio, task_id, f, (), {})
    return wrapped(*args, **kwargs)


def arrivals(agent: NodeAgent, hub: FakeHub, count: int) -> list[str]:
    """What reaches the hub through the agent: "first", "sample" and "last", sorted that way."""
    got: list[Message] = []
    deadline = time.monotonic() + 10
    while len(got) < count:
        assert time.monotonic() < deadline, f"got {len(got)} of {count} messages"
        agent.drain()
        if hub.socket.poll(100):
            got += hub.receive(1)
    names = [
        "sample" if m.kind is MessageKind.RESOURCE_INFO else "first" if m.get("first_msg") else "last" for m in got
    ]
    return sorted(names, key=["first", "sample", "last"].index)


def test_a_short_task_is_announced_to_the_agent_once_when_it_ends(
    agent: NodeAgent, announcements: list[str], hub: FakeHub
) -> None:
    assert run_task(hub, 1, lambda: 5) == 5
    assert arrivals(agent, hub, 3) == ["first", "sample", "last"]
    assert announcements == ["ran"]  # one message to the agent instead of a start and an end
    assert agent.tasks == {}


def test_a_task_running_longer_is_announced_while_it_runs_and_sampled(
    agent: NodeAgent, announcements: list[str], hub: FakeHub
) -> None:
    def long_task() -> list[Any]:
        time.sleep(4 * ANNOUNCE_AFTER)
        agent.drain()
        return list(agent.tasks)  # what the agent samples while the task runs

    assert run_task(hub, 2, long_task) == [("run-1", 2, 0)]
    assert arrivals(agent, hub, 3) == ["first", "sample", "last"]
    assert announcements == ["start", "end"]
    assert agent.tasks == {}


def test_without_an_agent_a_task_s_first_and_last_messages_go_to_the_hub(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(AGENT_ENV, f"ipc://{tmp_path / 'nobody'}")
    assert run_task(hub, 3, lambda: 7) == 7
    got = hub.receive(2)
    assert sorted((m.get("task_id"), m.get("first_msg"), m.get("last_msg")) for m in got) == [
        (3, False, True),
        (3, True, False),
    ]


def test_a_parsl_whose_wrapper_has_a_new_keyword_keeps_it_and_no_task_fails(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def newer_wrapper(*, x_new_feature: object = None, **call: Any) -> Any:  # a Parsl release that added a keyword
        return monitor_wrapper(**call)

    monkeypatch.setattr(dflow, "monitor_wrapper", newer_wrapper)
    task_wrapper.install()
    try:
        assert dflow.monitor_wrapper is newer_wrapper  # type: ignore[attr-defined]  # left in place
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert len(warnings) == 1 and "Parsl's task monitoring wrapper has changed" in warnings[0]
        assert "x_new_feature" in warnings[0]
        # the DataFlowKernel calls Parsl's wrapper with the new keyword: the task runs
        wrapped, args, kwargs = wrap(ZMQRadio(hub_url=hub.url), 7, wrapper=dflow.monitor_wrapper, x_new_feature=True)  # type: ignore[attr-defined]
        assert wrapped(*args, **kwargs) == 3
    finally:
        task_wrapper.uninstall()


def test_a_call_with_a_keyword_we_do_not_know_goes_to_parsl_s_wrapper(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def parsl_side(**call: Any) -> Any:
        seen.update(call)
        return call["f"], call["args"], call["kwargs"]

    monkeypatch.setattr(task_wrapper, "_original", parsl_side)  # what install() keeps of Parsl's
    wrapped, args, kwargs = wrap(ZMQRadio(hub_url="tcp://127.0.0.1:1"), 1, x_new_feature=True)
    assert seen["x_new_feature"] is True  # passed through untouched
    assert wrapped(*args, **kwargs) == 3


def test_canary_parsl_s_wrapper_has_the_shape_we_replace() -> None:
    # names the change when a Parsl release alters monitor_wrapper (the guard then keeps Parsl's)
    assert task_wrapper._shape_differs(monitor_wrapper) is None
    assert dflow.monitor_wrapper is monitor_wrapper  # type: ignore[attr-defined]  # looked up by name in dflow
