"""Every page at Parsl's URL paths, in-process, on a database with known contents."""

from __future__ import annotations

import csv
import datetime
import html
import io
import json
import re
import sqlite3
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine

from parsl_monitor_core.schema import Status, table_of

if TYPE_CHECKING:
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import TestClient

    Client = TestClient[Litestar]

HTML = {"accept": "text/html"}
DONE, LIVE, STALE, EMPTY = "run-done", "run-live", "run-stale", "run-empty"  # conftest.write_example's runs


def charts(html: str) -> dict[str, Any]:
    """The ECharts options embedded in a page, by chart element id."""
    found = re.findall(r'<script type="application/json" data-option-for="([^"]+)">(.*?)</script>', html, re.S)
    return {chart_id: json.loads(option) for chart_id, option in found}


def test_the_workflows_page_lists_every_run_with_its_status(client: Client) -> None:
    page = client.get("/").text
    for run_id in (DONE, LIVE, STALE):
        assert f'href="/workflow/{run_id}"' in page
    rows = {
        run_id: row for row in page.split("<tr>") for run_id in (DONE, LIVE, STALE) if f'/workflow/{run_id}"' in row
    }
    assert "completed" in rows[DONE]
    assert "running" in rows[LIVE]
    assert "incomplete" in rows[STALE]
    assert 'hx-trigger="every 5s"' in page  # a run is running: the list refreshes itself


def test_the_workflows_page_sorts_by_a_column(client: Client) -> None:
    def table(query: str) -> str:  # the runs' rows, after the filter form that names them too
        page = client.get(f"/?{query}").text
        return page[page.index('id="workflows"') :]

    by_name = table("sort=name&desc=false")
    assert by_name.index(f"wf-{DONE}") < by_name.index(f"wf-{LIVE}") < by_name.index(f"wf-{STALE}")
    reverse = table("sort=name&desc=true")
    assert reverse.index(f"wf-{STALE}") < reverse.index(f"wf-{DONE}")


def test_the_summary_page_shows_counts_app_summary_and_charts(client: Client) -> None:
    page = client.get(f"/workflow/{DONE}/").text
    assert "/runs/run-done" in page
    for state, n in (("exec_done", 2), ("failed", 1), ("dep_fail", 1), ("memo_done", 1)):
        assert f'href="/workflow/{DONE}/task?state={state}">{n}</a>' in page
    apps = page[page.index('id="apps"') :]
    assert re.search(
        r'app/simulate">simulate</a></td>\s*<td class="num"><a [^>]*>2</a></td>\s*<td class="num"><a [^>]*>1</a>', apps
    )
    drawn = charts(page)
    gantt = drawn["chart-gantt"]
    assert gantt["yAxis"]["data"][:3] == ["task 0", "task 1", "task 1 try 1"]
    assert drawn["chart-running-apps"]["series"]
    assert "hx-trigger" not in page  # a finished run does not poll


@pytest.mark.parametrize("page_of", ["summary", "task"])
def test_a_live_run_polls_and_gets_204_until_something_changes(client: Client, db_path: Path, page_of: str) -> None:
    path = f"/workflow/{LIVE}/" if page_of == "summary" else f"/workflow/{LIVE}/task/0"
    page = client.get(path).text
    token = re.search(r'hx-vals=\'\{"since": "([^"]+)"\}\'', page)
    assert token is not None and 'hx-trigger="every 3s"' in page
    poll = client.get(path, params={"since": token.group(1)}, headers={"HX-Request": "true"})
    assert poll.status_code == 204 and poll.content == b""
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:  # the hub finishes the task
        conn.execute(
            table_of(Status).insert(),
            [
                {
                    "run_id": LIVE,
                    "task_id": 0,
                    "task_status_name": "exec_done",
                    "timestamp": datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None),
                    "try_id": 0,
                }
            ],
        )
    engine.dispose()
    poll = client.get(path, params={"since": token.group(1)}, headers={"HX-Request": "true"})
    assert poll.status_code == 200
    assert '<div id="live"' in poll.text
    assert "<html" not in poll.text  # only the fragment
    if page_of == "summary":
        assert f'href="/workflow/{LIVE}/task?state=exec_done">1</a>' in poll.text
    else:
        assert "exec_done" in poll.text and "exec_done" not in page


