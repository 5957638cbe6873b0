"""Hub ingest: the same messages written to SQLite by our hub and by Parsl's DatabaseManager.

Each system gets the workflow's start message first (so start-up is not timed), then N
messages sent as fast as possible; the clock stops when all N are committed (our FLUSH
answer; for Parsl's, the moment all N rows are visible, polled every 0.2 s).
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

from benchmarks import messages as m
from benchmarks.hubs import OurHub, ParslDatabaseManager, count, wait_for_rows

if TYPE_CHECKING:
    from pathlib import Path

STREAMS = {
    # name: (messages, the table with exactly one row per message)
    "resource": (m.resource_stream, "resource"),
    "task + status": (lambda n: m.task_stream(n // 5), "status"),
}


def ours(workdir: Path, stream: list[tuple[int, dict[str, Any]]], table: str, url: str | None = None) -> float:
    """msg/s of our hub writing ``stream`` into a new SQLite file in ``workdir`` (or the database at ``url``)."""
    db = workdir / "ours.db"
    hub = OurHub(db, url=url)
    hub.send(OurHub.frames([(m.WORKFLOW_INFO, m.workflow_start())]))
    hub.flush()
    frames = OurHub.frames(stream)
    start = time.perf_counter()
    hub.send(frames)
    written = hub.flush()
    elapsed = time.perf_counter() - start
    assert hub.stop() == 0
    assert written == len(stream) + 1, (written, len(stream))
    if url is None:  # elsewhere the caller counts
        assert count(db, table) == len(stream), (count(db, table), len(stream))
    return len(stream) / elapsed


def parsl(workdir: Path, stream: list[tuple[int, dict[str, Any]]], table: str) -> float:
    db = workdir / "parsl.db"
    dbm = ParslDatabaseManager(db)
    dbm.send([(m.WORKFLOW_INFO, m.workflow_start())])
    wait_for_rows(db, "workflow", 1)
    start = time.perf_counter()
    dbm.send(stream)
    dbm.wait_written(db, table, len(stream))
    elapsed = time.perf_counter() - start
    dbm.stop()
    assert count(db, table) == len(stream), (count(db, table), len(stream))
    return len(stream) / elapsed


def run(workdir: Path, n: int, rounds: int) -> list[dict[str, Any]]:
    """Parsl's DatabaseManager once (minutes at this size), ours ``rounds`` times: the median is reported."""
    results = []
    for name, (make, table) in STREAMS.items():
        stream = make(n)
        row: dict[str, Any] = {"stream": name, "messages": len(stream)}
        sub = workdir / f"{name.replace(' ', '')}-parsl"
        sub.mkdir()
        row["parsl"] = parsl(sub, stream, table)
        row["ours_rounds"] = []
        for i in range(rounds):
            sub = workdir / f"{name.replace(' ', '')}-ours-{i}"
            sub.mkdir()
            row["ours_rounds"].append(ours(sub, stream, table))
        row["ours"] = statistics.median(row["ours_rounds"])
        row["ratio"] = row["ours"] / row["parsl"]
        results.append(row)
        each = ", ".join(f"{rate:,.0f}" for rate in row["ours_rounds"])
        print(
            f"ingest {name:14} {len(stream):>9,} msgs: Parsl DatabaseManager {row['parsl']:>9,.0f} msg/s, "
            f"parsl-monitor hub {row['ours']:>9,.0f} msg/s (median of {each}), ratio {row['ratio']:.1f}x",
            flush=True,
        )
    return results
