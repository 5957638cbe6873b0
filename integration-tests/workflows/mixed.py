"""A Parsl workflow touching every kind of task monitoring records.

A diamond DAG, an app that fails once and succeeds on retry, an app that always fails
(and a task depending on it), a bash_app, a join_app and a memoized app, on a local
HighThroughputExecutor bound to 127.0.0.1. Run it with Parsl's own MonitoringHub or ours:

    python mixed.py --monitoring {parsl,ours} --run-dir DIR [--hub-url tcp://...] [--noop N] [--custom-interchange]
                    [--threads] [--zmqradio]

The summary it prints includes the titles of the Parsl helper processes that ran (for
example Parsl's monitoring router), read from ``/proc`` while the workflow was loaded.
``--custom-interchange`` gives the executor an ``interchange_launch_cmd`` of its own.
``--threads`` adds a ThreadPoolExecutor beside the HighThroughputExecutor, with tasks of
its own and one that depends on an HTEX task. ``--zmqradio`` (ours only) gives both
executors ``ZMQRadio`` and starts a node agent with the workers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import parsl
from parsl.app.app import bash_app, join_app, python_app
from parsl.config import Config
from parsl.executors import HighThroughputExecutor, ThreadPoolExecutor
from parsl.providers import LocalProvider


@python_app
def inc(x: int) -> int:
    return x + 1


@python_app
def add(a: int, b: int) -> int:
    return a + b


@python_app(cache=True)
def square(x: int) -> int:
    return x * x


@python_app
def flaky(marker: str) -> str:
    import pathlib

    path = pathlib.Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise RuntimeError("first try fails")
    return "second try works"


@python_app
def always_fails() -> None:
    raise ValueError("this app always fails")


@python_app
def noop() -> None:
    return None


@bash_app
def greet(stdout: str | None = None, stderr: str | None = None) -> str:
    return "echo hello from bash"


@python_app(executors=["threads"])
def in_thread(x: int) -> int:
    return x * 10


@join_app
def fan_out(n: int) -> Any:
    return [inc(i) for i in range(n)]


def make_config(
    monitoring: str,
    run_dir: str,
    hub_url: str | None,
    interval: float,
    *,
    custom_interchange: bool = False,
    threads: bool = False,
    zmqradio: bool = False,
    logging_endpoint: str | None = None,
) -> Config:
    from parsl.monitoring.monitoring import MonitoringHub as ParslMonitoringHub

    from parsl_monitor_hub import MonitoringHub  # the one-import switch

    hub: ParslMonitoringHub | None = None
    if monitoring == "parsl":
        hub = ParslMonitoringHub(resource_monitoring_interval=interval)
    elif monitoring == "ours":
        hub = MonitoringHub(resource_monitoring_interval=interval, hub_url=hub_url, logging_endpoint=logging_endpoint)
    radio: dict[str, Any] = {}
    worker_init = ""
    if zmqradio:
        from parsl_monitor_worker import ZMQRadio

        radio = {"remote_monitoring_radio": ZMQRadio()}
        worker_init = f"parsl-monitor-worker --daemon --log-file {run_dir}/agent.log"
    executors: list[Any] = [
        HighThroughputExecutor(
            label="htex",
            address="127.0.0.1",
            loopback_address="127.0.0.1",
            max_workers_per_node=2,
            interchange_launch_cmd=[sys.executable, "-m", INTERCHANGE] if custom_interchange else None,
            provider=LocalProvider(init_blocks=1, min_blocks=0, max_blocks=1, worker_init=worker_init),  # type: ignore[no-untyped-call]
            **radio,
        )
    ]
    if threads:
        executors.append(ThreadPoolExecutor(label="threads", max_threads=4, **radio))
    return Config(executors=executors, monitoring=hub, retries=1, strategy="none", run_dir=run_dir)


INTERCHANGE = "parsl.executors.high_throughput.interchange"


def helper_processes() -> list[str]:
    """Titles of this program's Parsl helper processes (Parsl names them ``parsl: ...``)."""
    titles = set()
    for child in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in child.read_text().split():
            try:
                title = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip()
            except OSError:
                continue
            if title.startswith("parsl: "):
                titles.add(title)
    return sorted(titles)


def memoized_twice() -> list[int]:
    """Call the cached app twice; the second call is a cache hit on every Parsl of the range.

    Older Parsl releases (our floor, 2025.6.30) store the cache entry in a done-callback of
    the first future, after ``result()`` can already return: a second call made at once may miss the
    cache (seen in CI, at the floor). Callbacks run in the order added, so waiting for one
    added after Parsl's makes the hit certain.
    """
    first = square(7)
    stored = threading.Event()
    first.add_done_callback(lambda _: stored.set())
    stored.wait()
    return [first.result(), square(7).result()]


def run(run_dir: str, noops: int, *, threads: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    a = inc(1)
    d = add(inc(a), inc(a))  # diamond: a -> b, c -> d
    out["diamond"] = d.result()
    out["flaky"] = flaky(str(Path(run_dir) / "flaky.marker")).result()
    doomed = always_fails()
    after = inc(doomed)
    out["dependency_failure"] = type(after.exception()).__name__
    out["always_fails"] = type(doomed.exception()).__name__
    out["bash"] = greet(stdout=str(Path(run_dir) / "greet.out"), stderr=str(Path(run_dir) / "greet.err")).result()
    out["join"] = fan_out(3).result()
    out["memo"] = memoized_twice()
    futures = [noop() for _ in range(noops)]
    out["noops"] = sum(1 for f in futures if f.result() is None)
    if threads:
        in_threads = [in_thread(i) for i in range(10)] + [in_thread(inc(5))]
        out["threads"] = [f.result() for f in in_threads]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--monitoring", choices=["parsl", "ours", "none"], required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--hub-url")
    parser.add_argument("--noop", type=int, default=0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--custom-interchange", action="store_true")
    parser.add_argument("--threads", action="store_true")
    parser.add_argument("--zmqradio", action="store_true")
    parser.add_argument(
        "--logging-endpoint",
        default=os.environ.get("LOGGING_ENDPOINT"),  # a password stays off this program's command line
        help="ours: the database URL of the workflow's own hub (default: $LOGGING_ENDPOINT)",
    )
    args = parser.parse_args()
    config = make_config(
        args.monitoring,
        args.run_dir,
        args.hub_url,
        args.interval,
        custom_interchange=args.custom_interchange,
        threads=args.threads,
        zmqradio=args.zmqradio,
        logging_endpoint=args.logging_endpoint,
    )
    with parsl.load(config) as dfk:
        result = run(args.run_dir, args.noop, threads=args.threads)
        result["run_id"] = dfk.run_id
        result["helper_processes"] = helper_processes()
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
