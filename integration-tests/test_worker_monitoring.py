"""Resource monitoring through ZMQRadio and the node agent, on a real local HighThroughputExecutor."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import HubProcess

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
MIB = 2**20


class Monitored:
    """One run of workflows/resources.py and its database."""

    def __init__(self, run_dir: Path, summary: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.summary = summary
        self.db = sqlite3.connect(run_dir / "monitoring.db")

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, args).fetchall()

    def task_of(self, app: str) -> int:
        ((task_id,),) = self.rows("select task_id from task where task_func_name = ?", app)
        return int(task_id)


def run_resources(tmp_path: Path, env: dict[str, str], *args: str) -> Monitored:
    run_dir = tmp_path / "runinfo"
    env = {**env, "PARSL_MONITOR_AGENT": f"ipc://{tmp_path / 'agent'}"}  # this test's own agent
    result = subprocess.run(
        [
            sys.executable,
            str(HERE / "workflows" / "resources.py"),
            "--run-dir",
            str(run_dir),
            "--hub-port",
            str(_free_port()),
            *args,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return Monitored(run_dir, json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory, parsl_environment: dict[str, str]) -> Monitored:
    return run_resources(tmp_path_factory.mktemp("agent"), parsl_environment)


def test_the_workflow_itself_is_unaffected(monitored: Monitored) -> None:
    assert monitored.summary["memory"] == 200 * MIB
    assert monitored.summary["retried"] == "second try"
    assert monitored.summary["killed"] == "WorkerLost"


def test_every_link_to_the_hub_was_encrypted_and_nothing_was_refused(monitored: Monitored) -> None:
    # HTEX encrypted (Parsl's default), our hub, ZMQRadio and a node agent: all CurveZMQ
    (log,) = monitored.run_dir.glob("*/monitoring_hub.log")
    text = log.read_text()
    assert "encrypted (CurveZMQ)" in text and "NOT ENCRYPTED" not in text
    assert "refused a sender" not in text
    assert ", 0 rejected, 0 connections refused; senders counted 0 lost" in text
    (keys,) = monitored.run_dir.glob("*/monitoring-keys")
    assert keys.stat().st_mode & 0o777 == 0o700
    assert monitored.rows("select count(*) from node_sample")[0][0] > 0  # the agent got in
    assert monitored.rows("select count(*) from node")[0][0] > 0  # the interchange got in


def test_a_task_holding_200_mb_shows_at_least_200_mb_resident(monitored: Monitored) -> None:
    task = monitored.task_of("hold_memory")
    ((peak, samples),) = monitored.rows(
        "select max(psutil_process_memory_resident), count(*) from resource where task_id = ?", task
    )
    assert peak >= 200 * MIB and samples >= 3


def test_cpu_time_grows_while_a_task_burns_cpu(monitored: Monitored) -> None:
    task = monitored.task_of("burn_cpu")
    times = [
        u + s
        for u, s in monitored.rows(
            "select psutil_process_time_user, psutil_process_time_system from resource "
            "where task_id = ? order by timestamp",
            task,
        )
    ]
    assert len(times) >= 3 and times == sorted(times)
    assert times[-1] - times[0] >= 1.5  # of the 3 CPU seconds the task burned


def test_child_processes_are_counted(monitored: Monitored) -> None:
    task = monitored.task_of("children")
    ((children, memory),) = monitored.rows(
        "select max(psutil_process_children_count), max(psutil_process_memory_resident) "
        "from resource where task_id = ?",
        task,
    )
    assert children >= 3 and memory >= 3 * 30 * MIB


def test_every_try_that_ran_ends_with_a_final_sample(monitored: Monitored) -> None:
    ended = monitored.rows(
        "select s.task_id, s.try_id, s.timestamp, (select max(r.timestamp) from resource r "
        " where r.task_id = s.task_id and r.try_id = s.try_id) "
        "from status s where s.task_status_name = 'running_ended'"
    )
    assert len(ended) >= 5
    for task_id, try_id, ended_at, last_sample in ended:
        assert last_sample is not None and last_sample >= ended_at, (task_id, try_id)


def test_retries_are_separate_tries(monitored: Monitored) -> None:
    task = monitored.task_of("fails_first")
    assert monitored.rows("select try_id from try where task_id = ? order by try_id", task) == [(0,), (1,)]
    assert monitored.rows("select distinct try_id from resource where task_id = ? order by try_id", task) == [
        (0,),
        (1,),
    ]


def test_a_task_killed_by_a_signal_is_handled(monitored: Monitored) -> None:
    task = monitored.task_of("killed")
    states = [
        s for (s,) in monitored.rows("select task_status_name from status where task_id = ? order by timestamp", task)
    ]
    assert states[-1] == "failed" and "fail_retryable" in states
    assert "ERROR" not in (monitored.run_dir / "agent.log").read_text()


def test_the_node_is_sampled_while_tasks_run(monitored: Monitored) -> None:
    ((samples, running, memory, cpus),) = monitored.rows(
        "select count(*), max(tasks_running), max(memory_used), max(cpu_count) from node_sample"
    )
    assert samples >= 5 and running >= 1 and memory > 200 * MIB and cpus >= 1


def test_the_node_is_sampled_while_only_short_tasks_run(monitored: Monitored) -> None:
    # 3 s of tasks far shorter than the 0.5 s interval: rarely is one running at a sample.
    ((samples,),) = monitored.rows(
        "select count(*) from node_sample where timestamp between "
        "(select min(task_time_invoked) from task where task_func_name = 'quick') and "
        "(select max(task_time_returned) from task where task_func_name = 'quick')"
    )
    assert samples >= 3


def test_without_an_agent_running_times_are_kept_and_no_rows_are_made_up(
    tmp_path: Path, parsl_environment: dict[str, str]
) -> None:
    run = run_resources(tmp_path, parsl_environment, "--no-agent")
    assert run.rows("select count(*) from resource") == [(0,)]
    assert run.rows("select count(*) from node_sample") == [(0,)]
    ran = run.rows("select count(*) from try where task_try_time_running is not null")[0][0]
    assert ran >= 5  # the tasks' first messages arrived: every try that ran has its start


@pytest.mark.parametrize("parsl_wrapper_changed", [False, True], ids=["known-wrapper", "changed-wrapper"])
def test_the_radio_takes_sampling_over_from_per_task_processes_only_with_its_own_wrapper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parsl_wrapper_changed: bool
) -> None:
    from parsl.dataflow import dflow

    from parsl_monitor_core.wire import HubQueue
    from parsl_monitor_hub import MonitoringHub
    from parsl_monitor_worker import ZMQRadio

    if parsl_wrapper_changed:  # a Parsl release whose wrapper gained a keyword: it stays, and samples itself
        parsl_wrapper = dflow.monitor_wrapper  # type: ignore[attr-defined]

        def newer_wrapper(*, x_new: object = None, **call: Any) -> Any:
            return parsl_wrapper(**call)

        monkeypatch.setattr(dflow, "monitor_wrapper", newer_wrapper)
    hub = MonitoringHub(hub_url="tcp://127.0.0.1:9", resource_monitoring_interval=10)
    hub.start(str(tmp_path), str(tmp_path))
    receiver = None
    try:
        assert isinstance(hub.resource_msgs, HubQueue)  # the contract the radio reads
        radio = ZMQRadio()
        receiver = radio.create_receiver(run_dir=str(tmp_path), resource_msgs=hub.resource_msgs)
        assert hub.resource_monitoring_interval == 10  # the DataFlowKernel's view is not touched
        # node agents sample at the hub's interval, unless Parsl's wrapper (which samples per task) stayed
        assert (radio.hub_url, radio.interval) == ("tcp://127.0.0.1:9", 0.0 if parsl_wrapper_changed else 10.0)
    finally:
        if receiver is not None:
            receiver.shutdown()  # as the executor does: Parsl's task wrapper comes back for later tests
        hub.monitoring_hub_active = False
        # Nothing listens at port 9: stop asking for confirmations, and do not wait for one at exit
        # (the watch warned every minute and each sender held pytest's exit for 20 s).
        hub._watch.stop()  # type: ignore[union-attr]
        hub.resource_msgs.close(timeout=0)


def _count(path: Path, sql: str) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        try:
            return int(conn.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:  # the hub has not created the tables yet
            return 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_with_the_hub_down_no_task_waits_and_the_agent_resumes_when_it_returns(
    tmp_path: Path, parsl_environment: dict[str, str], start_hub: Callable[..., HubProcess]
) -> None:
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    port = _free_port()
    hub = start_hub(db, f"tcp://127.0.0.1:{port}")
    env = {**parsl_environment, "PARSL_MONITOR_AGENT": f"ipc://{tmp_path / 'agent'}"}
    workflow = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "workflows" / "slow.py"),
            "--run-dir",
            str(tmp_path / "runinfo"),
            "--tasks",
            "40",
            "--seconds",
            "1",
            "--hub-url",
            hub.url,
            "--agent",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while _count(tmp_path / "shared.db", "select count(*) from node_sample") < 2:  # tasks run, the agent samples
            if workflow.poll() is not None or time.monotonic() > deadline:
                workflow.kill()
                pytest.fail(f"no node samples; the workflow: {workflow.communicate()[1][-3000:]}")
            time.sleep(0.2)
        assert hub.stop() == 0
        down = time.time()
        time.sleep(4)
        back = time.time()
        hub = start_hub(db, f"tcp://127.0.0.1:{port}")
        out, err = workflow.communicate(timeout=300)
    finally:
        if workflow.poll() is None:
            workflow.kill()
        workflow.communicate()  # its pipes closed, whatever happened
    assert workflow.returncode == 0, err[-3000:]
    spans = json.loads(out)["spans"]
    assert len(spans) == 40
    assert max(end - start for start, end in spans) < 1.5  # no task waited for the absent hub
    assert any(down < start < back for start, _ in spans)  # and tasks did run while it was away
    assert hub.stop() == 0
    with sqlite3.connect(tmp_path / "shared.db") as conn:
        after = conn.execute(
            "select count(*) from node_sample where timestamp > ?",
            (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(back)),),
        ).fetchone()[0]
    assert after >= 1  # the agent's samples reach the hub again
