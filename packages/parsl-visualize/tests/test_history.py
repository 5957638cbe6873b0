"""Across runs: the workflows list filtered and paginated on the server, a workflow's history, two runs compared."""

from __future__ import annotations

import datetime
import html
import json
import random
import re
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import create_engine

from parsl_monitor_core.schema import Status, Task, Try, Workflow, create_or_upgrade, table_of
from parsl_visualize.app import create_app
from parsl_visualize.db import open_database

if TYPE_CHECKING:
    from collections.abc import Iterator

    from litestar import Litestar

RUNS = 240
START = datetime.datetime(2026, 6, 1, 8, 0, 0)  # noqa: DTZ001 - stored naive, as the hub does
NAMES = ("align.py", "train.py", "plot.py")
USERS = ("alice", "bob")


def _runs() -> list[dict[str, Any]]:
    rng = random.Random(7)  # noqa: S311 - test data
    rows = []
    for i in range(RUNS):
        began = START + datetime.timedelta(hours=7 * i, minutes=rng.randrange(60))
        rows.append(
            {
                "run_id": f"run-{i:04d}",
                "workflow_name": NAMES[i % 3],
                "workflow_version": "1",
                "time_began": began,
                "time_completed": began + datetime.timedelta(seconds=rng.randrange(10, 5000)),
                "host": f"login{i % 4}",
                "user": USERS[i % 5 == 0],
                "rundir": f"/home/{USERS[i % 5 == 0]}/runinfo/{i:03d}",
                "tasks_completed_count": rng.randrange(100),
                "tasks_failed_count": rng.randrange(5),
            }
        )
    return rows


def _tasks(run_id: str, seconds: float, failing: int) -> dict[str, list[dict[str, Any]]]:
    """Ten 'fit' tasks of one run, each running ``seconds``; the first ``failing`` fail."""
    at = START + datetime.timedelta(days=400)
    tasks, tries, statuses = [], [], []
    for t in range(10):
        end = at + datetime.timedelta(seconds=1 + seconds)
        state = "failed" if t < failing else "exec_done"
        tasks.append(
            {
                "run_id": run_id,
                "task_id": t,
                "task_func_name": "fit",
                "task_memoize": "False",
                "task_fail_count": 0,
                "task_fail_cost": 0.0,
                "task_time_invoked": at,
                "task_time_returned": end,
            }
        )
        tries.append(
            {
                "run_id": run_id,
                "task_id": t,
                "try_id": 0,
                "hostname": "n1",
                "task_executor": "htex",
                "task_try_time_launched": at,
                "task_try_time_running": at + datetime.timedelta(seconds=1),
                "task_try_time_returned": end,
            }
        )
        statuses.append({"run_id": run_id, "task_id": t, "task_status_name": state, "timestamp": end, "try_id": 0})
    return {"task": tasks, "try": tries, "status": statuses}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Litestar]]:
    path = tmp_path_factory.mktemp("history") / "monitoring.db"
    engine = create_engine(f"sqlite:///{path}")
    create_or_upgrade(engine)
    with engine.begin() as conn:
        conn.execute(table_of(Workflow).insert(), _runs())
        for run_id, seconds, failing in (("run-0000", 2.0, 0), ("run-0003", 5.0, 2)):  # both align.py
            rows = _tasks(run_id, seconds, failing)
            conn.execute(table_of(Task).insert(), rows["task"])
            conn.execute(table_of(Try).insert(), rows["try"])
            conn.execute(table_of(Status).insert(), rows["status"])
    engine.dispose()
    db = open_database(str(path))
    app: Litestar = create_app(db)
    with TestClient(app=app, base_url="http://127.0.0.1") as test_client:
        yield test_client
    db.engine.dispose()


