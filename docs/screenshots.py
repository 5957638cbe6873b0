"""Take the screenshots in docs/images from a running parsl-visualize.

python docs/screenshots.py http://127.0.0.1:8080 RUN_ID [--task TASK_ID] [--failed-task TASK_ID] [--only NAME ...]

The failure shots (``failures``, ``failed-tasks``, ``task-failure``, ``task-output``) and ``nodes``
were taken from runs of integration-tests/workflows/failing.py (``nodes``: ``--broken-workers``;
``task-output``: the ``shout`` task, served with ``--allow-files``),
``resources-many-nodes`` from ``python -m benchmarks.synthetic_db`` (16 nodes), ``history``
and ``compare`` from ``python -m benchmarks.bench_many_runs --workdir DIR``'s database; the
others from the demo. Needs playwright (pip)
and Debian's chromium (/usr/bin/chromium); downloads nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
IMAGES = Path(__file__).parent / "images"
CLIPPED = {"tasks": None, "failures": "#failures"}
"""Shots of the visible part only, or of one element, instead of the whole page."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("run_id")
    parser.add_argument("--task", default="1")
    parser.add_argument("--failed-task", default="1")
    parser.add_argument("--name", default="", help="a workflow name, for the history shot")
    parser.add_argument("--compare", default="", help="a run to compare RUN_ID with")
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    run = f"/workflow/{args.run_id}"
    shots = {
        "workflows": "/",
        "workflow": f"{run}/",
        "dag": f"{run}/dag_group_by_apps",
        "dag-states": f"{run}/dag_group_by_states",
        "resources": f"{run}/resource_usage",
        "tasks": f"{run}/task/",
        "task": f"{run}/task/{args.task}",
        "failures": f"{run}/",
        "failed-tasks": f"{run}/task/?state=failures",
        "task-failure": f"{run}/task/{args.failed_task}",
        "nodes": f"{run}/nodes",
        "task-output": f"{run}/task/{args.task}",
        "resources-many-nodes": f"{run}/resource_usage",
        "history": f"/history/{args.name}",
        "compare": f"/compare?a={args.compare}&b={args.run_id}",
    }
    IMAGES.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        for name, path in shots.items():
            if args.only and name not in args.only:
                continue
            page.goto(args.base + path)
            page.wait_for_load_state("networkidle")
            target = IMAGES / f"{name}.png"
            if CLIPPED.get(name):
                page.locator(CLIPPED[name]).screenshot(path=str(target))  # type: ignore[arg-type]
            else:
                page.screenshot(path=str(target), full_page=name not in CLIPPED)
            print(target)
        browser.close()


if __name__ == "__main__":
    main()
