"""Why did it fail: the dashboard names every failure of a real workflow, as the program itself saw it.

The truth is what each task's future raised in workflows/failing.py (its type and ``str``),
printed by the program; the dashboard reads only the database, written by our hub or by
Parsl's own monitoring.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from conftest import ViewerProcess

    Runs = dict[str, tuple[Path, dict[str, Any]]]
    StartViewer = Callable[[str], ViewerProcess]

pytestmark = pytest.mark.slow

SAMPLES = 30  # failing.py's default: lookup(1..30) fail, and lookup(31) at the root of the stage chain
DEPENDENCY = "DependencyError"
PROPAGATED = {DEPENDENCY, "JoinError"}  # a failure that is another task's (dep_fail, a join app's)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
        return response.read().decode()  # type: ignore[no-any-return]


def _root_of(message: str) -> int:
    """The task at the root of a DependencyError's or JoinError's chain: ``... via task 34 <- task 33 <- task 32``.

    Parsl's representative cause: the first failed dependency or joined task, followed up.
    """
    return int(re.findall(r"task (\d+)", message)[-1])


def _roots(outcomes: dict[int, list[Any]]) -> dict[int, int]:
    """Each task failed by another's failure -> the task at the root of its chain, as Parsl told the program."""
    return {task: _root_of(o[2]) for task, o in outcomes.items() if o[1] in PROPAGATED}


def _expected_error(outcome: list[Any]) -> str:
    """What the program printed for a failure, as the dashboard's error column should read it."""
    _state, kind, message = outcome
    return f"{kind}: {message.splitlines()[0]}"


@pytest.mark.parametrize("writer", ["ours", "parsl"])
def test_every_failed_task_names_its_failure_in_the_csv_as_the_program_saw_it(
    failing_runs: Runs, start_viewer: StartViewer, writer: str
) -> None:
    run_dir, truth = failing_runs[writer]
    viewer = start_viewer(str(run_dir / "monitoring.db"))
    rows = list(csv.DictReader(io.StringIO(_get(f"{viewer.url}/workflow/{truth['run_id']}/tasks.csv"))))
    by_id = {int(row["task_id"]): row for row in rows}
    outcomes = {int(task_id): outcome for task_id, outcome in truth["tasks"].items()}
    assert set(outcomes) <= set(by_id)
    # fetch's failure, as it reads where it was final: a task that succeeded on its retry shows it too.
    (retried_error,) = {_expected_error(o) for o in outcomes.values() if o[1] == "TimeoutError"}
    for task_id, outcome in outcomes.items():
        row = by_id[task_id]
        state, kind, message = outcome
        if state == "done":
            recovered = truth["failed_tries"][str(task_id)] > 0
            assert (row["state"], row["root_task"]) == ("exec_done", ""), row
            assert row["error"] == (retried_error if recovered else ""), row
        elif kind in PROPAGATED:
            root = _root_of(message)
            assert outcomes[root][1] not in PROPAGATED  # failed by itself
            assert row["state"] == ("dep_fail" if kind == DEPENDENCY else "failed"), row
            assert int(row["root_task"]) == root, row
            assert row["error"] == _expected_error(outcomes[root]), row
        else:
            assert row["state"] == "failed"
            assert row["error"] == _expected_error(outcome), row
            if kind != "SerializationError":  # that one never left the program
                assert row["host"], row  # it ran on a worker, and the worker's host is named
            if kind == "MissingOutputs":  # the task page names the files not written
                detail = json.loads(_get(f"{viewer.url}/api/workflow/{truth['run_id']}/task/{task_id}"))
                assert detail["tries"][-1]["failure"]["message"] == message


