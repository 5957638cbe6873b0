"""The demo workflow: a monitored Parsl run written to runinfo/monitoring.db, with the dashboard serving it.

Run it with ``hatch run demo`` from the repository root. It is the user guide's
configuration with one changed import, on a local HighThroughputExecutor bound to
127.0.0.1: a fan-out of simulations (some burning CPU, some holding memory), one that
fails once and is retried, one that fails for good, a bash step, and a reduction.
Resources are sampled by a node agent (``parsl-monitor-worker``, started by ``worker_init``)
through ``ZMQRadio``. ``parsl-visualize`` serves the database from the moment it exists (watch the run live at
http://127.0.0.1:8080/) and keeps serving it after the run until Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import parsl
from parsl.app.app import bash_app, python_app
from parsl.config import Config
from parsl.executors import HighThroughputExecutor
from parsl.providers import LocalProvider

from parsl_monitor_hub import MonitoringHub  # was: from parsl.monitoring.monitoring import MonitoringHub
from parsl_monitor_worker import ZMQRadio


@python_app
def simulate(seed: int, seconds: float) -> float:
    import random
    import time

    rng = random.Random(seed)
    total = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        total += rng.random()
    return total


@python_app
def hold_memory(megabytes: int, seconds: float) -> int:
    import time

    block = bytearray(megabytes * 1024 * 1024)
    time.sleep(seconds)
    return len(block)


@python_app
def calibrate(marker: str) -> str:
    import pathlib

    path = pathlib.Path(marker)
    if not path.exists():
        path.write_text("first attempt failed")
        raise RuntimeError("instrument not ready (fails once, then succeeds on retry)")
    return "calibrated"


@python_app
def broken_step() -> None:
    raise ValueError("this step always fails")


@python_app
def reduce_results(*values: float) -> float:
    return sum(values)


@bash_app
def archive(stdout: str, stderr: str) -> str:
    return "echo archiving results; sleep 1"


def config(run_dir: str) -> Config:
    return Config(
        executors=[
            HighThroughputExecutor(
                label="local_htex",
                cores_per_worker=1,
                max_workers_per_node=2,
                address="127.0.0.1",
                loopback_address="127.0.0.1",
                # One node agent per worker node samples every task and the node: no process per task.
                remote_monitoring_radio=ZMQRadio(),
                provider=LocalProvider(  # type: ignore[no-untyped-call]
                    init_blocks=1,
                    max_blocks=1,
                    worker_init=f"parsl-monitor-worker --daemon --log-file {run_dir}/node_agent.log",
                ),
            )
        ],
        monitoring=MonitoringHub(
            hub_address="127.0.0.1",
            monitoring_debug=False,
            resource_monitoring_interval=1,
        ),
        retries=1,
        strategy="none",
        run_dir=run_dir,
    )


def start_dashboard(db: Path, port: int) -> subprocess.Popen[str] | None:
    """``parsl-visualize DB --port PORT`` in the background; None (and its one-line reason) if it cannot start."""
    viewer = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "parsl_visualize", str(db), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = viewer.stdout.readline() if viewer.stdout else ""
    if not line:
        print(f"dashboard not started: {viewer.stderr.read().strip() if viewer.stderr else ''}")
        viewer.wait()
        return None
    print(f"dashboard: http://127.0.0.1:{port}/ (live while the workflow runs)", flush=True)
    return viewer


def serve_until_interrupted(viewer: subprocess.Popen[str]) -> None:
    print("the dashboard keeps serving the database; press Ctrl-C to stop", flush=True)
    try:
        viewer.wait()
    except KeyboardInterrupt:
        viewer.send_signal(signal.SIGINT)
        viewer.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default="runinfo", help="Parsl's run directory (default: runinfo)")
    parser.add_argument("--tasks", type=int, default=40, help="number of simulations (default: 40)")
    parser.add_argument("--port", type=int, default=8080, help="dashboard port (default: 8080)")
    parser.add_argument("--no-dashboard", action="store_true", help="only run the workflow")
    args = parser.parse_args()
    db = Path(args.run_dir) / "monitoring.db"
    viewer = None
    with parsl.load(config(args.run_dir)):
        if not args.no_dashboard:
            viewer = start_dashboard(db, args.port)  # the hub has created the database by now
        calibrated = calibrate(str(Path(args.run_dir) / "calibration.marker"))
        sims = [simulate(i, 0.2 + (i % 5) * 0.2) for i in range(args.tasks)]
        mems = [hold_memory(50 + 50 * (i % 3), 1.5) for i in range(4)]
        broken = broken_step()
        total = reduce_results(*sims)
        archived = archive(
            stdout=str(Path(args.run_dir) / "archive.out"), stderr=str(Path(args.run_dir) / "archive.err")
        )
        print(
            f"calibration: {calibrated.result()}; sum of simulations: {total.result():.1f}; "
            f"memory held: {sum(m.result() for m in mems) // 2**20} MiB; archive exit code {archived.result()}"
        )
        print(f"broken step failed after its retry, as designed: {broken.exception()!r}")
    with sqlite3.connect(db) as conn:
        counts = {
            t: conn.execute(f"select count(*) from {t}").fetchone()[0]  # noqa: S608 - fixed names
            for t in ("workflow", "task", "try", "status", "resource", "node", "block", "node_sample")
        }
    print(f"monitoring database: {db.resolve()}")
    print("rows: " + ", ".join(f"{table} {n}" for table, n in counts.items()), flush=True)
    if viewer is not None:
        serve_until_interrupted(viewer)


if __name__ == "__main__":
    main()
