"""The nodes page, the capacity line and the node heatmap, on a database with known node and block rows."""

from __future__ import annotations

import datetime
import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine

from parsl_monitor_core.schema import Block, Node, table_of

if TYPE_CHECKING:
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import TestClient

    Client = TestClient[Litestar]

GIB = 2**30
DONE = "run-done"  # conftest.write_example's finished run


def charts(page: str) -> dict[str, Any]:
    """The ECharts options embedded in a page, by chart element id."""
    found = re.findall(r'<script type="application/json" data-option-for="([^"]+)">(.*?)</script>', page, re.S)
    return {chart_id: json.loads(option) for chart_id, option in found}


def _node(
    uid: str, host: str, block: str, at: datetime.datetime, *, cores: int, active: bool, workers: int
) -> dict[str, Any]:
    return {
        "run_id": DONE,
        "hostname": host,
        "uid": uid,
        "block_id": block,
        "cpu_count": cores,
        "total_memory": cores * GIB,
        "active": active,
        "worker_count": workers,
        "python_v": "3.11.7",
        "timestamp": at,
        "last_heartbeat": at,
    }


@pytest.fixture
def started(db_path: Path) -> datetime.datetime:
    """Node and block rows for DONE: nodeA holds two pools at once (blocks 9 and 10), nodeB one that leaves at 20 s."""
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        (start,) = conn.exec_driver_sql("SELECT time_began FROM workflow WHERE run_id = ?", (DONE,)).one()
        start = datetime.datetime.fromisoformat(start)

        def at(seconds: float) -> datetime.datetime:
            return start + datetime.timedelta(seconds=seconds)

        conn.execute(
            table_of(Node).insert(),
            [
                _node("a9", "nodeA", "9", at(1), cores=8, active=True, workers=1),
                _node("a9", "nodeA", "9", at(5), cores=8, active=True, workers=4),  # newest row of a9
                _node("a10", "nodeA", "10", at(2), cores=4, active=True, workers=2),
                _node("b", "nodeB", "9", at(1), cores=16, active=True, workers=16),
                _node("b", "nodeB", "9", at(20), cores=16, active=False, workers=16),  # left at 20 s
            ],
        )
        blocks = [
            ("9", "PENDING", 0),
            ("9", "RUNNING", 1),
            ("10", "PENDING", 1),
            ("10", "MISSING", 30),
            ("9", "SCALED_IN", 41),
        ]
        conn.execute(
            table_of(Block).insert(),
            [
                {
                    "run_id": DONE,
                    "executor_label": "htex",
                    "block_id": b,
                    "job_id": f"j{b}",
                    "timestamp": at(t),
                    "status": s,
                }
                for b, s, t in blocks
            ],
        )
    engine.dispose()
    return start


def test_worker_pools_are_folded_to_their_newest_row_with_first_and_last_times(
    client: Client, started: datetime.datetime
) -> None:
    answer = client.get(f"/api/workflow/{DONE}/nodes").json()
    pools = {(n["hostname"], n["block_id"]): n for n in answer["nodes"]}
    assert sorted(pools) == [("nodeA", "10"), ("nodeA", "9"), ("nodeB", "9")]
    a9 = pools["nodeA", "9"]
    assert (a9["workers"], a9["cores"], a9["memory"], a9["active"]) == (4, 8, 8 * GIB, True)
    first, last = (datetime.datetime.fromisoformat(a9[k]) for k in ("first_seen", "last_seen"))
    assert (first - started, last - started) == (datetime.timedelta(seconds=1), datetime.timedelta(seconds=5))
    assert pools["nodeB", "9"]["active"] is False
    blocks = [(b["block_id"], [s["status"] for s in b["states"]]) for b in answer["blocks"]]
    assert blocks == [("9", ["PENDING", "RUNNING", "SCALED_IN"]), ("10", ["PENDING", "MISSING"])]  # 9 before 10


def test_the_nodes_page_lists_pools_and_block_states(client: Client, started: datetime.datetime) -> None:
    page = client.get(f"/workflow/{DONE}/nodes", headers={"accept": "text/html"}).text
    assert "3 worker pools on 2 hosts, 24 cores in all" in page  # nodeA counted once, with its largest pool
    assert '<span class="block-state missing">MISSING</span>' in page
    assert "PENDING" in page and "SCALED_IN" in page


def test_the_cpu_chart_has_the_nodes_capacity_and_a_utilisation_chart(
    client: Client, started: datetime.datetime
) -> None:
    drawn = charts(client.get(f"/workflow/{DONE}/resource_usage").text)
    capacity = {s["name"]: s for s in drawn["chart-cpu-total"]["series"]}["capacity of the nodes"]["data"]
    by_time = dict(capacity)

    def at(seconds: float) -> float:
        return float(next(v for t, v in reversed(capacity) if t <= seconds))

    assert at(10) == 8 + 16  # both hosts: nodeA's larger pool, and nodeB
    assert at(30) == 8  # nodeB left at 20 s
    used = {s["name"]: dict(s["data"]) for s in drawn["chart-utilisation"]["series"]}
    cpu = dict(drawn["chart-cpu-total"]["series"][0]["data"])
    for t, percent in used["CPU"].items():
        assert percent == pytest.approx(100 * cpu[t] / by_time[t], abs=0.01)


def test_many_nodes_are_drawn_as_a_heatmap(example: Any, tmp_path: Path) -> None:
    from litestar.testing import TestClient

    from parsl_visualize.app import create_app
    from parsl_visualize.db import open_database

    path = tmp_path / "many.db"
    example(f"sqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # task 0 tried on 12 hosts, each try with task 0's samples
        tries = [c for (c,) in conn.exec_driver_sql("SELECT name FROM pragma_table_info('try')")]
        samples = [c for (c,) in conn.exec_driver_sql("SELECT name FROM pragma_table_info('resource')")]
        for host in range(12):
            copy = ", ".join({"try_id": "?", "hostname": "?"}.get(c, c) for c in tries)
            conn.exec_driver_sql(
                f"INSERT INTO try SELECT {copy} FROM try WHERE run_id = ? AND task_id = 0 AND try_id = 0",  # noqa: S608 - the table's own column names
                (10 + host, f"h{host:02d}", DONE),
            )
            copy = ", ".join("?" if c == "try_id" else c for c in samples)
            conn.exec_driver_sql(
                f"INSERT INTO resource SELECT {copy} FROM resource WHERE run_id = ? AND task_id = 0 AND try_id = 0",  # noqa: S608
                (10 + host, DONE),
            )
    engine.dispose()
    db = open_database(str(path))
    with TestClient(app=create_app(db), base_url="http://127.0.0.1") as client:
        drawn = charts(client.get(f"/workflow/{DONE}/resource_usage").text)
    db.engine.dispose()
    heatmap = drawn["chart-cpu-hosts"]
    assert heatmap["series"][0]["type"] == "heatmap"
    assert [f"h{i:02d}" for i in range(12)] == [h for h in heatmap["yAxis"]["data"] if h.startswith("h")]
