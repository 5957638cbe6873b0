"""Dashboard response times: our parsl-visualize vs Parsl's own, on the same synthetic databases.

Each page is fetched twice (cold, then warm) from a server started for that database.
Parsl's viewer gets a per-request deadline: on big databases it takes minutes.
"""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from benchmarks import synthetic_db

if TYPE_CHECKING:
    from pathlib import Path

RUN = "synthetic-run"


def pages(tasks: int) -> dict[str, str]:
    """The pages both viewers have, by name."""
    return {
        "workflows": "/",
        "summary": f"/workflow/{RUN}/",
        "dag by app": f"/workflow/{RUN}/dag_group_by_apps",
        "resources": f"/workflow/{RUN}/resource_usage",
        "task list": f"/workflow/{RUN}/task/",
        "one task": f"/workflow/{RUN}/task/{tasks // 2}",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(system: str, db: Path, port: int) -> subprocess.Popen[bytes]:
    if system == "ours":
        command = [sys.executable, "-m", "parsl_visualize", str(db), "--port", str(port)]
    else:
        # Parsl's own CLI, called through its module: both packages install a `parsl-visualize` script.
        command = [
            sys.executable,
            "-c",
            "from parsl.monitoring.visualization.app import cli_run; cli_run()",
            "--port",
            str(port),
            f"sqlite:///{db}",
        ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{system} viewer did not start")


def _fetch(url: str, deadline: float) -> tuple[float | None, int, int]:
    """(seconds or None on timeout, HTTP status, bytes)."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=deadline) as response:  # noqa: S310 - loopback
            body = response.read()
            return time.perf_counter() - start, response.status, len(body)
    except urllib.error.HTTPError as exc:
        return time.perf_counter() - start, exc.code, 0
    except (TimeoutError, urllib.error.URLError):
        return None, 0, 0


def _measure(system: str, db: Path, tasks: int, deadline: float) -> dict[str, Any]:
    port = _free_port()
    proc = _start(system, db, port)
    out: dict[str, Any] = {}
    try:
        for name, path in pages(tasks).items():
            cold = _fetch(f"http://127.0.0.1:{port}{path}", deadline)
            # A second fetch only where it is quick enough to repeat; a timed-out request keeps
            # the server busy, so restart it rather than measure the next page against it.
            repeat = cold[0] is not None and cold[0] < deadline / 4
            warm = _fetch(f"http://127.0.0.1:{port}{path}", deadline) if repeat else (None, 0, 0)
            out[name] = {"cold": cold[0], "warm": warm[0], "status": cold[1], "bytes": cold[2]}
            if cold[0] is None:
                _stop(proc)
                port = _free_port()
                proc = _start(system, db, port)
    finally:
        _stop(proc)
    return out


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _cell(page: dict[str, Any]) -> str:
    if page["cold"] is None:
        return "timeout"
    if page["status"] != 200:
        return f"HTTP {page['status']}"
    warm = f" / {page['warm']:.2f}" if page["warm"] is not None else ""
    return f"{page['cold']:.2f}{warm} s, {page['bytes'] / 1e6:.2f} MB"


def run(workdir: Path, sizes: list[int], parsl_up_to: int, deadline: float) -> dict[int, Any]:
    results: dict[int, Any] = {}
    parsl_installed = importlib.util.find_spec("flask") is not None
    if not parsl_installed:
        print("viewer: Parsl's parsl-visualize is not installed (pip install 'parsl[visualization]'): ours only")
    for tasks in sizes:
        db = workdir / f"viewer-{tasks}.db"
        synthetic_db.write(db, tasks)
        systems = ["ours", "parsl"] if tasks <= parsl_up_to and parsl_installed else ["ours"]
        results[tasks] = {system: _measure(system, db, tasks, deadline) for system in systems}
        for name in pages(tasks):
            ours = results[tasks]["ours"][name]
            line = f"viewer {tasks:>7,} tasks, {name:<10}: ours {_cell(ours)}"
            if "parsl" in results[tasks]:
                theirs = results[tasks]["parsl"][name]
                line += f"; Parsl {_cell(theirs)}"
                if theirs["cold"] is not None and theirs["status"] == 200 and ours["cold"]:
                    line += f"; Parsl/ours cold {theirs['cold'] / ours['cold']:.1f}x"
            print(line, flush=True)
    return results
