from __future__ import annotations

import datetime
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack
import pytest

from parsl_monitor_core.wire import MessageKind, decode_frame, pack_message, validate_message
from parsl_monitor_worker import node_agent
from parsl_monitor_worker.node_agent import NodeAgent
from parsl_monitor_worker.sampler import sample_tree

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterator

    from conftest import FakeHub
    from parsl_monitor_core.wire import Message

MIB = 2**20


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[NodeAgent]:
    node_agent = NodeAgent(f"ipc://{tmp_path / 'agent'}", interval=30)
    assert node_agent.acquire(wait=False)
    yield node_agent
    node_agent.close()


def test_running_tasks_get_resource_rows_and_the_node_a_sample_per_run(
    agent: NodeAgent,
    hub: FakeHub,
    spawn: Callable[[str], subprocess.Popen[str]],
    programs: dict[str, str],
    fields: Callable[[Message], dict[str, Any]],
) -> None:
    holder = spawn(programs["hold"].format(mb=200))
    burner = spawn(programs["burn"])
    agent.handle(["start", "run-1", 1, 0, holder.pid, hub.url, 0.5, "0"])
    agent.handle(["start", "run-1", 2, 0, burner.pid, hub.url, 0.5, "0"])
    assert agent.interval() == 0.5  # the tasks' interval, not the default
    agent.sample_all()
    got = {(m.kind, fields(m).get("task_id")): fields(m) for m in hub.receive(3)}
    memory = got[(MessageKind.RESOURCE_INFO, 1)]
    assert memory["psutil_process_memory_resident"] >= 200 * MIB
    assert memory["run_id"] == "run-1" and memory["resource_monitoring_interval"] == 0.5
    node = got[(MessageKind.NODE_SAMPLE, None)]
    assert node["tasks_running"] == 2 and node["memory_used"] > 200 * MIB
    assert isinstance(node["timestamp"], datetime.datetime)


def test_an_ending_task_gets_a_final_sample_and_is_no_longer_sampled(
    agent: NodeAgent, hub: FakeHub, spawn: Callable[[str], subprocess.Popen[str]], programs: dict[str, str]
) -> None:
    proc = spawn(programs["hold"].format(mb=10))
    agent.handle(["start", "run-1", 7, 1, proc.pid, hub.url, 10.0, None])
    agent.handle(["end", "run-1", 7, 1, 0])
    agent.send_outbox()
    (final,) = hub.receive(1)
    assert (final.kind, final.get("task_id"), final.get("try_id")) == (MessageKind.RESOURCE_INFO, 7, 1)
    assert agent.tasks == {}


def test_a_killed_task_is_dropped_without_a_row(
    agent: NodeAgent, hub: FakeHub, spawn: Callable[[str], subprocess.Popen[str]], programs: dict[str, str]
) -> None:
    proc = spawn(programs["hold"].format(mb=1))
    agent.handle(["start", "run-1", 3, 0, proc.pid, hub.url, 1.0, None])
    proc.kill()
    proc.wait()
    agent.sample_all()
    assert agent.tasks == {}
    (node,) = hub.receive(1)  # the node is still sampled for the run; the task gets no row
    assert node.kind is MessageKind.NODE_SAMPLE and node.get("tasks_running") == 0
    assert not hub.socket.poll(300)


def test_a_run_of_short_tasks_gets_node_samples_at_its_interval(
    agent: NodeAgent, hub: FakeHub, spawn: Callable[[str], subprocess.Popen[str]], programs: dict[str, str]
) -> None:
    # Tasks shorter than a moment are never running when the agent samples; their node
    # must still be sampled for their run, at the interval they asked for.
    proc = spawn(programs["hold"].format(mb=1))
    agent.handle(["start", "run-short", 1, 0, proc.pid, hub.url, 2.0, None])
    agent.handle(["end", "run-short", 1, 0, 0])
    agent.send_outbox()
    assert [m.kind for m in hub.receive(1)] == [MessageKind.RESOURCE_INFO]  # the final sample
    assert agent.tasks == {} and agent.interval() == 2.0  # the task's interval outlives it
    agent.sample_all()
    (node,) = hub.receive(1)
    assert (node.kind, node.get("run_id"), node.get("tasks_running"), node.get("interval")) == (
        MessageKind.NODE_SAMPLE,
        "run-short",
        0,
        2.0,
    )
    agent.sample_all()  # an interval without tasks: no sample for a run that has gone quiet
    assert not hub.socket.poll(300)


def test_a_second_agent_on_the_node_stands_by(agent: NodeAgent) -> None:
    second = NodeAgent(agent.address, interval=30)
    try:
        assert not second.acquire(wait=False)
    finally:
        second.close()
    assert Path(agent.address.removeprefix("ipc://")).exists()  # the first agent still serves


