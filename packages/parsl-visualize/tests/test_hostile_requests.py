"""Requests a user, a script or an attacker may send: odd ids, bad numbers, HEAD, bursts, bugs."""

from __future__ import annotations

import csv
import datetime
import html
import io
import logging
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine

from parsl_monitor_core.schema import Status, Task, Workflow, table_of

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import TestClient

    Client = TestClient[Litestar]

HTML = {"accept": "text/html"}
DONE = "run-done"
ODD_RUN = "team/a b?%41#é日本"
ODD_APP = "module/func name"


@pytest.fixture
def odd_run(db_path: Path) -> str:
    """A run whose id and app name hold a slash, spaces, URL syntax and non-Latin-1 text."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        conn.execute(
            table_of(Workflow).insert(),
            {
                "run_id": ODD_RUN,
                "workflow_name": "odd",
                "time_began": now,
                "time_completed": now,
                "host": "h",
                "user": "u",
                "rundir": "/r",
                "tasks_completed_count": 1,
                "tasks_failed_count": 0,
            },
        )
        conn.execute(
            table_of(Task).insert(),
            {
                "run_id": ODD_RUN,
                "task_id": 0,
                "task_func_name": ODD_APP,
                "task_memoize": "False",
                "task_time_invoked": now,
                "task_fail_count": 0,
                "task_fail_cost": 0.0,
            },
        )
        conn.execute(
            table_of(Status).insert(),
            {"run_id": ODD_RUN, "task_id": 0, "try_id": 0, "task_status_name": "exec_done", "timestamp": now},
        )
    engine.dispose()
    return ODD_RUN


def _get(url: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=HTML)  # noqa: S310 - an http:// URL of ours
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - an http:// URL of ours
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def _href(page: str, text: str) -> str:
    """The target of the page's link showing ``text``, as a browser would request it."""
    found = re.findall(rf'href="([^"]+)"[^>]*>{re.escape(html.escape(text))}</a>', page)
    assert found, text
    return html.unescape(found[0])


def test_every_id_the_database_can_hold_is_reachable(odd_run: str, served: str) -> None:
    # A real server: Litestar's in-process test client decodes paths twice, uvicorn (like any server) once.
    root = served.rstrip("/")
    status, _headers, listing = _get(served)
    assert status == 200
    status, _headers, summary = _get(root + _href(listing, odd_run))  # the links a person follows
    assert status == 200 and html.escape(ODD_APP) in summary
    status, _headers, tasks = _get(root + _href(summary, "All tasks"))
    assert status == 200
    for path in (_href(tasks, "0"), _href(summary, ODD_APP)):
        status, _headers, page = _get(root + path)
        assert status == 200, path
        assert html.escape(ODD_APP) in page
    run_segment = urllib.parse.quote(urllib.parse.quote(odd_run, safe=""), safe="")  # what a script writes
    status, _headers, body = _get(f"{served}api/workflow/{run_segment}")
    assert status == 200 and f'"run_id":"{odd_run}"' in body
    status, headers, export = _get(root + _href(summary, "CSV"))
    assert status == 200
    disposition = headers["content-disposition"]
    assert disposition.isascii()
    assert urllib.parse.quote(f"{odd_run}-tasks.csv", safe="") in disposition  # RFC 6266 filename*
    assert [row["app"] for row in csv.DictReader(io.StringIO(export))] == [ODD_APP]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        (f"/workflow/{DONE}/task/{2**63}", "task_id"),
        (f"/workflow/{DONE}/task/99999999999999999999999", "task_id"),
        (f"/api/workflow/{DONE}/task/{2**64}", "task_id"),
        (f"/workflow/{DONE}/task/?page=0", "page"),
        (f"/workflow/{DONE}/task/?page={2**63}", "page"),
        (f"/api/workflow/{DONE}/tasks?per_page=100000", "per_page"),
        (f"/api/workflow/{DONE}/tasks?task_id={2**63}", "task_id"),
    ],
)
def test_numbers_out_of_range_are_a_400_naming_the_parameter(client: Client, path: str, parameter: str) -> None:
    response = client.get(path, headers=HTML)
    assert response.status_code == 400, response.text
    assert "bad request parameter" in response.text and parameter in response.text


@pytest.mark.parametrize("search", ["²", "١٢", "1" * 10_000, str(2**63), "-1", " 1 2 "])
def test_any_search_text_is_a_search_that_finds_nothing(client: Client, search: str) -> None:
    response = client.get(f"/api/workflow/{DONE}/tasks", params={"q": search})
    assert response.status_code == 200
    assert response.json()["total"] == 0
    assert client.get(f"/workflow/{DONE}/task/", params={"q": search}).status_code == 200


