"""The workflows list, a workflow's history and a comparison, on one database holding many runs.

python -m benchmarks.bench_many_runs [--runs 1000] [--tasks 200] [--workdir DIR]

Writes ``runs`` synthetic runs (``tasks`` tasks each, three workflow names, one run every
7 hours) into one SQLite file, then fetches each page twice (cold, then warm) from our
viewer and, where Parsl's own viewer has the page (the workflows list), from Parsl's.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import bench_viewer, synthetic_db

NAMES = ("align.py", "train.py", "plot.py")


def write(path: Path, runs: int, tasks: int) -> None:
    """``runs`` runs of ``tasks`` tasks in one file, with names, owners and start times spread out."""
    path.unlink(missing_ok=True)
    for i in range(runs):
        synthetic_db.write(path, tasks, run_id=f"run-{i:05d}", seed=i)
    with sqlite3.connect(path) as conn:
        for i in range(runs):
            conn.execute(
                "UPDATE workflow SET workflow_name = ?, user = ?, "
                "time_began = datetime(time_began, ?), time_completed = datetime(time_completed, ?) WHERE run_id = ?",
                (NAMES[i % 3], "bob" if i % 5 == 0 else "alice", f"+{7 * i} hours", f"+{7 * i} hours", f"run-{i:05d}"),
            )
    conn.close()


def pages(runs: int) -> dict[str, str]:
    """Our pages across runs, by name."""
    return {
        "workflows list": "/",
        "filtered by name": "/?name=train.py",
        "search, page 3": "/?q=run-00&page=3",
        "history of a name": "/history/train.py",
        "two runs compared": f"/compare?a=run-{0:05d}&b=run-{runs - 1:05d}",
        "API: every run": "/api/workflows",
    }


def run(workdir: Path, runs: int, tasks: int, deadline: float = 120) -> dict[str, Any]:
    """Seconds per page, cold and warm, for ours; the workflows list for Parsl's too."""
    db = workdir / "many-runs.db"
    started = time.perf_counter()
    write(db, runs, tasks)
    out: dict[str, Any] = {"write_s": time.perf_counter() - started, "ours": {}, "parsl": {}}
    for system, wanted in (("ours", pages(runs)), ("parsl", {"workflows list": "/"})):
        try:
            port = bench_viewer._free_port()
            proc = bench_viewer._start(system, db, port)
        except RuntimeError:
            continue  # Parsl's viewer is not installed here
        try:
            for name, path in wanted.items():
                cold = bench_viewer._fetch(f"http://127.0.0.1:{port}{path}", deadline)
                warm = bench_viewer._fetch(f"http://127.0.0.1:{port}{path}", deadline)
                out[system][name] = {"cold": cold[0], "warm": warm[0], "status": cold[1], "bytes": cold[2]}
        finally:
            bench_viewer._stop(proc)
    return out


def _seconds(value: float | None) -> str:
    return "timeout" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        result = run(args.workdir or Path(scratch), args.runs, args.tasks)
    print(f"{args.runs} runs of {args.tasks} tasks written in {result['write_s']:.0f} s")
    print("| viewer | page | status | cold s | warm s | bytes |")
    print("|---|---|---|---|---|---|")
    for system in ("ours", "parsl"):
        for name, page in result[system].items():
            print(
                f"| {system} | {name} | {page['status']} | {_seconds(page['cold'])} | {_seconds(page['warm'])} "
                f"| {page['bytes']:,} |"
            )


if __name__ == "__main__":
    main()
