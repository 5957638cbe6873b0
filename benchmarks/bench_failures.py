"""Time the summary's failure work on a big run, in-process: the roots of tasks failed by others, and the report.

The live summary redoes both after every change of a running run.

python -m benchmarks.synthetic_db /tmp/big.db --tasks 100000
python -m benchmarks.bench_failures /tmp/big.db [--repeat 15]

To compare two commits, run it under each one's ``packages/parsl-visualize/src`` on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from parsl_visualize.db import open_database
from parsl_visualize.live import failures
from parsl_visualize.live.model import RunModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="a database from benchmarks.synthetic_db")
    parser.add_argument("--run-id", default="synthetic-run")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    db = open_database(f"sqlite:///{args.path}")
    model = RunModel(args.run_id)
    with db.engine.connect() as conn:
        model.refresh(conn)
    tasks = model.tasks
    # Before 2026-12-07 the roots were dependency_roots (dep_fail tasks only).
    find_roots = getattr(failures, "propagated_roots", None) or failures.dependency_roots  # type: ignore[attr-defined]
    root_times, report_times = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        roots = find_roots(tasks)
        found = time.perf_counter()
        report = failures.failure_report(tasks, roots, 50)
        root_times.append(found - start)
        report_times.append(time.perf_counter() - found)
    print(
        f"{len(tasks):,} tasks, {report.failed_tries:,} failed tries, {len(roots):,} tasks failed by others: "
        f"roots {statistics.median(root_times) * 1000:.1f} ms, report {statistics.median(report_times) * 1000:.1f} ms "
        f"(medians of {args.repeat})"
    )
    db.engine.dispose()


if __name__ == "__main__":
    main()
