"""Keep a synthetic run growing, as a monitoring hub would: tasks added at a rate of status rows per second.

Each task gets its task and try rows, five status rows and a resource sample, written in
one transaction every 0.2 s. While the file ``PAUSE`` exists, nothing is written.

    python -m benchmarks.live_writer DB RATE FIRST_TASK PAUSE

DB is a SQLite file or a PostgreSQL URL.
"""

from __future__ import annotations

import datetime
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

RUN = "synthetic-run"
STATES = ("pending", "launched", "running", "running_ended", "exec_done")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _connect(target: str) -> tuple[Any, str, str]:
    """A connection to the SQLite file or PostgreSQL URL ``target``, its placeholder and its insert-or-skip words."""
    if target.startswith("postgresql"):
        import psycopg

        return psycopg.connect(target.replace("+psycopg", ""), autocommit=True), "%s", "INSERT"
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn, "?", "INSERT OR IGNORE"


def main() -> None:
    target, rate, task, paused = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    conn, mark, insert = _connect(target)
    skip = " ON CONFLICT DO NOTHING" if mark == "%s" else ""

    def values(n: int) -> str:
        return f"VALUES ({','.join([mark] * n)})"

    rng = random.Random(2)
    per_batch = max(1, round(rate * 0.2 / len(STATES)))
    while True:
        started = time.monotonic()
        if paused.exists():
            time.sleep(0.2)
            continue
        conn.execute("BEGIN")
        for _ in range(per_batch):
            t = _now()
            task_row = (task, RUN, str(task - 1), "live", "False", None, "None", "None", None, None, None, t, t, 0, 0.0)
            conn.execute(f"INSERT INTO task {values(15)}", task_row)
            host = f"node{rng.randrange(16):02d}"
            conn.execute(f'INSERT INTO "try" {values(11)}', (0, task, RUN, "0", host, "htex", t, t, t, None, None))
            for state in STATES:
                conn.execute(f"{insert} INTO status {values(5)}{skip}", (task, state, _now(), RUN, 0))
            sample = (0, task, RUN, _now(), 10.0, 1, 1.0, 0.0, 0.5, 0.1, 2e8, 1e8, 0.0, 0.0, "running", "1", 1.0, 0.0)
            conn.execute(f"{insert} INTO resource {values(18)}{skip}", sample)
            task += 1
        conn.execute("COMMIT")
        time.sleep(max(0.0, 0.2 - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