def test_the_task_list_filters_sorts_and_paginates_in_the_database(client: Client) -> None:
    failed = client.get(f"/workflow/{DONE}/task/?state=failed").text
    assert "1 task matches" in failed and f"/workflow/{DONE}/task/2" in failed
    failures = client.get(f"/workflow/{DONE}/task/?state=failures").text
    assert "2 tasks match" in failures
    assert "2 tasks match" in client.get(f"/workflow/{DONE}/task/?host=nodeA").text  # tasks 0 and 1 (its first try)
    on_b = client.get(f"/workflow/{DONE}/task/?host=nodeB").text
    assert "2 tasks match" in on_b
    assert "1 task matches" in client.get(f"/workflow/{DONE}/task/?q=3").text
    assert "0 tasks match" in client.get(f"/workflow/{DONE}/task/?q=abc").text
    longest = client.get(f"/workflow/{DONE}/task/?sort=duration&desc=true").text
    ids = re.findall(r'class="task-link" href="[^"]+">(\d+)</a>', longest)
    assert ids == ["1", "2", "3", "0", "4"]
    by_state = re.findall(
        r'class="task-link" href="[^"]+">(\d+)</a>', client.get(f"/workflow/{DONE}/task/?sort=state").text
    )
    assert by_state == [
        "0",
        "1",
        "4",
        "2",
        "3",
    ]  # in the order of a task's life: exec_done x2, memo_done, failed, dep_fail


def test_the_app_page_shows_the_app_and_only_its_tasks(client: Client) -> None:
    page = client.get(f"/workflow/{DONE}/app/simulate").text
    assert "App simulate" in page and "2 tasks · 1 failed" in page
    assert re.findall(r'class="task-link" href="[^"]+">(\d+)</a>', page) == ["1", "2"]
    run_time = charts(page)["chart-app-run-time"]  # task 2 ran 18 s; task 1 8 s and 18 s in two tries
    assert run_time["series"][0]["data"] == [1, 0, 1]
    assert run_time["xAxis"]["data"][0] == "16 to 19" and run_time["xAxis"]["data"][-1] == "22.6 to 26.9"


def test_the_task_page_shows_states_tries_files_and_resources(client: Client) -> None:
    page = client.get(f"/workflow/{DONE}/task/1").text
    assert "ValueError: flaky" in page and "nodeB" in page and "/runs/1.out" in page
    assert page.count("fail_retryable") >= 1
    assert f'href="/workflow/{DONE}/task/0">0</a>' in page  # depends on
    assert f'href="/workflow/{DONE}/task/3">3</a>' in page  # needed by
    drawn = charts(page)
    memory = drawn["chart-task-memory"]["series"][0]["data"]
    assert [value for _t, value in memory] == [round(300 / 1024, 4)] * 3
    assert [name["name"] for name in drawn["chart-status"]["series"][1:]][:3] == ["pending", "launched", "running"]


def test_the_dag_pages_draw_every_task_with_links(client: Client) -> None:
    by_app = charts(client.get(f"/workflow/{DONE}/dag_group_by_apps").text)["chart-dag"]
    graph = by_app["series"][0]
    assert len(graph["data"]) == 5 and len(graph["links"]) == 4
    assert {c["name"] for c in graph["categories"]} == {"load", "simulate", "reduce"}
    assert graph["data"][3]["url"] == f"/workflow/{DONE}/task/3"
    by_state = charts(client.get(f"/workflow/{DONE}/dag_group_by_states").text)["chart-dag"]
    assert {c["name"] for c in by_state["series"][0]["categories"]} == {"exec_done", "failed", "dep_fail", "memo_done"}


def test_the_resource_page_sums_usage_and_computes_efficiency(client: Client) -> None:
    page = client.get(f"/workflow/{DONE}/resource_usage").text
    drawn = charts(page)
    memory = drawn["chart-memory-total"]["series"][0]["data"]
    width = memory[1][0] - memory[0][0]  # buckets are at least the sampling interval (1 s) wide
    assert 1.0 <= width < 1.1
    # 300 MiB held for one sampling interval (1 s) in a bucket: its mean over the bucket
    assert max(value for _t, value in memory) == pytest.approx(300 / 1024 / width, abs=1e-3)
    cpu = [value for _t, value in drawn["chart-cpu-total"]["series"][0]["data"]]
    assert sum(cpu) * width == pytest.approx(2.0, abs=1e-3)  # 2 tries x 1.0 CPU s
    assert set(drawn["chart-cpu-hosts"]["legend"]) and [s["name"] for s in drawn["chart-cpu-hosts"]["series"]] == [
        "nodeA",
        "nodeB",
    ]
    assert re.search(r"simulate</a></td>\s*<td class=\"num\">50%</td>\s*<td class=\"num\">100%</td>", page)


