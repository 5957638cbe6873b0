"""A workflow that fails the ways users ask the dashboard about, under Parsl's monitoring or ours.

python failing.py --monitoring {parsl,ours} --run-dir DIR [--samples N] [--broken-workers]

- ``lookup``: N tasks raising ``KeyError('sample_<i>')``, alike but for a number;
- ``parse``: one task raising a ``ValueError`` with a three-line message;
- ``shout``: a bash_app writing to stdout and stderr, then exiting with code 3;
- ``stage``: a chain of three tasks after a failing ``lookup`` (dep_fail, then dep_fail of that);
- ``both``: a task after ``parse`` and the failing ``lookup`` (Parsl names the first as its cause);
- ``assemble``: a join app joining three ``convert`` tasks, one raising a ``RuntimeError``
  (failed with a ``JoinError``), and a ``stage`` after it (dep_fail through the join);
- ``wrap``: a join app joining an ``assemble`` that fails the same way (a join of a join);
- ``run_tool``: a task whose command fails under ``subprocess.run(..., check=True)``;
- ``die``: a task whose worker is killed (``SIGKILL``, as the out-of-memory killer does);
- ``fine`` given a generator: Parsl cannot pickle it (a ``SerializationError``);
- ``forget``: a bash_app that exits 0 without writing its declared output (``MissingOutputs``);
- ``fetch``: two tasks raising ``TimeoutError`` on their first try, the only failure retried
  (once): part 0 succeeds on its retry, part 1 fails it too;
- ``fine``: tasks that succeed.

``--broken-workers``: the block's ``worker_init`` runs a command that does not exist and
exits, so no worker ever starts and every task fails once Parsl gives up on the block.

Prints, as JSON, the run id, what each task ended as (``"tasks": {task_id: [state, exception type,
message]}``) and how many of its tries failed (``"failed_tries": {task_id: n}``), from the futures
(the join apps' inner ones too): the truth the dashboard is compared with.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import parsl
from parsl.app.app import bash_app, join_app, python_app
from parsl.config import Config
from parsl.data_provider.files import File
from parsl.executors import HighThroughputExecutor
from parsl.providers import LocalProvider

MISSING_COMMAND = "parsl-monitor-no-such-command"


@python_app
def lookup(i: int) -> str:
    table = {"sample_0": "ok"}
    return table[f"sample_{i}"]


@python_app
def parse(text: str) -> int:
    raise ValueError(f"cannot parse {text!r}\nline 2 of the input is empty\nexpected: a number")


@bash_app
def shout(stdout: str | None = None, stderr: str | None = None) -> str:
    return "echo 'to stdout'; echo 'to stderr: something broke' >&2; exit 3"


@python_app
def stage(previous: object) -> object:
    return previous


@python_app
def both(first: object, second: object) -> object:
    return first, second


@python_app
def run_tool() -> None:
    import subprocess

    subprocess.run(["sh", "-c", "exit 4"], check=True)  # noqa: S607 - the user's tool, found on PATH


@python_app
def die() -> None:
    import os
    import signal
    import time

    time.sleep(1.5)  # past the first resource sample, which names the try's host
    os.kill(os.getpid(), signal.SIGKILL)


@bash_app
def forget(outputs: tuple[File, ...] = ()) -> str:
    return "true"


@python_app
def fine(x: int) -> int:
    return x


@python_app
def convert(part: int) -> int:
    if part == 1:
        raise RuntimeError(f"cannot convert part {part}: no such format")
    return part


JOINED: list[Any] = []
"""Every future the join apps returned (their bodies run in this process)."""


@join_app
def assemble(parts: int) -> list[Any]:
    inner = [convert(part) for part in range(parts)]
    JOINED.extend(inner)
    return inner


@join_app
def wrap() -> Any:
    inner = assemble(2)
    JOINED.append(inner)
    return inner


@python_app
def fetch(part: int, scratch: str) -> int:
    from pathlib import Path

    tried = Path(scratch) / f"fetch-{part}-tried"
    if part == 1 or not tried.exists():
        tried.touch()
        raise TimeoutError("the archive did not answer")
    return part


def retry_only_fetch(error: Exception, task_record: Any) -> int:
    """Only ``fetch``'s timeouts are retried: any other failure costs more than the config's one retry."""
    return 1 if task_record["func_name"] == "fetch" and isinstance(error, TimeoutError) else 2


def make_config(monitoring: str, run_dir: str, broken: bool) -> Config:
    from parsl.monitoring.monitoring import MonitoringHub as ParslMonitoringHub

    from parsl_monitor_hub import MonitoringHub

    hub = MonitoringHub(resource_monitoring_interval=1) if monitoring == "ours" else ParslMonitoringHub()
    worker_init = f"{MISSING_COMMAND} || exit 127" if broken else ""
    executor = HighThroughputExecutor(
        label="htex",
        address="127.0.0.1",
        loopback_address="127.0.0.1",
        max_workers_per_node=2,
        provider=LocalProvider(init_blocks=1, min_blocks=0, max_blocks=1, worker_init=worker_init),  # type: ignore[no-untyped-call]
    )
    return Config(
        executors=[executor],
        monitoring=hub,
        retries=1,
        retry_handler=retry_only_fetch,
        strategy="none",
        run_dir=run_dir,
    )


def outcome(future: Any) -> tuple[str, str | None, str | None]:
    """``(state, exception type, str(exception))`` of a finished future, as the program sees it."""
    error = future.exception()
    if error is None:
        return "done", None, None
    if type(error).__name__ == "MissingOutputs":  # its str() prints File reprs: say which files
        return "failed", "MissingOutputs", "\n".join([error.reason, *(output.url for output in error.outputs)])
    return "failed", type(error).__name__, str(error)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--monitoring", choices=["parsl", "ours"], required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--broken-workers", action="store_true")
    args = parser.parse_args()
    out = Path(args.run_dir)
    with parsl.load(make_config(args.monitoring, args.run_dir, args.broken_workers)) as dfk:
        futures = [lookup(i) for i in range(1, args.samples + 1)]
        parsed = parse("x,y")
        futures.append(parsed)
        futures.append(shout(stdout=str(out / "shout.out"), stderr=str(out / "shout.err")))
        root = lookup(args.samples + 1)
        first = stage(root)
        second = stage(first)
        futures += [root, first, second, stage(second), both(parsed, root)]
        futures += [run_tool(), die(), fine(i for i in range(3))]  # the last: a generator, which Parsl cannot pickle
        futures.append(forget(outputs=[File(str(out / "never-written.txt"))]))
        futures += [fine(i) for i in range(3)]
        futures += [fetch(part, str(out)) for part in range(2)]
        assembled = assemble(3)
        futures += [assembled, stage(assembled), wrap()]
        for future in futures:
            future.exception()
        futures += JOINED
        tasks = {f.tid: outcome(f) for f in futures}
        failed_tries = {f.tid: f.task_record["fail_count"] for f in futures}
        json.dump({"run_id": dfk.run_id, "tasks": tasks, "failed_tries": failed_tries}, sys.stdout)


if __name__ == "__main__":
    main()
