"""parsl-visualize in a real browser, on databases written by real Parsl workflows (ours and Parsl's own)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from playwright.sync_api import Browser, Page

    from conftest import ViewerProcess

    MixedRuns = dict[str, tuple[Path, dict[str, Any]]]
    StartViewer = Callable[..., ViewerProcess]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"  # Debian's package, installed by .ci/run; Playwright downloads nothing
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


class Watched:
    """A browser page that records console errors and every request to a host other than the viewer."""

    def __init__(self, chromium: Browser, base: str) -> None:
        self.base = base
        self.page: Page = chromium.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        host = urlparse(base).netloc
        self.page.on("request", lambda r: None if urlparse(r.url).netloc == host else self.foreign.append(r.url))

    def open(self, path: str) -> Page:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, path
        self.page.wait_for_load_state("networkidle")
        return self.page

    def charts(self) -> dict[str, dict[str, int]]:
        """For each chart on the page: canvases drawn, series count, and data points of the fullest series."""
        # Content swapped in by a live update is drawn once htmx has settled it.
        self.page.wait_for_function("() => document.querySelectorAll('[data-chart]:not([data-drawn])').length === 0")
        drawn: dict[str, dict[str, int]] = self.page.evaluate(
            """() => Object.fromEntries(Array.from(document.querySelectorAll('[data-chart]')).map(el => {
                const chart = echarts.getInstanceByDom(el);
                const series = chart ? chart.getOption().series : [];
                const points = Math.max(0, ...series.map(s => (s.data || []).length));
                return [el.id, {canvas: el.querySelectorAll('canvas').length, series: series.length, points}];
            }))"""
        )
        return drawn


def pages_of(run_id: str) -> dict[str, list[str]]:
    """Every page of a run and the charts it must draw."""
    w = f"/workflow/{run_id}"
    return {
        "/": [],
        f"{w}/": ["chart-gantt", "chart-running-apps"],
        f"{w}/dag_group_by_apps": ["chart-dag"],
        f"{w}/dag_group_by_states": ["chart-dag"],
        f"{w}/nodes": [],
        "/history/mixed.py": ["chart-history"],
        f"/compare?a={run_id}&b={run_id}": [],
        f"{w}/resource_usage": [
            "chart-cpu-total",
            "chart-memory-total",
            "chart-utilisation",
            "chart-cpu-hosts",
            "chart-memory-hosts",
            "chart-memory-apps",
            "chart-cpu-apps",
        ],
        f"{w}/task/": [],
        f"{w}/task/?state=failures": [],
        f"{w}/app/inc": ["chart-app-run-time", "chart-app-memory", "chart-app-cpu"],
        f"{w}/task/1": ["chart-status", "chart-task-memory", "chart-task-cpu"],
    }


@pytest.mark.parametrize("writer", ["ours", "parsl"])
def test_every_page_draws_its_charts_offline_without_errors(
    chromium: Browser, mixed_runs: MixedRuns, start_viewer: StartViewer, writer: str
) -> None:
    run_dir, summary = mixed_runs[writer]
    viewer = start_viewer(str(run_dir / "monitoring.db"))
    watched = Watched(chromium, viewer.url)
    for path, expected in pages_of(summary["run_id"]).items():
        page = watched.open(path)
        drawn = watched.charts()
        assert sorted(drawn) == sorted(expected), path
        for chart_id, facts in drawn.items():
            assert facts["canvas"] >= 1 and facts["series"] >= 1 and facts["points"] >= 1, (path, chart_id, facts)
        assert page.locator("h1").count() == 1
    assert watched.errors == []
    assert watched.foreign == []


def test_clicking_a_dag_node_an_app_and_a_task_id_navigates(
    chromium: Browser, mixed_runs: MixedRuns, start_viewer: StartViewer
) -> None:
    run_dir, summary = mixed_runs["ours"]
    run_id = summary["run_id"]
    viewer = start_viewer(str(run_dir / "monitoring.db"))
    watched = Watched(chromium, viewer.url)

    page = watched.open(f"/workflow/{run_id}/dag_group_by_apps")
    node = page.evaluate(
        """() => {
            const el = document.getElementById('chart-dag');
            const chart = echarts.getInstanceByDom(el);
            const data = chart.getOption().series[0].data;
            const i = data.findIndex(d => d.name.startsWith('add '));
            const [x, y] = chart.convertToPixel({seriesIndex: 0}, [data[i].x, data[i].y]);
            const box = el.getBoundingClientRect();
            return {x: box.left + x, y: box.top + y, url: data[i].url};
        }"""
    )
    page.mouse.move(node["x"], node["y"])
    page.wait_for_selector("text=/add \\(task \\d+/")  # the tooltip names app and task id
    page.mouse.click(node["x"], node["y"])
    page.wait_for_url(viewer.url + node["url"])
    assert page.locator("h1").inner_text().startswith("Task ")

    page = watched.open(f"/workflow/{run_id}/")
    page.locator("#apps a", has_text="inc").first.click()
    page.wait_for_url(re.compile(r".*/app/inc$"))
    assert "App inc" in page.locator("h1").inner_text()

    page = watched.open("/")
    page.select_option("select[name=status]", "completed")
    page.select_option("select[name=name]", "mixed.py")
    page.locator("form.filters button").click()
    page.wait_for_url(re.compile(r".*status=completed.*"))
    assert page.locator("#workflows tbody tr").count() == 1
    page.locator("a", has_text="History of mixed.py").click()
    page.wait_for_url(re.compile(r".*/history/mixed\.py$"))
    assert watched.charts()["chart-history"]["points"] == 1

    page = watched.open(f"/workflow/{run_id}/app/inc")
    first_task = page.locator("a.task-link").first
    task_id = first_task.inner_text()
    first_task.click()
    page.wait_for_url(re.compile(rf".*/task/{task_id}$"))
    assert page.locator("h1").inner_text().startswith(f"Task {task_id}:")
    assert watched.errors == [] and watched.foreign == []


def _failing_run(
    chromium: Browser, failing_runs: MixedRuns, start_viewer: StartViewer
) -> tuple[Path, dict[str, Any], dict[int, list[Any]], Watched]:
    """workflows/failing.py's run under our hub, served: its run dir, truth, outcomes by task, and a browser."""
    run_dir, truth = failing_runs["ours"]
    viewer = start_viewer(str(run_dir / "monitoring.db"))
    outcomes = {int(task_id): outcome for task_id, outcome in truth["tasks"].items()}
    return run_dir, truth, outcomes, Watched(chromium, viewer.url)


