"""Hub ingest into PostgreSQL against SQLite: the same messages, our hub, in the same run, rounds interleaved.

python -m benchmarks.bench_pg_ingest [--messages 200000] [--rounds 3]

A PostgreSQL server is started for the run (``benchmarks/postgres.py``); each round writes
each stream into a fresh SQLite file and a fresh PostgreSQL database. The clock stops when
the hub confirms every message committed (its FLUSH answer). Then two hubs, as two
workflows on two login nodes, write half the resource messages each (two runs) into one
PostgreSQL database at once: their combined rate, and that nothing is lost. Last, a
program queues a backlog of resource messages (``--backlog``, default 1,000,000) and
closes its ``MonitoringHub`` writing to PostgreSQL, as ``bench_backlog`` does for SQLite:
how long close() takes, and how many rows arrived.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import bench_backlog
from benchmarks import messages as m
from benchmarks.bench_ingest import STREAMS, ours
from benchmarks.hubs import OurHub
from benchmarks.postgres import PostgresServer


def _as_run(stream: list[tuple[int, dict[str, Any]]], run_id: str) -> list[tuple[int, dict[str, Any]]]:
    return [(kind, {**payload, "run_id": run_id}) for kind, payload in stream]


def two_hubs(workdir: Path, server: PostgresServer, n: int) -> dict[str, Any]:
    """Two hubs, each with its own run of n/2 resource messages, into one PostgreSQL database at once."""
    url = server.new_database()
    hubs, streams = [], []
    for run_id in ("bench-run-a", "bench-run-b"):
        sub = workdir / f"two-hubs-{run_id}"
        sub.mkdir()
        hub = OurHub(sub / "hub.db", url=url)
        hub.send(OurHub.frames([(m.WORKFLOW_INFO, {**m.workflow_start(), "run_id": run_id})]))
        hub.flush()
        hubs.append(hub)
        streams.append(OurHub.frames(_as_run(m.resource_stream(n // 2), run_id)))
    start = time.perf_counter()
    for hub, frames in zip(hubs, streams, strict=True):
        hub.send(frames)
    written = [hub.flush() for hub in hubs]
    elapsed = time.perf_counter() - start
    assert [hub.stop() for hub in hubs] == [0, 0]
    rows = server.count(url, "resource")
    lost = 2 * (n // 2) - rows
    result = {"messages": 2 * (n // 2), "combined": 2 * (n // 2) / elapsed, "written": written, "lost": lost}
    print(
        f"two hubs, one PostgreSQL database: {result['messages']:,} resource msgs, combined "
        f"{result['combined']:,.0f} msg/s, {lost} lost",
        flush=True,
    )
    return result


def backlog(workdir: Path, server: PostgresServer, n: int, deadline: float = 900) -> dict[str, Any]:
    """A program queues ``n`` resource messages and closes its MonitoringHub, which writes to PostgreSQL."""
    url = server.new_database()
    sub = workdir / "backlog-postgresql"
    sub.mkdir()
    timings, hung = bench_backlog.one("ours", n, sub, deadline, url)
    row = {"sent": n, "stored": server.count(url, "resource"), "hung": hung, **timings}
    print(f"backlog at close, PostgreSQL: {bench_backlog.describe(row, deadline)}", flush=True)
    return row


def run(workdir: Path, n: int, rounds: int, backlog_n: int = 1_000_000) -> list[dict[str, Any]]:
    """msg/s of our hub into SQLite and into PostgreSQL, per stream: every round, and the medians."""
    server = PostgresServer()
    results = []
    try:
        for name, (make, table) in STREAMS.items():
            stream = make(n)
            rates: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
            for i in range(rounds):
                for system in ("sqlite", "postgresql"):
                    sub = workdir / f"{name.replace(' ', '')}-{system}-{i}"
                    sub.mkdir()
                    url = server.new_database() if system == "postgresql" else None
                    rates[system].append(ours(sub, stream, table, url))
                    if url is not None:
                        assert server.count(url, table) == len(stream), (server.count(url, table), len(stream))
            row = {"stream": name, "messages": len(stream), **{k: statistics.median(v) for k, v in rates.items()}}
            row["ratio"] = row["postgresql"] / row["sqlite"]
            row["rounds"] = rates
            results.append(row)
            print(
                f"ingest {name:14} {len(stream):>9,} msgs: SQLite {row['sqlite']:>9,.0f} msg/s, PostgreSQL "
                f"{row['postgresql']:>9,.0f} msg/s (medians of {rounds}; PostgreSQL rounds "
                f"{', '.join(f'{r:,.0f}' for r in rates['postgresql'])}), ratio {row['ratio']:.2f}",
                flush=True,
            )
        results.append({"stream": "two hubs", **two_hubs(workdir, server, n)})
        if backlog_n:
            results.append({"stream": "backlog", **backlog(workdir, server, backlog_n)})
    finally:
        server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=1_000_000, help="messages queued before close (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run(Path(scratch), args.messages, args.rounds, args.backlog)


if __name__ == "__main__":
    main()
