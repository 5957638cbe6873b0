"""The README's main job (examples/demo.py) and the benchmarks keep working."""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
        return str(response.read().decode())


def test_the_demo_is_monitored_into_runinfo_and_served_by_the_dashboard(
    tmp_path: Path, parsl_environment: dict[str, str]
) -> None:
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--tasks", "6", "--port", str(port)],
        cwd=tmp_path,
        env={**parsl_environment, "PARSL_MONITOR_AGENT": f"ipc://{tmp_path / 'agent'}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert demo.stdout is not None
    lines = []
    try:
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("dashboard: "):
                assert line == f"dashboard: http://127.0.0.1:{port}/ (live while the workflow runs)\n"
                assert "demo.py" in get(f"http://127.0.0.1:{port}/")  # served while the workflow runs
            if line.startswith("the dashboard keeps serving"):
                break
        runs = json.loads(get(f"http://127.0.0.1:{port}/api/workflows"))
        assert [run["status"] for run in runs] == ["completed"]
        assert "broken_step" in get(f"http://127.0.0.1:{port}/workflow/{runs[0]['run_id']}/")
    finally:
        demo.send_signal(signal.SIGINT)  # the user's Ctrl-C
        _out, err = demo.communicate(timeout=60)
    assert demo.returncode == 0, err[-3000:]
    db = tmp_path / "runinfo" / "monitoring.db"
    assert f"monitoring database: {db}\n" in lines
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from task").fetchone() == (6 + 4 + 1 + 1 + 1 + 1,)
        states = dict(conn.execute("select task_status_name, count(*) from status group by 1").fetchall())
        assert states["failed"] == 1  # broken_step
        assert states["fail_retryable"] == 2  # calibrate (then succeeds) and broken_step (then fails for good)
        assert conn.execute("select count(*) from resource where psutil_process_memory_resident > 0").fetchone()[0] > 0
        assert conn.execute("select count(*) from node_sample").fetchone()[0] > 0  # the node agent ran


def benchmark(env: dict[str, str], module: str, *args: str) -> str:
    """Run ``python -m benchmarks.<module> ARGS`` from the repository root; its standard output."""
    result = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_benchmarks_still_run(tmp_path: Path, parsl_environment: dict[str, str]) -> None:
    stdout = benchmark(parsl_environment, "run", "--quick", "--json", str(tmp_path / "results.json"))
    assert "ingest resource" in stdout
    assert "backlog ours :     5,000 of 5,000 stored" in stdout
    assert "no-op tasks" in stdout
    assert "viewer     200 tasks, summary   : ours" in stdout
    assert "resource monitoring every 10 s" in stdout and "ours-agent" in stdout
    assert "ours / none by round: " in stdout
    assert "agent,    20 task processes" in stdout
    assert "node load,     500 tasks" in stdout
    assert "hub start to listening, 2 starts: median " in stdout
    assert re.search(r"workflow parsl.load\(\), 100 no-op tasks, .*: none [\d.]+ s, ours [\d.]+ s \(\+", stdout)


def test_the_interleaving_benchmark_runs(tmp_path: Path, parsl_environment: dict[str, str]) -> None:
    # An old checkout is given as PYTHONPATH in real use; an empty directory keeps this run's code.
    config = f"ours+PYTHONPATH={tmp_path}"
    lines = benchmark(parsl_environment, "interleave", "--tasks", "20", "--rounds", "1", "none", config).splitlines()
    assert [line.split(":")[1].strip() for line in lines[:2]] == ["none", config]
    assert lines[2].startswith("none: median ") and "(100%)" in lines[2]
    assert lines[3].startswith(f"{config}: median ")


def test_the_attribution_benchmark_stops_the_messages_where_each_cut_says(parsl_environment: dict[str, str]) -> None:
    table = benchmark(parsl_environment, "attribution", "--tasks", "20", "--rounds", "1")
    cells = {line.split("|")[1].strip(): line.split("|") for line in table.splitlines() if line.startswith("| ")}
    stored = {config: row[6].strip() for config, row in cells.items() if config != "configuration"}
    assert list(stored) == ["none", "none+cpu", "ours-dropped", "ours-encoded", "ours-received", "ours"]
    assert stored["none"] == stored["none+cpu"] == "\u2013"  # no database without monitoring
    assert stored["ours-dropped"] == stored["ours-encoded"] == stored["ours-received"] == "0", table  # each cut held
    assert stored["ours"] == str(3 * 21), table  # pending, launched, exec_done of 20 tasks and the warm-up task


def test_the_hub_replay_benchmark_replays_every_recorded_message(parsl_environment: dict[str, str]) -> None:
    out = benchmark(parsl_environment, "hub_replay", "--tasks", "20", "--rounds", "1", "--rate", "200")
    recorded = out.splitlines()[0]
    assert recorded.startswith("recorded 20 no-op tasks: "), out
    kinds = {kind: int(count) for count, kind in re.findall(r"(\d+) ([A-Z_]+)", recorded)}
    # pending, launched and exec_done of 20 tasks and the warm-up task; the interchange's two node records a task
    assert kinds["TASK_INFO"] == 3 * 21, out
    assert kinds["NODE_INFO"] >= 2 * 21, out
    messages = sum(kinds.values())
    assert f"{messages} of {messages} messages settled" in out  # the hub wrote every replayed message
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip() for line in out.splitlines() if line.startswith("| ")
    }
    assert rows["**hub process, replayed**"].startswith("**"), out
    assert "writer: status_insert (3.15 rows a task), alone" in rows, out  # 63 status rows for 20 tasks


