from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--interval", "0"], "the interval must be positive"), (["--interval", "soon"], "not a number of seconds")],
)
def test_bad_arguments_exit_2_with_the_reason(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "parsl_monitor_worker", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2 and message in result.stderr.splitlines()[-1]


def test_daemon_returns_at_once_and_the_agent_leaves_with_its_shell(tmp_path: Path) -> None:
    # As in worker_init: a shell starts the agent in the background, then (here: briefly) lives on.
    socket_file = tmp_path / "agent"
    env = {**os.environ, "PARSL_MONITOR_AGENT": f"ipc://{socket_file}"}
    shell = subprocess.Popen(
        [
            "/bin/bash",
            "-c",
            f"{sys.executable} -m parsl_monitor_worker --daemon --log-file {tmp_path / 'agent.log'}; sleep 3",
        ],
        env=env,
    )
    deadline = time.monotonic() + 20
    while not socket_file.exists():
        assert time.monotonic() < deadline, "the agent did not bind"
        time.sleep(0.1)
    assert shell.poll() is None  # the shell was not held up by the agent
    shell.wait(timeout=20)
    while socket_file.exists():  # the agent saw its shell go and removed its socket
        assert time.monotonic() < deadline + 20, (tmp_path / "agent.log").read_text()
        time.sleep(0.1)
    assert "parent" in (tmp_path / "agent.log").read_text()


def test_the_agent_s_socket_lives_in_a_directory_only_its_user_may_enter(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PARSL_MONITOR_AGENT"}
    env["TMPDIR"] = str(tmp_path)
    probe = "from parsl_monitor_worker.agent_link import agent_address; print(agent_address())"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    private = tmp_path / f"parsl-monitor-{os.getuid()}"
    assert result.stdout.strip() == f"ipc://{private / 'agent'}"
    assert private.stat().st_mode & 0o777 == 0o700


def test_a_directory_others_may_enter_is_refused_by_the_agent_and_avoided_by_tasks(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PARSL_MONITOR_AGENT"}
    env["TMPDIR"] = str(tmp_path)
    hijacked = tmp_path / f"parsl-monitor-{os.getuid()}"  # as another user could leave it in /tmp
    hijacked.mkdir(mode=0o777)
    hijacked.chmod(0o777)
    (hijacked / "agent").touch()  # a socket file: tasks would announce to it
    agent = subprocess.run(
        [sys.executable, "-m", "parsl_monitor_worker"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert agent.returncode == 2
    assert agent.stderr == (f"parsl-monitor-worker: {hijacked} is not a directory of this user's only (mode 0o777)\n")
    probe = "from parsl_monitor_worker.agent_link import link_for; print(link_for().address)"
    task = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    address = Path(task.stdout.strip().removeprefix("ipc://"))
    assert hijacked not in address.parents  # no announcement goes there (a fallback's name may start alike)
    assert "no node agent used" in task.stderr


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:5", "ipc://", "agent.sock"])
def test_an_address_that_is_not_a_unix_socket_path_gets_one_line(tmp_path: Path, address: str) -> None:
    env = {**os.environ, "PARSL_MONITOR_AGENT": str(tmp_path / "unused")}
    agent = subprocess.run(
        [sys.executable, "-m", "parsl_monitor_worker", "--address", address],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert (agent.returncode, agent.stderr) == (
        2,
        f"parsl-monitor-worker: the agent's address must be ipc://PATH, not {address!r}\n",
    )