def test_forwarded_first_and_last_messages_reach_the_hub_in_one_frame_with_the_final_sample(
    agent: NodeAgent, hub: FakeHub, spawn: Callable[[str], subprocess.Popen[str]], programs: dict[str, str]
) -> None:
    # Tasks hand their first and last message to the agent (half the sends per task); the
    # agent sends them on with the final samples, also for a task whose start it never saw.
    proc = spawn(programs["hold"].format(mb=1))
    now = datetime.datetime.now(datetime.timezone.utc)

    def worker_message(task_id: int, *, first: bool) -> bytes:
        return pack_message(
            MessageKind.WORKER_TASK_INFO,
            {
                "run_id": "run-1",
                "task_id": task_id,
                "try_id": 0,
                "timestamp": now,
                "hostname": "node1",
                "block_id": "0",
                "first_msg": first,
                "last_msg": not first,
            },
        )

    agent.handle(["start", "run-1", 5, 0, proc.pid, hub.url, 10.0, None, worker_message(5, first=True)])
    agent.handle(["end", "run-1", 5, 0, 0, hub.url, worker_message(5, first=False)])
    agent.handle(["end", "run-1", 6, 0, 0, hub.url, worker_message(6, first=False)])  # started before this agent
    agent.send_outbox()
    assert hub.socket.poll(5000)
    _peer, data = hub.socket.recv_multipart()
    frame = [validate_message(raw) for raw in decode_frame(data).messages]
    got = sorted(
        (m.kind, m.get("task_id"), m.get("first_msg") if m.kind is MessageKind.WORKER_TASK_INFO else None)
        for m in frame
    )
    assert got == [
        (MessageKind.RESOURCE_INFO, 5, None),
        (MessageKind.WORKER_TASK_INFO, 5, False),
        (MessageKind.WORKER_TASK_INFO, 5, True),
        (MessageKind.WORKER_TASK_INFO, 6, False),
    ]


def test_tasks_ending_together_share_one_reading_and_a_later_end_gets_a_fresh_one(
    agent: NodeAgent,
    hub: FakeHub,
    spawn: Callable[[str], subprocess.Popen[str]],
    programs: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tasks 1 and 2 ran one after the other in the same (CPU-burning) worker process and
    # their ends arrive in one burst; task 3 of that process ends later.
    worker = spawn(programs["burn"])
    readings: list[int] = []

    def counted(pid: int) -> dict[str, Any] | None:
        readings.append(pid)
        return sample_tree(pid)

    monkeypatch.setattr(node_agent, "sample_tree", counted)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as task_side:
        task_side.connect(agent.address.removeprefix("ipc://"))

        def burst(task_ids: list[int]) -> list[Message]:
            before = agent.samples_sent
            for task_id in task_ids:
                task_side.send(msgpack.packb(["start", "run-1", task_id, 0, worker.pid, hub.url, 10.0, None]))
            for task_id in task_ids:
                task_side.send(msgpack.packb(["end", "run-1", task_id, 0, 0]))
            deadline = time.monotonic() + 10
            while agent.samples_sent < before + len(task_ids):
                assert time.monotonic() < deadline, "the agent did not handle the burst"
                time.sleep(0.2)  # let the whole burst arrive (the agent itself pauses 10 ms after a wake-up)
                agent.drain()
            return sorted(hub.receive(len(task_ids)), key=lambda m: int(m.get("task_id")))

        first = burst([1, 2])
        assert readings == [worker.pid]
        time.sleep(0.3)
        (later,) = burst([3])
    assert readings == [worker.pid, worker.pid]
    cpu = "psutil_process_time_user"
    assert [m.get("task_id") for m in first] == [1, 2]
    assert first[0].get(cpu) == first[1].get(cpu)
    assert later.get(cpu) > first[0].get(cpu)


def test_a_connection_that_sends_no_announcements_is_closed_and_a_cut_one_dropped_without_stopping_others(
    agent: NodeAgent, hub: FakeHub, spawn: Callable[[str], subprocess.Popen[str]], programs: dict[str, str]
) -> None:
    worker = spawn(programs["hold"].format(mb=1))
    path = agent.address.removeprefix("ipc://")
    start = ["start", "run-1", 5, 0, worker.pid, hub.url, 10.0, None]
    with (
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stranger,
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as cut,
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as task_side,
    ):
        stranger.connect(path)
        stranger.sendall(msgpack.packb({"not": "a task"}))  # what an older version's ZMQ peer would look like to it
        cut.connect(path)
        cut.sendall(msgpack.packb(["start", "run-1", 6, 0, worker.pid, hub.url, 10.0, None])[:-3])
        cut.close()  # a task whose send was cut: the agent must not take half a message
        task_side.connect(path)
        task_side.sendall(msgpack.packb(start))
        deadline = time.monotonic() + 10
        while 5 not in {key[1] for key in agent.tasks}:
            assert time.monotonic() < deadline, "the well-behaved task was not taken"
            agent.drain()
            time.sleep(0.05)
        agent.drain()
        assert {key[1] for key in agent.tasks} == {5}
        stranger.settimeout(5)
        assert stranger.recv(16) == b""  # the agent closed the stranger's connection
