"""Fifty dashboards at once on a 100k-task run that our hub is still writing.

A synthetic run (``synthetic_db``) is made live (``bench_live.make_live``) and a real
``parsl-monitor-hub`` keeps adding tasks to it (five state messages each, in frames every
0.2 s). Meanwhile ``--clients`` threads, each with its own keep-alive connection, request
without pause for ``--seconds``: every page of the run in turn, and after each page its
htmx poll with the token that page carried, as an open dashboard does. Printed: requests
per second, latency p50/p95/p99/max, errors (any answer but 200/204, or none within the
client's 60 s timeout) and the viewer's peak RSS.

    python -m benchmarks.bench_viewer_load [--tasks 100000] [--clients 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import random
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

from benchmarks import messages as m
from benchmarks import synthetic_db
from benchmarks.bench_live import RUN, TOKEN, Server, make_live, pages, quantile
from benchmarks.hubs import OurHub, count

CLIENT_TIMEOUT = 60.0
HUB_TASKS_PER_SECOND = 200


class HubFeed:
    """A real hub adding tasks to the run at a steady rate, from a thread of this process."""

    def __init__(self, db: Path, first_task: int) -> None:
        self.hub = OurHub(db)
        self.sent_tasks = 0
        self._first = first_task
        self._running = threading.Event()
        self._running.set()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        per_turn = max(1, int(HUB_TASKS_PER_SECOND * 0.2))
        while self._running.is_set():
            started = time.monotonic()
            now = time.time() - m.T0.timestamp()
            messages = []
            for task_id in range(self._first + self.sent_tasks, self._first + self.sent_tasks + per_turn):
                for kind, payload in m.task_stream(1):
                    messages.append((kind, {**payload, "run_id": RUN, "task_id": task_id}))
            for _, payload in messages:  # times of now, as the live run has
                payload.update({k: m.at(now) for k, v in payload.items() if isinstance(v, datetime.datetime)})
            self.hub.send(OurHub.frames(messages))
            self.sent_tasks += per_turn
            time.sleep(max(0.0, 0.2 - (time.monotonic() - started)))

    def stop(self) -> tuple[int, int]:
        """Stop feeding; returns (tasks sent, hub exit code) once the hub wrote everything."""
        self._running.clear()
        self._thread.join()
        self.hub.flush()
        return self.sent_tasks, self.hub.stop()


class Client(threading.Thread):
    """One open dashboard, requesting without pause."""

    def __init__(self, port: int, paths: list[str], until: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.port, self.paths, self.until = port, paths, until
        self.rng = random.Random(seed)
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()

    def _get(self, conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> tuple[int, str]:
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read().decode()
        self.latencies.append(time.perf_counter() - started)
        return response.status, body

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT)
        paths = self.paths[:]
        self.rng.shuffle(paths)
        i = 0
        while time.monotonic() < self.until:
            path = paths[i % len(paths)]
            i += 1
            try:
                status, body = self._get(conn, path, {})
                if status != 200:
                    self.errors[f"{status} {path}"] += 1
                    continue
                token = TOKEN.search(body)
                if token is None or time.monotonic() >= self.until:
                    continue
                joiner = "&" if "?" in path else "?"
                poll = f"{path}{joiner}since={urllib.parse.quote(token.group(1))}"
                status, _ = self._get(conn, poll, {"HX-Request": "true"})
                if status not in {200, 204}:
                    self.errors[f"{status} poll {path}"] += 1
            except (OSError, http.client.HTTPException) as exc:
                self.errors[f"{type(exc).__name__} {path}"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT)
        conn.close()


def run(workdir: Path, tasks: int, clients: int, seconds: float) -> dict[str, Any]:
    path = workdir / f"load-{tasks}.db"
    synthetic_db.write(path, tasks)
    make_live(path)
    feed = HubFeed(path, tasks + 1)
    server = Server(f"sqlite:///{path}")
    viewer = psutil.Process(server.process.pid)
    peak_rss = 0
    try:
        paths = list(pages(tasks).values())
        until = time.monotonic() + seconds
        started = time.monotonic()
        threads = [Client(server.port, paths, until, seed) for seed in range(clients)]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            peak_rss = max(peak_rss, viewer.memory_info().rss)
            time.sleep(0.1)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
        sent, hub_code = feed.stop()
    latencies = [value for thread in threads for value in thread.latencies]
    errors: Counter[str] = Counter()
    for thread in threads:
        errors.update(thread.errors)
    written = count(path, "task") - tasks
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50": quantile(latencies, 0.5),
        "p95": quantile(latencies, 0.95),
        "p99": quantile(latencies, 0.99),
        "max": max(latencies),
        "errors": dict(errors),
        "rss_mb": peak_rss / (1 << 20),
        "hub": f"{written:,} of {sent:,} tasks sent written during the test, exit code {hub_code}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-load-"))
    r = run(workdir, args.tasks, args.clients, args.seconds)
    print(
        f"{args.clients} clients, {args.seconds:.0f} s, {args.tasks:,}-task live run: {r['requests']:,} requests "
        f"({r['per_second']:.1f}/s); latency p50 {r['p50'] * 1000:.0f} ms, p95 {r['p95'] * 1000:.0f} ms, "
        f"p99 {r['p99'] * 1000:.0f} ms, max {r['max'] * 1000:.0f} ms; errors {sum(r['errors'].values())} "
        f"{r['errors'] or ''}; viewer peak RSS {r['rss_mb']:.0f} MB; hub: {r['hub']}"
    )


if __name__ == "__main__":
    main()