@pytest.mark.parametrize("writer", ["ours", "parsl"])
def test_alike_failures_are_one_group_that_links_to_exactly_its_tasks(
    failing_runs: Runs, start_viewer: StartViewer, writer: str
) -> None:
    run_dir, truth = failing_runs[writer]
    run_id = truth["run_id"]
    viewer = start_viewer(str(run_dir / "monitoring.db"))
    report = json.loads(_get(f"{viewer.url}/api/workflow/{run_id}/failures"))
    outcomes = {int(task_id): outcome for task_id, outcome in truth["tasks"].items()}
    own = [o for o in outcomes.values() if o[0] == "failed" and o[1] not in PROPAGATED]
    roots = _roots(outcomes)
    failed_tries = {int(task_id): n for task_id, n in truth["failed_tries"].items()}
    by_type = {group["type"]: group for group in report["groups"]}
    # One group per kind: the KeyErrors differ only in numbers, and a join app's JoinError is
    # its joined task's failure, not one of its own.
    assert sorted(by_type) == sorted({o[1] for o in own})
    keys, conversions = by_type["KeyError"], by_type["RuntimeError"]
    assert (keys["tries"], keys["tasks"], keys["apps"]) == (SAMPLES + 1, SAMPLES + 1, ["lookup"])
    assert (conversions["tries"], conversions["tasks"], conversions["apps"]) == (2, 2, ["convert"])
    for group in (keys, conversions):
        failed_by_it = [t for t, root in roots.items() if outcomes[root][1] == group["type"]]
        assert group["dependents"] == len(failed_by_it) > 0, group
    # fetch, the one app retried: one task recovered on its retry, the other failed it too.
    fetches = [t for t, o in outcomes.items() if failed_tries[t] and o[1] in {None, "TimeoutError"}]
    recovered = [t for t in fetches if outcomes[t][0] == "done"]
    timeouts = by_type["TimeoutError"]
    assert (timeouts["tries"], timeouts["tasks"], timeouts["recovered"]) == (
        sum(failed_tries[t] for t in fetches),
        len(fetches),
        len(recovered),
    )
    assert len(recovered) == 1 and timeouts["tries"] == 3  # the workflow's plan: 1 try + 2 tries
    assert all(group["recovered"] == 0 for group in report["groups"] if group is not timeouts)
    assert keys["first"] <= keys["last"]
    assert report["failed_tries"] == sum(n for t, n in failed_tries.items() if outcomes[t][1] not in PROPAGATED)
    kinds = [o[1] for o in outcomes.values()]
    assert (report["dependency_failed"], report["join_failed"], report["unexplained"]) == (
        kinds.count(DEPENDENCY),
        kinds.count("JoinError"),
        0,
    )

    for group in (keys, conversions):
        query = urlencode({"error": group["group"], "per_page": 1000})
        listed = json.loads(_get(f"{viewer.url}/api/workflow/{run_id}/tasks?{query}"))
        failed_so = {t for t, o in outcomes.items() if o[1] == group["type"]}
        listed_by_it = {t for t, root in roots.items() if root in failed_so}
        assert {row["task_id"] for row in listed["rows"]} == failed_so | listed_by_it


def test_workers_that_never_start_are_named_on_the_summary_not_buried_in_an_executor_repr(
    failing_runs: Runs, start_viewer: StartViewer
) -> None:
    run_dir, truth = failing_runs["broken"]
    run_id = truth["run_id"]
    viewer = start_viewer(str(run_dir / "monitoring.db"))
    outcomes = truth["tasks"].values()
    # No worker ran anything; the generator failed in the program, before any worker was asked.
    assert {o[1] for o in outcomes} == {"BadStateException", "SerializationError", *PROPAGATED}
    report = json.loads(_get(f"{viewer.url}/api/workflow/{run_id}/failures"))
    group, _unpicklable = report["groups"]  # most tries first
    assert group["type"] == "BadStateException"
    assert group["tasks"] == sum(o[1] == "BadStateException" for o in outcomes)
    assert "parsl-monitor-no-such-command: command not found" in group["summary"]
    assert "HighThroughputExecutor(" not in group["message"]
    page = _get(f"{viewer.url}/workflow/{run_id}/")
    panel = page[page.index('id="failures"') : page.index("App Summary")]
    assert "parsl-monitor-no-such-command: command not found" in panel


def test_parsl_s_errors_read_as_parsl_prints_them() -> None:
    # The classes themselves, from the installed Parsl: a worker pool lost (its node died, or
    # its block's walltime ran out), a worker lost, a bash_app's exit code, an app's walltime.
    from parsl.app.errors import AppTimeout, BashExitFailure
    from parsl.executors.high_throughput.errors import ManagerLost, WorkerLost
    from parsl.serialize.errors import DeserializationError, SerializationError

    from parsl_visualize.failure_text import parse_failure

    for error in (
        ManagerLost(b"0f3a9c2e51d4", "node7"),
        WorkerLost(3, "node7"),  # type: ignore[no-untyped-call]
        BashExitFailure("shout", 3),
        AppTimeout("App walltime exceeded"),
        SerializationError("simulate"),
        DeserializationError("unsupported pickle protocol: 9"),
    ):
        failure = parse_failure(repr(error))  # what Parsl records for the try
        assert (failure.type, failure.message) == (type(error).__name__, str(error))