@pytest.mark.parametrize(
    "path", ["", "dag_group_by_apps", "dag_group_by_states", "resource_usage", "task/", "tasks.csv"]
)
def test_a_run_that_just_started_has_every_page(client: Client, path: str) -> None:
    response = client.get(f"/workflow/{EMPTY}/{path}")
    assert response.status_code == 200
    assert "task" in response.text


def test_node_agent_samples_are_drawn_per_node(client: Client) -> None:
    drawn = charts(client.get(f"/workflow/{DONE}/resource_usage").text)
    cpu = {s["name"]: [v for _t, v in s["data"]] for s in drawn["chart-node-cpu"]["series"]}
    assert cpu == {"nodeA": [50.0, 100.0], "nodeB": [25.0]}
    memory = {s["name"]: [v for _t, v in s["data"]] for s in drawn["chart-node-memory"]["series"]}
    assert memory == {"nodeA": [1.0, 2.0], "nodeB": [4.0]}


def test_a_run_without_resource_data_says_so(client: Client) -> None:
    assert "No resource data for this run" in client.get(f"/workflow/{STALE}/resource_usage").text
    # A running run without samples yet: they are on their way.
    assert "No resource samples yet" in client.get(f"/workflow/{LIVE}/resource_usage").text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/workflow/nope/", "no workflow run 'nope' in this database"),
        (f"/workflow/{DONE}/task/99", f"no task 99 in workflow run '{DONE}'"),
        (f"/workflow/{DONE}/app/nope", f"no app 'nope' in workflow run '{DONE}'"),
        (f"/workflow/{DONE}/task/x", "Not Found"),
        ("/no/such/page", "Not Found"),
    ],
)
def test_unknown_things_get_a_404_page(client: Client, path: str, message: str) -> None:
    response = client.get(path, headers=HTML)
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in response.text and message in html.unescape(response.text)


def test_a_bad_parameter_is_a_400_page(client: Client) -> None:
    response = client.get(f"/workflow/{DONE}/task/?page=x", headers=HTML)
    assert response.status_code == 400 and "Error 400" in response.text


def test_the_api_serves_the_same_data_and_is_documented(client: Client) -> None:
    runs = client.get("/api/workflows").json()
    statuses = {DONE: "completed", LIVE: "running", STALE: "incomplete", EMPTY: "running"}
    assert {r["run_id"]: r["status"] for r in runs} == statuses
    tasks = client.get(f"/api/workflow/{DONE}/tasks", params={"state": "failed"}).json()
    assert tasks["total"] == 1 and tasks["rows"][0]["task_id"] == 2
    task = client.get(f"/api/workflow/{DONE}/task/1").json()
    assert [t["hostname"] for t in task["tries"]] == ["nodeA", "nodeB"] and len(task["samples"]) == 3
    apps = client.get(f"/api/workflow/{DONE}/apps").json()
    assert {a["app"]: a["failed"] for a in apps} == {"load": 0, "reduce": 1, "simulate": 1}
    summary = client.get(f"/api/workflow/{DONE}").json()["summary"]
    assert summary["tasks"] == 5 and summary["tries"] == 4
    assert client.get("/api/workflow/nope").status_code == 404
    assert client.get("/api/workflow/nope").json()["detail"] == "no workflow run 'nope' in this database"
    schema = client.get("/schema/openapi.json").json()
    assert {"/api/workflows", "/api/workflow/{run_id}/tasks", "/api/workflow/{run_id}/task/{task_id}"} <= set(
        schema["paths"]
    )
    assert not any(path.startswith("/workflow") for path in schema["paths"])


