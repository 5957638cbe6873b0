"""Take the screenshots in docs/images from a running parsl-visualize.

python docs/screenshots.py http://127.0.0.1:8080 RUN_ID [TASK_ID]

Needs playwright (pip) and Debian's chromium (/usr/bin/chromium); downloads nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
IMAGES = Path(__file__).parent / "images"


def main() -> None:
    base, run_id = sys.argv[1], sys.argv[2]
    task_id = sys.argv[3] if len(sys.argv) > 3 else "1"  # noqa: PLR2004 - optional third argument
    shots = {
        "workflows": "/",
        "workflow": f"/workflow/{run_id}/",
        "dag": f"/workflow/{run_id}/dag_group_by_apps",
        "dag-states": f"/workflow/{run_id}/dag_group_by_states",
        "resources": f"/workflow/{run_id}/resource_usage",
        "tasks": f"/workflow/{run_id}/task/",
        "task": f"/workflow/{run_id}/task/{task_id}",
    }
    IMAGES.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        for name, path in shots.items():
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=name != "tasks")
            print(IMAGES / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