def test_a_user_finds_why_tasks_failed_from_the_summary_without_opening_tasks_one_by_one(
    chromium: Browser, failing_runs: MixedRuns, start_viewer: StartViewer
) -> None:
    run_dir, truth, outcomes, watched = _failing_run(chromium, failing_runs, start_viewer)
    run_id = truth["run_id"]

    page = watched.open(f"/workflow/{run_id}/")
    propagated = {"DependencyError", "JoinError"}  # failures Parsl records because another task failed
    kinds = {o[1] for o in outcomes.values() if o[0] == "failed" and o[1] not in propagated}
    assert page.locator("#failures tbody tr").count() == len(kinds)
    page.locator("#failures a", has_text="KeyError").click()
    page.wait_for_url(re.compile(r".*/task\?error=\w+$"))
    assert "KeyError: 'sample_" in page.locator(".filter-note").inner_text()
    errors = page.locator("#tasks td.error-cell").all_inner_texts()
    key_errors = [t for t, o in outcomes.items() if o[1] == "KeyError"]
    roots = {t: int(re.findall(r"task (\d+)", o[2])[-1]) for t, o in outcomes.items() if o[1] in propagated}
    dependents = [t for t, root in roots.items() if root in key_errors]
    assert len(errors) == len(key_errors) + len(dependents)
    assert all("KeyError: 'sample_" in text for text in errors)

    last = max(dependents)  # two tasks away from the failure at its root
    page = watched.open(f"/workflow/{run_id}/task/{last}")
    why = page.locator("section.why")
    root = max(key_errors)  # lookup(31), the chain's first task
    assert f"Task {root} (lookup)" in why.inner_text() and "through others" in why.inner_text()
    assert outcomes[root][2] in why.locator(".failure").inner_text()
    why.locator("a", has_text=str(root)).click()
    page.wait_for_url(re.compile(rf".*/task/{root}$"))
    assert page.locator("h1").inner_text().startswith(f"Task {root}: lookup")

    (shout_id,) = [t for t, o in outcomes.items() if o[1] == "BashExitFailure"]
    page = watched.open(f"/workflow/{run_id}/task/{shout_id}")
    assert "--allow-files" in page.locator("#output-stderr").inner_text()  # off unless the user allows it
    with_files = (sys.executable, "-m", "parsl_visualize", "--allow-files", str(run_dir))
    allowed = start_viewer(str(run_dir / "monitoring.db"), with_files)
    shown = Watched(chromium, allowed.url).open(f"/workflow/{run_id}/task/{shout_id}")
    assert shown.locator("#output-stdout pre").inner_text().strip() == "to stdout"
    assert "to stderr: something broke" in shown.locator("#output-stderr pre").inner_text()
    with shown.expect_download() as download:
        shown.locator("#output-stderr a", has_text="download").click()
    assert "to stderr: something broke" in Path(download.value.path()).read_text()

    (parse_id,) = [t for t, o in outcomes.items() if o[1] == "ValueError"]
    page = watched.open(f"/workflow/{run_id}/task/{parse_id}")
    failure = page.locator(".failure").first
    assert failure.locator("pre").first.inner_text().splitlines() == outcomes[parse_id][2].splitlines()
    assert failure.locator("pre strong").inner_text() == outcomes[parse_id][2].splitlines()[-1]
    assert watched.errors == [] and watched.foreign == []


