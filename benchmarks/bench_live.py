"""The dashboard during a run: first views, live polls and idle polls on a big run that is still being written.

A synthetic run (``synthetic_db``) is made live: its times are shifted to end now, its end
time removed, and a writer process keeps adding tasks (task, try and five status rows each,
plus resource samples) at a set rate of status rows per second, in transactions every
0.2 s as our hub writes. For every page:

- server ready: from starting a server for the page until it says it has read the running
  run (``live.running_runs``: the model built, samples and timeline read), the time a
  first view took before the server read running runs at start;
- first view: the page fetched once from that server, once it is ready;
- live poll: the page's htmx poll with the token it was rendered with, every 3 s while the
  writer writes (each poll finds new rows);
- idle poll: the same with the writer paused (the answer is an empty 204);
- the server's CPU share while one page polls every 3 s, and its resident memory.

Each figure is also given as a ratio to one full newest-status pass over the same file
(``latest_states``: every task's newest status), measured in the same run, so figures from
machines of different speeds can be compared.

    python -m benchmarks.bench_live --tasks 100000 [--rate 1000] [--polls 10] [--postgres] [--page NAME ...]

With ``--postgres`` the live run is copied into a PostgreSQL server the benchmark starts
(as the tests do), and the writer and the dashboard use that.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks import synthetic_db
from benchmarks.postgres import PostgresServer, copy_sqlite

RUN = "synthetic-run"
POLL_EVERY = 3.0
TOKEN = re.compile(r'hx-vals=\'\{"since": "([^"]+)"\}\'')


def pages(tasks: int) -> dict[str, str]:
    base = f"/workflow/{RUN}"
    return {
        "workflows": "/",
        "summary": f"{base}/",
        "dag by app": f"{base}/dag_group_by_apps",
        "dag by state": f"{base}/dag_group_by_states",
        "resources": f"{base}/resource_usage",
        "task list": f"{base}/task/",
        "failed tasks": f"{base}/task/?state=failures",
        "one task": f"{base}/task/{tasks // 2}",
        "api summary": f"/api/workflow/{RUN}",
        "app page": f"{base}/app/simulate",
        "tasks by run time": f"{base}/task/?sort=running&desc=true",
        "nodes": f"{base}/nodes",
        "api failures": f"/api/workflow/{RUN}/failures",
    }


def make_live(path: Path) -> None:
    """Shift the run's times to end now, remove its end, and switch the file to WAL (as our hub leaves it)."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        (end,) = conn.execute("SELECT max(timestamp) FROM status").fetchone()
        shift = (
            datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.datetime.fromisoformat(end)
        ).total_seconds()
        modifier = f"{shift:+.6f} seconds"
        for table, columns in (
            ("workflow", ("time_began",)),
            ("task", ("task_time_invoked", "task_time_returned")),
            ('"try"', ("task_try_time_launched", "task_try_time_running", "task_try_time_returned")),
            ("status", ("timestamp",)),
            ("resource", ("timestamp",)),
        ):
            sets = ", ".join(f"{c} = strftime('%Y-%m-%d %H:%M:%f000', {c}, '{modifier}')" for c in columns)
            conn.execute(f"UPDATE {table} SET {sets}")  # noqa: S608 - our own table and column names
        conn.execute("UPDATE workflow SET time_completed = NULL")


