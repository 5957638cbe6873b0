"""Write a large, realistic monitoring database quickly, for viewer benchmarks.

The shape follows what Parsl writes for a layered workflow: five apps, each task
depending on one or two tasks of the layer before, five status rows per task
(pending, launched, running, running_ended, exec_done), 2% of tasks failing once and
retried, 1% of the last five layers failing for good (their dependents get dep_fail), and resource samples
for every try.

python -m benchmarks.synthetic_db /tmp/big.db --tasks 100000
"""

from __future__ import annotations

import argparse
import datetime
import random
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine

from parsl_monitor_core.schema import create_or_upgrade

APPS = ("load", "simulate", "analyse", "plot", "reduce")
LAYER = 1000
SAMPLES_PER_TRY = 3


def _time(start: datetime.datetime, seconds: float) -> str:
    # As SQLAlchemy stores times in SQLite (ours and Parsl's): always with microseconds.
    return (start + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S.%f")


def write(path: Path, tasks: int, run_id: str = "synthetic-run", seed: int = 1) -> None:
    """Create ``path`` holding one completed workflow of ``tasks`` tasks."""
    engine = create_engine(f"sqlite:///{path}")
    create_or_upgrade(engine)
    engine.dispose()
    rng = random.Random(seed)
    start = datetime.datetime(2026, 11, 1, 12, 0, 0)  # noqa: DTZ001 - stored naive, as UTC
    task_rows, try_rows, status_rows, resource_rows = [], [], [], []
    failed: set[int] = set()
    clock = 0.0
    for task_id in range(tasks):
        layer = task_id // LAYER
        app = APPS[layer % len(APPS)]
        deps = (
            sorted({rng.randrange((layer - 1) * LAYER, layer * LAYER) for _ in range(rng.choice((1, 2)))})
            if layer
            else []
        )
        clock += 0.002
        invoked = clock
        tries = 2 if rng.random() < 0.02 else 1
        dep_failed = any(d in failed for d in deps)
        final_fail = not dep_failed and layer >= tasks // LAYER - 5 and rng.random() < 0.01
        states = [("pending", invoked, 0)]
        t = invoked + rng.uniform(0.01, 0.5)
        if dep_failed:
            states.append(("dep_fail", t, 0))
            failed.add(task_id)
        else:
            for try_id in range(tries):
                launched, running = t, t + rng.uniform(0.01, 0.2)
                ended = running + rng.uniform(0.5, 30)
                ok = try_id == tries - 1 and not final_fail
                host = f"node{rng.randrange(16):02d}"
                states += [
                    ("launched", launched, try_id),
                    ("running", running, try_id),
                    ("running_ended", ended, try_id),
                ]
                last = try_id == tries - 1
                states.append(("exec_done" if ok else "failed" if last else "fail_retryable", ended + 0.001, try_id))
                try_rows.append(
                    (
                        try_id,
                        task_id,
                        run_id,
                        f"{rng.randrange(4)}",
                        host,
                        "htex",
                        _time(start, launched),
                        _time(start, running),
                        _time(start, ended),
                        None if ok else f"ValueError('bad input in sample_{task_id}')",  # repr(e), as Parsl records it
                        None,
                    )
                )
                rss = rng.uniform(50e6, 2e9)
                cpu = 0.0
                for sample in range(SAMPLES_PER_TRY):
                    at = running + (ended - running) * (sample + 1) / SAMPLES_PER_TRY
                    cpu += (ended - running) / SAMPLES_PER_TRY * rng.uniform(0.2, 1.0)
                    resource_rows.append(
                        (
                            try_id,
                            task_id,
                            run_id,
                            _time(start, at),
                            10.0,
                            1000 + task_id,
                            1.0,
                            0.0,
                            cpu * 0.9,
                            cpu * 0.1,
                            rss * 1.5,
                            rss * (0.6 + 0.4 * sample / SAMPLES_PER_TRY),
                            0.0,
                            0.0,
                            "running",
                            "1",
                            10.0,
                            2.0,
                        )
                    )
                t = ended + 0.01
            if final_fail:
                failed.add(task_id)
        returned = states[-1][1]
        task_rows.append(
            (
                task_id,
                run_id,
                ",".join(map(str, deps)) or None,
                app,
                "False",
                None,
                "None",
                "None",
                None,
                f"/runinfo/{task_id}.out",
                f"/runinfo/{task_id}.err",
                _time(start, invoked),
                _time(start, returned),
                tries - 1 if not final_fail else tries,
                0.0,
            )
        )
        status_rows += [(task_id, name, _time(start, at), run_id, try_id) for name, at, try_id in states]
    end = max(row[2] for row in status_rows)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO workflow VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                run_id,
                "synthetic",
                "1",
                _time(start, 0),
                end,
                "login1",
                "scientist",
                "/runinfo/000",
                len(failed),
                tasks - len(failed),
            ),
        )
        conn.executemany("INSERT INTO task VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", task_rows)
        conn.executemany('INSERT INTO "try" VALUES (?,?,?,?,?,?,?,?,?,?,?)', try_rows)
        conn.executemany("INSERT INTO status VALUES (?,?,?,?,?)", status_rows)
        conn.executemany("INSERT INTO resource VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", resource_rows)
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--tasks", type=int, default=100_000)
    args = parser.parse_args()
    args.path.unlink(missing_ok=True)
    write(args.path, args.tasks)
    print(f"{args.path}: {args.tasks} tasks")


if __name__ == "__main__":
    main()