def test_a_failure_retried_away_and_a_failed_join_app_read_as_what_they_are(
    chromium: Browser, failing_runs: MixedRuns, start_viewer: StartViewer
) -> None:
    _run_dir, truth, outcomes, watched = _failing_run(chromium, failing_runs, start_viewer)
    run_id = truth["run_id"]

    page = watched.open(f"/workflow/{run_id}/")
    retried = page.locator("#failures tbody tr", has_text="TimeoutError")
    recovered = [t for t, o in outcomes.items() if o[0] == "done" and truth["failed_tries"][str(t)]]
    assert len(recovered) == 1  # failing.py's fetch: one of its two tasks succeeded on its retry
    assert "(1 recovered)" in retried.inner_text()

    # A join app of a join app: it failed because the task its joined join app joined failed.
    # Parsl's message names the chain: "Join failure for task W. ... via task A <- task X".
    chains = {t: re.findall(r"task (\d+)", o[2]) for t, o in outcomes.items() if o[1] == "JoinError"}
    (outer,) = [t for t, chain in chains.items() if len(chain) == 3]  # itself, and two tasks up
    root = int(chains[outer][-1])
    page = watched.open(f"/workflow/{run_id}/task/{outer}")
    why = page.locator("section.why")
    assert why.locator("h2").inner_text() == "Why it failed"
    assert f"Task {root} (convert), which this task joined through others" in why.inner_text()
    assert outcomes[root][2] in why.locator(".failure").inner_text()
    assert watched.errors == [] and watched.foreign == []


def test_a_run_whose_workers_never_started_says_why_on_its_summary_and_nodes_page(
    chromium: Browser, failing_runs: MixedRuns, start_viewer: StartViewer
) -> None:
    run_dir, truth = failing_runs["broken"]
    run_id = truth["run_id"]
    viewer = start_viewer(str(run_dir / "monitoring.db"))
    watched = Watched(chromium, viewer.url)
    page = watched.open(f"/workflow/{run_id}/")
    assert "command not found" in page.locator("#failures tbody tr").first.inner_text()
    page.locator("header a", has_text="Nodes").click()
    page.wait_for_url(re.compile(r".*/nodes$"))
    assert "command not found" in page.locator(".failure").first.inner_text()
    assert page.locator("#blocks .block-state").inner_text() in {"MISSING", "FAILED"}
    assert page.locator("#nodes").count() == 0  # no worker pool ever registered
    assert watched.errors == [] and watched.foreign == []


def _wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _runs(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/workflows", timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_an_open_page_follows_a_running_workflow_without_reloading(
    tmp_path: Path, chromium: Browser, parsl_environment: dict[str, str], start_viewer: StartViewer
) -> None:
    run_dir = tmp_path / "runinfo"
    workflow = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "workflows" / "slow.py"),
            "--run-dir",
            str(run_dir),
            "--tasks",
            "40",
            "--seconds",
            "0.5",
        ],
        env=parsl_environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        db = run_dir / "monitoring.db"
        _wait_for(db.exists, 120, "the hub to create the database")
        viewer = start_viewer(str(db))
        run = _wait_for(lambda: _runs(viewer.url), 120, "the workflow to appear")[0]
        assert run["status"] == "running"
        watched = Watched(chromium, viewer.url)
        page = watched.open(f"/workflow/{run['run_id']}/")
        page.evaluate("window.__notReloaded = true")
        first = page.locator("#live").inner_text()
        page.wait_for_function(
            "() => document.querySelector('.run-status').textContent.trim() === 'completed'", timeout=180_000
        )
        assert page.evaluate("window.__notReloaded") is True
        last = page.locator("#live").inner_text()
        assert first != last and "exec_done" in last
        assert page.locator('a[href$="/task?state=exec_done"]').inner_text() == "40"
        assert watched.charts()["chart-gantt"]["points"] == 40
        assert watched.errors == [] and watched.foreign == []
    finally:
        out, err = workflow.communicate(timeout=300)
    assert workflow.returncode == 0, err[-3000:]
    spans = json.loads(out)["spans"]
    assert len(spans) == 40
    # Where the time went, against what each task measured of itself on its worker: it ran for
    # its whole sleep (running starts before the app's code and ends after), and the phases add up.
    with urllib.request.urlopen(f"{viewer.url}/api/workflow/{run['run_id']}/tasks?per_page=100", timeout=30) as answer:  # noqa: S310
        rows = {row["task_id"]: row for row in json.loads(answer.read())["rows"]}
    for task_id, (start, end) in enumerate(spans):
        row = rows[task_id]
        assert end - start - 0.005 <= row["running"] <= end - start + 2.0, (row, end - start)
        total = row["waiting"] + row["queued"] + row["running"] + row["result"]
        assert total == pytest.approx(row["duration"], abs=0.002), row