class Writer:
    """Another process adding tasks to the run at ``rate`` status rows per second (pausable)."""

    def __init__(self, target: str, paused: Path, rate: float, first_task: int) -> None:
        self.paused = paused
        self.paused.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.live_writer", target, str(rate), str(first_task), str(self.paused)],
            cwd=Path(__file__).parent.parent,
        )

    def pause(self) -> None:
        self.paused.touch()
        time.sleep(0.6)

    def resume(self) -> None:
        self.paused.unlink(missing_ok=True)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def newest_status_pass(url: str) -> float:
    """Seconds of one full pass computing every task's newest status (the unit of the ratios)."""
    from sqlalchemy import select

    from parsl_visualize.db import open_database
    from parsl_visualize.queries._common import latest_states

    db = open_database(url)
    best = float("inf")
    with db.engine.connect() as conn:
        for _ in range(3):
            started = time.perf_counter()
            latest = latest_states(conn.dialect.name, RUN)
            conn.execute(select(latest.c.task_id, latest.c.state)).all()
            best = min(best, time.perf_counter() - started)
    db.engine.dispose()
    return best


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, url: str) -> None:
        self.port = _free_port()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "parsl_visualize", url, "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.process.stdout.readline()
        self._ready = threading.Event()
        self.ready_after: float | None = None
        threading.Thread(target=self._read_log, daemon=True).start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if "read running run" in line and self.ready_after is None:
                self.ready_after = time.perf_counter() - self.started
                self._ready.set()
        self._ready.set()  # the server ended without saying it

    def wait_ready(self, timeout: float = 900.0) -> float | None:
        """Seconds from start until the server said it had read the running run (None: it did not say)."""
        self._ready.wait(timeout)
        return self.ready_after

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[float, int, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - loopback
                body = response.read().decode()
                return time.perf_counter() - started, response.status, body
        except urllib.error.HTTPError as exc:
            return time.perf_counter() - started, exc.code, ""

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _poll(server: Server, path: str, token: str) -> tuple[float, int, str]:
    joiner = "&" if "?" in path else "?"
    return server.get(f"{path}{joiner}since={urllib.parse.quote(token)}", {"HX-Request": "true"})


def measure_page(url: str, path: str, writer: Writer, polls: int) -> dict[str, Any]:
    server = Server(url)
    try:
        ready = server.wait_ready()
        first, status, body = server.get(path)
        match = TOKEN.search(body)
        out: dict[str, Any] = {"ready": ready, "first": first, "status": status}
        if match is None:  # pages without polling (the API, a page of a run that ended)
            return out
        token = match.group(1)
        live = []
        cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
        for _ in range(polls):
            time.sleep(POLL_EVERY)
            seconds, _code, fragment = _poll(server, path, token)
            live.append(seconds)
            found = TOKEN.search(fragment)
            token = found.group(1) if found else token
        out["cpu_share"] = (server.cpu_seconds() - cpu_before) / (time.monotonic() - wall_before)
        writer.pause()
        _seconds, _code, fragment = _poll(server, path, token)  # take in the last rows
        found = TOKEN.search(fragment)
        token = found.group(1) if found else token
        idle = [_poll(server, path, token)[0] for _ in range(polls)]
        writer.resume()
        out.update(live=live, idle=idle, rss_mb=server.rss_mb())
        return out
    finally:
        server.stop()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(
    workdir: Path,
    tasks: int,
    rate: float,
    polls: int,
    *,
    postgres: PostgresServer | None = None,
    only: list[str] | None = None,
) -> dict[str, Any]:
    path = workdir / f"live-{tasks}.db"
    synthetic_db.write(path, tasks)
    make_live(path)
    url = f"sqlite:///{path}"
    if postgres is not None:
        url = postgres.new_database()
        copy_sqlite(path, url)
        path.unlink()
    unit = newest_status_pass(url)
    print(f"live {tasks:,} tasks: one newest-status pass {unit:.3f} s (the unit of the ratios)", flush=True)
    writer = Writer(str(path) if postgres is None else url, path.with_suffix(".paused"), rate, tasks + 1)
    results: dict[str, Any] = {"pass": unit}
    try:
        for name, page in pages(tasks).items():
            if only and name not in only:
                continue
            figures = measure_page(url, page, writer, polls)
            results[name] = figures
            ready = figures["ready"]
            line = (
                f"live {tasks:,} {name:<13} server ready {ready:.2f} s ({ready / unit:.2f})"
                if ready is not None
                else f"live {tasks:,} {name:<13} server never said it read the run"
            )
            line += f"; first view {figures['first']:.3f} s ({figures['first'] / unit:.2f})"
            if "live" in figures:
                live50, live95 = quantile(figures["live"], 0.5), quantile(figures["live"], 0.95)
                idle50, idle95 = quantile(figures["idle"], 0.5), quantile(figures["idle"], 0.95)
                line += (
                    f"; live poll p50 {live50 * 1000:.0f} ms ({live50 / unit:.3f}) p95 {live95 * 1000:.0f} ms"
                    f"; idle poll p50 {idle50 * 1000:.1f} ms ({idle50 / unit:.3f}) p95 {idle95 * 1000:.1f} ms"
                    f"; CPU {figures['cpu_share'] * 100:.1f} % of a core; RSS {figures['rss_mb']:.0f} MB"
                )
            print(line, flush=True)
    finally:
        writer.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="status rows per second written meanwhile")
    parser.add_argument("--polls", type=int, default=10)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--postgres", action="store_true", help="the same run copied into a PostgreSQL it starts")
    parser.add_argument("--page", action="append", choices=list(pages(1)), help="only this page (repeatable)")
    args = parser.parse_args()
    postgres = PostgresServer() if args.postgres else None
    try:
        with tempfile.TemporaryDirectory(prefix="parsl-monitor-live-") as tmp:
            results = run(Path(tmp), args.tasks, args.rate, args.polls, postgres=postgres, only=args.page)
    finally:
        if postgres is not None:
            postgres.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
