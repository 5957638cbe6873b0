"""Memory and time of a run's model, then of its resource samples, built in process from a database.

    python -m benchmarks.model_memory DB [--run RUN_ID]

Prints the process's resident memory before, after the model's build (what every page of
a run needs) and after its resource samples are read (the resource and app pages), with
the seconds each took. Make a database with ``python -m benchmarks.synthetic_db``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from parsl_visualize.db import open_database
from parsl_visualize.live.model import RunModel


def rss_mb() -> int:
    """This process's resident memory (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--run", default="synthetic-run")
    args = parser.parse_args()
    print(f"start: {rss_mb()} MB", flush=True)
    db = open_database(f"sqlite:///{args.db}")
    model = RunModel(args.run)
    with db.engine.connect() as conn:
        started = time.perf_counter()
        model.refresh(conn)
        print(f"model of {len(model.tasks):,} tasks: {time.perf_counter() - started:.1f} s, {rss_mb()} MB", flush=True)
        started = time.perf_counter()
        usage = model.resources(conn)
        print(f"{usage.samples:,} resource samples: {time.perf_counter() - started:.1f} s, {rss_mb()} MB", flush=True)
    db.engine.dispose()


if __name__ == "__main__":
    main()