def test_live_pages_keep_their_charts_and_show_progress_while_a_run_is_held(
    tmp_path: Path, chromium: Browser, start_viewer: StartViewer, mid_run: Callable[..., Any]
) -> None:
    from sqlalchemy import create_engine

    from parsl_monitor_core.schema import create_or_upgrade

    db = tmp_path / "runinfo" / "monitoring.db"
    db.parent.mkdir()
    engine = create_engine(f"sqlite:///{db}")
    create_or_upgrade(engine)  # an empty database the workflow's hub will write into
    engine.dispose()
    viewer = start_viewer(str(db))
    watched = Watched(chromium, viewer.url)
    listing = watched.open("/")
    assert listing.evaluate("typeof echarts") == "undefined"  # no chart here: ECharts is not loaded
    run = mid_run(tmp_path)
    try:
        run.wait_for(lambda counts: counts["running"] + counts["launched"] == 4 and counts["pending"] >= 3)
        # The list polls although nothing was running when it was opened: the new run appears.
        listing.wait_for_selector(f'a[href="/workflow/{run.run_id}"]', timeout=30_000)
        assert listing.locator("#workflows .progress").count() == 1

        page = watched.open(f"/workflow/{run.run_id}/")
        elapsed = page.locator("[data-since-epoch]").first
        before = elapsed.inner_text()
        page.wait_for_function(
            "t => document.querySelector('[data-since-epoch]').textContent !== t", arg=before, timeout=5_000
        )  # the elapsed time counts by itself between updates
        assert "ago" in page.locator("#live").inner_text()
        assert page.locator(".card .progress span.done").count() == 1
        watched.charts()
        page.evaluate(
            """() => {
                const el = document.getElementById('chart-gantt');
                el.__kept = true;  // the same element (and canvas) must still be there after updates
                const chart = echarts.getInstanceByDom(el);
                chart.dispatchAction({type: 'legendUnSelect', name: 'pending'});
                chart.dispatchAction({type: 'dataZoom', dataZoomIndex: 0, start: 0, end: 50});
            }"""
        )
        token = page.locator("#live").get_attribute("hx-vals")
        run.release()
        page.wait_for_function(
            "() => document.querySelector('.run-status').textContent.trim() === 'completed'", timeout=120_000
        )
        assert page.locator("#live").get_attribute("hx-vals") != token  # updates came in
        kept = page.evaluate(
            """() => {
                const el = document.getElementById('chart-gantt');
                const option = echarts.getInstanceByDom(el).getOption();
                return {same: el.__kept === true, pending: option.legend[0].selected.pending,
                        zoom: [option.dataZoom[0].start, option.dataZoom[0].end]};
            }"""
        )
        assert kept == {"same": True, "pending": False, "zoom": [0, 50]}
        assert watched.errors == [] and watched.foreign == []
    finally:
        if run.process.poll() is None:
            run.release()


def test_a_task_not_submitted_yet_is_retried_and_a_run_without_samples_says_they_are_coming(
    tmp_path: Path, chromium: Browser, start_viewer: StartViewer, mid_run: Callable[..., Any]
) -> None:
    run = mid_run(tmp_path)
    try:
        run.wait_for(lambda counts: counts["pending"] >= 3)
        viewer = start_viewer(str(run.db))
        page = chromium.new_page()
        response = page.goto(f"{viewer.url}/workflow/{run.run_id}/task/1000")
        assert response is not None and response.status == 404
        assert page.locator('meta[http-equiv="refresh"]').count() == 1  # it reloads until the task exists
        assert "reloads every few seconds" in page.locator("main").inner_text()
    finally:
        run.release()
    done = chromium.new_page()
    viewer = start_viewer(str(run.db))
    response = done.goto(f"{viewer.url}/workflow/{run.run_id}/task/1000")
    assert response is not None and response.status == 404
    assert done.locator('meta[http-equiv="refresh"]').count() == 0  # the run ended: no task 1000 will come