def test_csv_export_has_every_task(client: Client) -> None:
    response = client.get(f"/workflow/{DONE}/tasks.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="{DONE}-tasks.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["task_id"], r["state"]) for r in rows] == [
        ("0", "exec_done"),
        ("1", "exec_done"),
        ("2", "failed"),
        ("3", "dep_fail"),
        ("4", "memo_done"),
    ]
    only_failed = list(csv.DictReader(io.StringIO(client.get(f"/workflow/{DONE}/tasks.csv?state=failures").text)))
    assert [r["task_id"] for r in only_failed] == ["2", "3"]


def test_pages_reference_only_local_scripts_and_styles(client: Client) -> None:
    for path in ("/", f"/workflow/{DONE}/", f"/workflow/{DONE}/dag_group_by_apps", f"/workflow/{DONE}/task/1"):
        page = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', page), path
    for asset in ("/static/vendor/echarts.min.js", "/static/vendor/htmx.min.js", "/static/app.js", "/static/app.css"):
        assert client.get(asset).status_code == 200


def _chart_urls(option: object) -> list[str]:
    """The links a chart opens on a click (its data points' ``url``)."""
    if isinstance(option, dict):
        return [u for k, v in option.items() for u in ([v] if k == "url" and isinstance(v, str) else _chart_urls(v))]
    if isinstance(option, list):
        return [u for item in option for u in _chart_urls(item)]
    return []


def test_every_link_and_chart_link_of_a_run_leads_to_a_page(client: Client) -> None:
    # Links are made from the routes (links.py): follow every one a person can click, two pages deep.
    seen: set[str] = set()
    pages = ["/", f"/workflow/{DONE}/"]
    for depth in range(2):
        found: list[str] = []
        for path in pages:
            answer = client.get(path, headers=HTML)
            assert answer.status_code == 200, path
            page = answer.text
            hrefs = [html.unescape(h) for h in re.findall(r'(?:href|src|action)="(/[^"]*)"', page)]
            targets = [url for option in charts(page).values() for url in _chart_urls(option)]
            found += [h for h in (*hrefs, *targets) if h and h not in seen]
        seen.update(pages)
        pages = sorted(set(found) - seen) if depth == 0 else []
        for path in sorted(set(found) - seen):
            assert client.get(path, headers=HTML).status_code == 200, path
        seen.update(found)
    assert len(seen) > 20  # every page of the run and its tasks' pages were reached


def test_a_quiet_run_keeps_polling_so_it_comes_back_when_its_long_tasks_report(client: Client) -> None:
    page = client.get(f"/workflow/{STALE}/").text
    assert '<span class="run-status incomplete">' in page
    assert "hx-trigger=" in page  # an hour without messages may be one long task: keep asking
    assert "hx-trigger=" not in client.get(f"/workflow/{DONE}/").text  # an ended run never changes


def test_a_run_the_hub_ended_and_messages_it_never_received_are_shown(client: Client, db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:  # what the hub writes for a killed program, and a lost connection
        conn.execute("update workflow set time_completed = time_began where run_id = ?", (STALE,))
        conn.execute("insert into parsl_monitor_run_end values (?, 'abandoned', '2026-05-01 12:00:00')", (STALE,))
        conn.executemany(
            "insert into parsl_monitor_sender values (?, ?, ?, ?)",
            [("host:1:a", DONE, 100, 7), ("host:2:b", DONE, 50, 5), ("host:3:c", STALE, 10, 0)],
        )
    statuses = {r["run_id"]: (r["status"], r["lost"]) for r in client.get("/api/workflows").json()}
    assert statuses[STALE] == ("abandoned", 0)
    assert statuses[DONE] == ("completed", 12)
    assert '<span class="run-status abandoned"' in client.get(f"/workflow/{STALE}/").text
    page = client.get(f"/workflow/{DONE}/").text
    assert re.search(r'<dt>Lost messages</dt><dd class="lost"[^>]*>12</dd>', page)
    assert "Lost messages" not in client.get(f"/workflow/{LIVE}/").text


def test_a_node_agent_sample_counts_as_a_sign_of_life(client: Client, db_path: Path) -> None:
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with sqlite3.connect(db_path) as conn:  # tasks sampled by node agents only: no resource rows
        conn.execute(
            "insert into node_sample (run_id, hostname, timestamp) values (?, 'nodeA', ?)",
            (STALE, now.isoformat(sep=" ")),
        )
    statuses = {r["run_id"]: r["status"] for r in client.get("/api/workflows").json()}
    assert statuses[STALE] == "running"