def _listed(client: TestClient[Litestar], query: str) -> tuple[list[str], int]:
    page = client.get(f"/?{query}", headers={"accept": "text/html"}).text
    ids = re.findall(r'<a class="mono" href="/workflow/(run-\d+)">', page)
    total = re.search(r"(\d+) runs? match", page)
    return ids, int(total.group(1)) if total else -1


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("name=train.py", lambda r: r["workflow_name"] == "train.py"),
        ("user=bob&status=completed", lambda r: r["user"] == "bob"),
        (
            "since=2026-07-01&until=2026-07-10",
            lambda r: datetime.date(2026, 7, 1) <= r["time_began"].date() <= datetime.date(2026, 7, 10),
        ),
        ("q=LOGIN3", lambda r: r["host"] == "login3"),
        ("q=runinfo/01", lambda r: "/runinfo/01" in r["rundir"]),
        ("status=running", lambda _r: False),
    ],
)
def test_the_list_shows_exactly_the_runs_the_filters_select(
    client: TestClient[Litestar], query: str, wanted: Any
) -> None:
    truth = sorted((r for r in _runs() if wanted(r)), key=lambda r: r["time_began"], reverse=True)
    ids, total = _listed(client, f"{query}&per_page=1000")
    assert ids == [r["run_id"] for r in truth]
    assert total == len(truth)


def test_pages_are_cut_on_the_server_and_keep_the_filters(client: TestClient[Litestar]) -> None:
    truth = [r["run_id"] for r in sorted(_runs(), key=lambda r: r["time_began"], reverse=True) if r["user"] == "alice"]
    first, total = _listed(client, "user=alice")
    second, _ = _listed(client, "user=alice&page=2")
    assert (first, second, total) == (truth[:50], truth[50:100], len(truth))
    page = html.unescape(client.get("/?user=alice&page=2", headers={"accept": "text/html"}).text)
    assert re.search(r'rel="next" href="/\?user=alice&page=3"', page)
    assert 'hx-get="/?user=alice&amp;page=2"' in client.get("/?user=alice&page=2").text  # the poll keeps them too


def test_a_bad_date_is_a_400_naming_it(client: TestClient[Litestar]) -> None:
    response = client.get("/?since=yesterday", headers={"accept": "text/html"})
    assert response.status_code == 400 and "since" in response.text


def test_a_workflow_s_history_has_each_of_its_runs_in_time_order(client: TestClient[Litestar]) -> None:
    truth = sorted((r for r in _runs() if r["workflow_name"] == "plot.py"), key=lambda r: r["time_began"])
    page = client.get("/history/plot.py", headers={"accept": "text/html"}).text
    option = json.loads(re.search(r'data-option-for="chart-history">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    series = {s["name"]: s["data"] for s in option["series"]}
    assert series["duration"] == [(r["time_completed"] - r["time_began"]).total_seconds() for r in truth]
    assert series["failed"] == [r["tasks_failed_count"] for r in truth]
    assert page.count("compare with the run before") == len(truth) - 1
    assert client.get("/history/nothing.py", headers={"accept": "text/html"}).status_code == 404


def test_two_runs_compared_mark_what_got_slower_and_what_failed_more(client: TestClient[Litestar]) -> None:
    page = client.get("/compare?a=run-0000&b=run-0003", headers={"accept": "text/html"}).text
    row = re.search(r"<tr><td>fit</td>(.*?)</tr>", page, re.S).group(1)  # type: ignore[union-attr]
    cells = [(kind, text.strip()) for kind, text in re.findall(r'<td class="num ?([a-z]*)">([^<]*)', row)]
    assert cells[2:4] == [("", "0"), ("worse", "2")]  # failures: 0 then 2
    assert cells[4:6] == [("", "2.0 s"), ("worse", "5.0 s")]  # mean run time: 2 s then 5 s (+150 %)
    assert "(+150%)" in row
    assert client.get("/compare?a=run-0000&b=nope", headers={"accept": "text/html"}).status_code == 404
    assert client.get("/compare?a=run-0000", headers={"accept": "text/html"}).status_code == 400
