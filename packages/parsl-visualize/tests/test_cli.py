from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING

import pytest

from parsl_visualize.cli import is_loopback

if TYPE_CHECKING:
    from pathlib import Path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parsl_visualize", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "99999"], "port 99999 is outside 1-65535"),
        (["--port", "http"], "not a port number: 'http'"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr.splitlines()[-1]


def test_an_allowed_files_directory_that_does_not_exist_is_one_line(db_path: Path, tmp_path: Path) -> None:
    result = run_cli(str(db_path), "--allow-files", str(tmp_path / "nowhere"))
    assert (result.returncode, result.stderr) == (
        2,
        f"parsl-visualize: --allow-files {tmp_path / 'nowhere'}: not a directory\n",
    )


def test_without_a_database_it_looks_in_runinfo_and_says_so(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2
    expected = tmp_path / "runinfo" / "monitoring.db"
    assert result.stderr.startswith(f"parsl-visualize: no database at {expected}: run a monitored workflow first")
    assert result.stderr.count("\n") == 1


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database")
    result = run_cli(str(path))
    assert (result.returncode, result.stderr) == (2, f"parsl-visualize: {path} is not an SQLite database\n")


def test_a_port_in_use_is_one_line(db_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli(str(db_path), "--port", str(port))
    assert result.returncode == 2
    assert result.stderr == f"parsl-visualize: port {port} on 127.0.0.1 is already in use: choose another with --port\n"


def test_it_serves_the_dashboard_and_stops_cleanly_on_sigint(db_path: Path, port: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "parsl_visualize", str(db_path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == f"parsl-visualize: serving sqlite:///{db_path} at http://127.0.0.1:{port}/\n"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    assert "run-done" in response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        proc.send_signal(2)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "WARNING" not in err  # loopback: no exposure warning


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),  # noqa: S104 - only classified, never bound
        ("10.1.2.3", False),
        ("login1.cluster.org", False),
    ],
)
def test_only_loopback_addresses_are_private(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback
