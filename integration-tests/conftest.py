from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

HERE = Path(__file__).parent
WORKFLOW = HERE / "workflows" / "mixed.py"
MIDRUN = HERE / "workflows" / "midrun.py"
FAILING = HERE / "workflows" / "failing.py"
ALONG_A_TRY = ("pending", "launched", "running", "running_ended", "joining", "fail_retryable")
"""One try of a task in Parsl's DataFlowKernel, in order; it ends in fail_retryable (then a new try) or FINAL."""
FINAL = ("exec_done", "memo_done", "failed", "dep_fail")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def parsl_env() -> dict[str, str]:
    """LocalProvider starts process_worker_pool.py through the shell: our interpreter's bin must be on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_workflow(
    run_dir: Path,
    monitoring: str,
    *args: str,
    timeout: float = 600,
    workflow: Path = WORKFLOW,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run workflows/mixed.py (or ``workflow``) in a fresh interpreter, as a user would; return its JSON summary.

    ``env``: variables added to its environment.
    """
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, str(workflow), "--monitoring", monitoring, "--run-dir", str(run_dir), *args],
        cwd=run_dir.parent,
        env={**parsl_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    (run_dir.parent / "program.stderr").write_text(result.stderr)  # what the user saw in the terminal
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


INSTALL_HINT = "PostgreSQL server binaries not found: .ci/run installs them (apt-get install postgresql)"


def _binary(name: str) -> str:
    installed = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    found = shutil.which(name) or (str(installed[0]) if installed else None)
    if found is None:
        raise RuntimeError(INSTALL_HINT)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """initdb + pg_ctl in a temporary directory, on a free loopback port, trust authentication."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="parsl-monitor-pg-"))
        self.data = self.root / "data"
        # initdb refuses to run as root: run the server as the postgres user the package created.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, user="postgres")
        self._run(_binary("initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres", "--no-sync")
        self._run(
            _binary("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off",
            "start",
        )

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as, *command], check=True, capture_output=True, timeout=120, cwd=self.root)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def create_owner_with_password(self, role: str, password: str) -> str:
        """A role that must give its password (SCRAM) over TCP, owning a new database of its name;
        the database's URL, without password or driver."""
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
            conn.execute(f'CREATE DATABASE "{role}" OWNER "{role}"')
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n{hba.read_text()}")  # the first match applies
        self._run(_binary("pg_ctl"), "-D", str(self.data), "reload")
        return f"postgresql://{role}@127.0.0.1:{self.port}/{role}"

    def stop(self) -> None:
        try:
            self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    shutil.rmtree(self.root)
                    break
                except OSError:
                    time.sleep(0.2)


RunWorkflow = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def parsl_environment() -> dict[str, str]:
    """The environment a Parsl program needs to start local workers (see ``parsl_env``)."""
    return parsl_env()


@pytest.fixture(scope="session")
def run_mixed() -> RunWorkflow:
    """``run_mixed(run_dir, "ours" | "parsl" | "none", *extra_args)``: run workflows/mixed.py to completion."""
    return run_workflow


@pytest.fixture(scope="session")
def mixed_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """The mixed workflow under Parsl's monitoring and under ours: ``{"parsl"|"ours": (run_dir, summary)}``.

    Session-wide: the compatibility tests compare the two databases, the dashboard tests read them.
    """
    out = {}
    for monitoring in ("parsl", "ours"):
        run_dir = tmp_path_factory.mktemp(monitoring) / "runinfo"
        out[monitoring] = (run_dir, run_workflow(run_dir, monitoring, "--noop", "20"))
    return out


@pytest.fixture(scope="session")
def failing_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """workflows/failing.py under Parsl's monitoring, under ours, and under ours with workers that never
    start: ``{"parsl"|"ours"|"broken": (run_dir, {"run_id": ..., "tasks": {id: [state, type, message]}})}``."""
    out = {}
    for name, monitoring, extra in (
        ("parsl", "parsl", ()),
        ("ours", "ours", ()),
        ("broken", "ours", ("--broken-workers",)),
    ):
        run_dir = tmp_path_factory.mktemp(f"failing-{name}") / "runinfo"
        out[name] = (run_dir, run_workflow(run_dir, monitoring, *extra, workflow=FAILING))
    return out


@pytest.fixture(scope="session")
def zmqradio_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """The mixed workflow with a ThreadPoolExecutor beside its HTEX, under Parsl's monitoring and
    under ours with ``ZMQRadio`` on both executors and a node agent: ``{"parsl"|"ours": ...}``."""
    out = {}
    for monitoring, extra in (("parsl", ()), ("ours", ("--zmqradio",))):
        run_dir = tmp_path_factory.mktemp(f"{monitoring}-zmqradio") / "runinfo"
        out[monitoring] = (run_dir, run_workflow(run_dir, monitoring, "--noop", "20", "--threads", *extra))
    return out


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session; each test makes its own database."""
    server = PostgresServer()
    yield server
    server.stop()


class HubProcess:
    """A ``parsl-monitor-hub`` CLI process on a free loopback port, as a user starts one."""

    def __init__(self, db: str, log_file: Path, bind: str = "tcp://127.0.0.1:*", *extra: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "parsl_monitor_hub",
                "--db",
                db,
                "--bind",
                bind,
                "--log-file",
                str(log_file),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.ready_line = self.process.stdout.readline()
        assert self.ready_line.startswith("parsl-monitor-hub: listening on "), self.ready_line
        self.url = self.ready_line.split()[3].rstrip(",")
        self.log_file = log_file

    def stop(self) -> int:
        """SIGTERM, as a user's Ctrl-C or a scheduler would; the hub writes everything first."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        _, self.stderr = self.process.communicate(timeout=60)
        return self.process.returncode


@pytest.fixture
def start_hub(tmp_path: Path) -> Iterator[Callable[..., HubProcess]]:
    """``start_hub(db_url, bind=..., *options)`` starts a hub CLI; every hub still running is stopped after the test."""
    started: list[HubProcess] = []

    def start(db: str, bind: str = "tcp://127.0.0.1:*", *extra: str) -> HubProcess:
        hub = HubProcess(db, tmp_path / f"hub-{len(started)}.log", bind, *extra)
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.stop()


OUR_VIEWER = (sys.executable, "-m", "parsl_visualize")
"""How the tests start our dashboard unless told otherwise (a wheel's console script, say)."""


class ViewerProcess:
    """``parsl-visualize DB --port N`` as a user starts it, on a free loopback port."""

    def __init__(self, db: str, command: tuple[str, ...] = OUR_VIEWER) -> None:
        port = _free_port()
        self.process = subprocess.Popen(
            [*command, db, "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("parsl-visualize: serving "), line + self.process.stderr.read()  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        self.process.communicate(timeout=30)
        return self.process.returncode


@pytest.fixture
def start_viewer() -> Iterator[Callable[..., ViewerProcess]]:
    """``start_viewer(db[, command])`` serves a database; every viewer is stopped (and must exit 0) after the test."""
    started: list[ViewerProcess] = []

    def start(db: str, command: tuple[str, ...] = OUR_VIEWER) -> ViewerProcess:
        viewer = ViewerProcess(db, command)
        started.append(viewer)
        return viewer

    yield start
    assert [viewer.stop() for viewer in started] == [0] * len(started)


def status_truth(db: Path, run_id: str) -> dict[int, str]:
    """Each task's newest status, from the status rows alone: its newest try's furthest state.

    Not its latest timestamp: the program stamps some states, the worker running the try
    others, on another clock and thread, so a task running on a ThreadPoolExecutor thread
    can carry a "running" older than its "launched".
    """
    path = (*ALONG_A_TRY, *FINAL)
    newest: dict[int, tuple[int, int, str, str]] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "select task_id, try_id, timestamp, task_status_name from status where run_id = ?", (run_id,)
        )
        for task_id, try_id, timestamp, state in rows:
            key = (try_id, path.index(state), timestamp, state)
            if task_id not in newest or key > newest[task_id]:
                newest[task_id] = key
    return {task_id: key[3] for task_id, key in newest.items()}


class MidRun:
    """workflows/midrun.py, running until :meth:`release`."""

    def __init__(self, tmp_path: Path, env: dict[str, str], *args: str) -> None:
        self.run_dir = tmp_path / "runinfo"
        self.release_file = tmp_path / "release"
        self.process = subprocess.Popen(
            [sys.executable, str(MIDRUN), "--run-dir", str(self.run_dir), "--release", str(self.release_file), *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, self.process.stderr.read()  # type: ignore[union-attr]
        self.run_id: str = json.loads(line)["run_id"]
        self.db = self.run_dir / "monitoring.db"

    def wait_for(self, wanted: Callable[[collections.Counter[str]], bool], timeout: float = 120) -> dict[int, str]:
        deadline = time.monotonic() + timeout
        while True:
            states: dict[int, str] = {}
            if self.db.exists():
                with contextlib.suppress(sqlite3.OperationalError):  # tables not created yet
                    states = status_truth(self.db, self.run_id)
            counts = collections.Counter(states.values())
            if wanted(counts):
                return states
            assert time.monotonic() < deadline, f"the workflow never got there: {dict(counts)}"
            time.sleep(0.2)

    def started(self) -> dict[psutil.Process, str]:
        """What the program started and still runs, with each one's command line.

        Its descendants, and its worker pool with theirs: LocalProvider starts the pool
        detached (``... &`` in a shell), so it is no descendant.
        """
        program = psutil.Process(self.process.pid)
        found = set(program.children(recursive=True))
        for process in psutil.process_iter(["cmdline"]):
            if str(self.run_dir) in " ".join(process.info["cmdline"] or ()) and process.pid != program.pid:
                with contextlib.suppress(psutil.NoSuchProcess):
                    found.update((process, *process.children(recursive=True)))
        commands = {}
        for process in found:
            with contextlib.suppress(psutil.NoSuchProcess):  # short-lived: a shell, a sampler
                commands[process] = " ".join(process.cmdline())
        return commands

    def kill(self) -> None:
        """SIGKILL the program and what it started (interchange, workers) but its hub, as a batch scheduler ends a job.

        The hub is left to notice by itself.
        """
        started = [p for p, command in self.started().items() if "parsl_monitor_hub" not in command]
        _kill([psutil.Process(self.process.pid), *started])
        self.process.communicate(timeout=60)

    def end(self) -> None:
        """Kill the program and everything it started, if a failed test left them running."""
        if self.process.poll() is None:
            _kill([psutil.Process(self.process.pid), *self.started()])
        self.process.communicate(timeout=60)

    def release(self) -> None:
        self.release_file.touch()
        _out, err = self.process.communicate(timeout=300)
        assert self.process.returncode == 0, err[-3000:]


def _kill(processes: list[psutil.Process]) -> None:
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(processes, timeout=30)


@pytest.fixture
def mid_run(parsl_environment: dict[str, str]) -> Iterator[Callable[..., MidRun]]:
    """``mid_run(tmp_path, *args)``: workflows/midrun.py started, held until ``.release()``."""
    runs: list[MidRun] = []

    def start(tmp_path: Path, *args: str) -> MidRun:
        runs.append(MidRun(tmp_path, parsl_environment, *args))
        return runs[-1]

    yield start
    for run in runs:
        run.end()


def interchange_node_records(run_dir: Path) -> tuple[int, str]:
    """What our interchange logs at exit: how many node records it sent, and whether the hub confirmed them."""
    text = "".join(p.read_text() for p in run_dir.glob("*/htex/interchange.log"))
    ((sent, confirmed),) = re.findall(r"Sent (\d+) node records to the monitoring hub at \S+ \(([^)]*)\)", text)
    return int(sent), confirmed


@pytest.fixture
def node_records_of() -> Callable[[Path], tuple[int, str]]:
    """``node_records_of(run_dir)``: (node records sent, "all confirmed" or why not), from interchange.log."""
    return interchange_node_records


@pytest.fixture
def truth_of() -> Callable[[Path, str], dict[int, str]]:
    """``truth_of(db, run_id)``: each task's newest status, computed from the status rows alone."""
    return status_truth
