from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path


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