def test_head_answers_like_get_without_a_body(client: Client) -> None:
    for path in ("/", f"/workflow/{DONE}/", "/api/workflows", "/static/app.css", f"/workflow/{DONE}/tasks.csv"):
        head = client.head(path)
        assert head.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == client.get(path).headers["content-type"]


def test_an_internal_error_is_logged_with_its_traceback(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from parsl_visualize.pages import workflows

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug in a query")

    monkeypatch.setattr(workflows, "list_workflows", broken)
    with caplog.at_level(logging.ERROR, logger="parsl_visualize.app"):
        response = client.get("/", headers=HTML)
    assert response.status_code == 500
    assert "see the server&#39;s log" in response.text or "see the server's log" in response.text
    (record,) = [r for r in caplog.records if r.name == "parsl_visualize.app"]
    assert record.getMessage() == "GET / failed"
    assert record.exc_info is not None and "a bug in a query" in str(record.exc_info[1])


@pytest.fixture
def served(db_path: Path, port: int) -> Iterator[str]:
    """``parsl-visualize`` serving the example database; its URL. It must stop cleanly on SIGINT."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "parsl_visualize", str(db_path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("parsl-visualize: serving")
    yield f"http://127.0.0.1:{port}/"
    proc.send_signal(2)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_a_burst_of_concurrent_requests_is_answered(served: str) -> None:
    # 16 concurrent requests once froze the server for the pool's 30 s timeout; 20 never recovered.
    urls = [f"{served.rstrip('/')}{path}" for path in ("/api/workflows", f"/workflow/{DONE}/", "/")]
    answers: list[int] = []
    threads = [threading.Thread(target=lambda url=url: answers.append(_get(url)[0])) for url in urls * 20]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    waited = time.monotonic() - started
    assert answers == [200] * 60, answers
    assert waited < 30, f"60 requests took {waited:.0f} s: requests wait for each other"


def test_try_ids_parsl_never_writes_still_give_every_task_a_state(db_path: Path, client: Client) -> None:
    # A task's state comes from its newest try (an integer column SQLite does not enforce):
    # text, a negative or a huge try id must neither fail a page nor lose the task.
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    odd_tries: list[object] = ["x", -5, 2**62, 0]
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        conn.execute(
            table_of(Workflow).insert(),
            {"run_id": "odd-tries", "time_began": now, "host": "h", "user": "u", "rundir": "/r",
             "tasks_completed_count": 0, "tasks_failed_count": 0},
        )  # fmt: skip
        for task_id in range(len(odd_tries)):
            conn.execute(
                table_of(Task).insert(),
                {"run_id": "odd-tries", "task_id": task_id, "task_func_name": "f", "task_memoize": "False",
                 "task_time_invoked": now, "task_fail_count": 0, "task_fail_cost": 0.0},
            )  # fmt: skip
    with sqlite3.connect(db_path) as conn:  # as a foreign writer would: past SQLAlchemy's types
        conn.executemany(
            "insert into status (run_id, task_id, try_id, task_status_name, timestamp) values (?, ?, ?, ?, ?)",
            [("odd-tries", task_id, try_id, state, now.isoformat(sep=" "))
             for task_id, try_id in enumerate(odd_tries) for state in ("pending", "launched")],
        )  # fmt: skip
    engine.dispose()
    summary = client.get("/api/workflow/odd-tries").json()["summary"]
    assert dict(summary["states"]) == {"launched": len(odd_tries)}
    for task_id in range(len(odd_tries)):
        assert client.get(f"/workflow/odd-tries/task/{task_id}", headers=HTML).status_code == 200
    with sqlite3.connect(db_path) as conn:  # and followed live: the same rows' next states
        conn.executemany(
            "insert into status (run_id, task_id, try_id, task_status_name, timestamp) values (?, ?, ?, ?, ?)",
            [("odd-tries", task_id, try_id, "running", now.isoformat(sep=" "))
             for task_id, try_id in enumerate(odd_tries)],
        )  # fmt: skip
    deadline = time.monotonic() + 15  # a running run's pages show the background reader's last look
    while (states := dict(client.get("/api/workflow/odd-tries").json()["summary"]["states"])) != {
        "running": len(odd_tries)
    }:
        assert time.monotonic() < deadline, states
        time.sleep(0.5)