def test_the_load_and_hostile_input_benchmarks_still_run(parsl_environment: dict[str, str]) -> None:
    load = benchmark(parsl_environment, "bench_viewer_load", "--tasks", "300", "--clients", "4", "--seconds", "3")
    assert "4 clients, 3 s, 300-task live run: " in load
    assert "; errors 0 ;" in load
    hostile = benchmark(parsl_environment, "bench_hostile", "--quick")
    assert hostile.count("all landed") == 8, hostile
    assert "hub exit code 0" in hostile


def test_the_cpu_by_process_benchmark_names_every_process_of_ours(parsl_environment: dict[str, str]) -> None:
    table = benchmark(parsl_environment, "cpu_by_process", "--tasks", "50", "--rounds", "1")
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")}
    assert rows["process"].split("|")[2:5] == [" none ", " ours ", " ours-agent@10 "]
    for ours in ("our hub", "our hub's writer process", "our node agent"):
        assert ours in rows, table  # each process of ours is found and counted under its own name
    assert rows["our hub"].split("|")[2].strip() == "\u2013"  # nothing of ours runs without monitoring
    assert "wall time added per task" in rows
    assert re.search(r"none ran at \d+ tasks/s", table)


def test_the_postgresql_ingest_benchmark_runs_and_loses_nothing(parsl_environment: dict[str, str]) -> None:
    out = benchmark(parsl_environment, "bench_pg_ingest", "--messages", "2000", "--rounds", "1", "--backlog", "5000")
    assert "ingest resource" in out and "ingest task + status" in out
    assert "2,000 resource msgs, combined" in out and ", 0 lost" in out
    assert "backlog at close, PostgreSQL:     5,000 of 5,000 stored" in out


def test_the_model_memory_benchmark_counts_every_task_and_sample(
    tmp_path: Path, parsl_environment: dict[str, str]
) -> None:
    db = tmp_path / "synthetic.db"
    benchmark(parsl_environment, "synthetic_db", str(db), "--tasks", "2000")
    with sqlite3.connect(db) as conn:
        tasks = conn.execute("select count(*) from task").fetchone()[0]
        samples = conn.execute("select count(*) from resource").fetchone()[0]
    lines = benchmark(parsl_environment, "model_memory", str(db)).splitlines()
    assert lines[0].startswith("start: ")
    assert lines[1].startswith(f"model of {tasks:,} tasks: ")
    assert lines[2].startswith(f"{samples:,} resource samples: ")


def test_the_failures_benchmark_runs(tmp_path: Path, parsl_environment: dict[str, str]) -> None:
    db = tmp_path / "big.db"
    benchmark(parsl_environment, "synthetic_db", str(db), "--tasks", "10000")
    out = benchmark(parsl_environment, "bench_failures", str(db), "--repeat", "1")
    found = re.match(r"10,000 tasks, ([\d,]+) failed tries, ([\d,]+) tasks failed by others: roots [\d.]+ ms", out)
    assert found, out
    assert int(found[1].replace(",", "")) > 0 and int(found[2].replace(",", "")) > 0, out  # 2 % retried, dep_fails
