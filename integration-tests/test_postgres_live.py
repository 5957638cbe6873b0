"""The dashboard's run model on PostgreSQL, followed while writers commit: equal to one built afresh.

PostgreSQL rows have no rowid to follow; the model follows the transactions that wrote
them (``xmin``). The hard case is a transaction that began before a poll and commits
after it (a second hub, or a slow batch): its rows must be taken at a later poll, and a
resource sample must never be counted twice.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.dialects.postgresql import insert

from parsl_monitor_core.schema import NodeSample, Resource, Status, Task, Try, Workflow, create_or_upgrade, table_of
from parsl_visualize.db import open_database
from parsl_visualize.live.model import RunModel, TaskFilter

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from conftest import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
RUN = "followed"
START = datetime.datetime(2026, 5, 1, 12, 0, 0)  # noqa: DTZ001 - stored naive, as the hub does
STATES = ("pending", "launched", "running", "running_ended", "exec_done", "failed")
"""In the order of one try: a task's state is its newest try's furthest (then latest) status."""


def at(seconds: float) -> datetime.datetime:
    return START + datetime.timedelta(seconds=seconds)


class RunWriter:
    """Rows of one run as a hub writes them, into transactions the test opens and commits."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data
        self.sample = 0
        self.status = 0

    def batch(self, tasks: range) -> list[tuple[Any, dict[str, Any]]]:
        """Task and try rows (inserted or updated), a status row with each, resource and node samples.

        Two open transactions write different tasks: updating the same row, one would wait for the other.
        """
        rng = self.rng
        out: list[tuple[Any, dict[str, Any]]] = []
        for _ in range(rng.randint(1, 10)):
            task_id = rng.choice(tasks)
            launched = rng.uniform(0, 100)
            ended = rng.choice([None, launched + rng.uniform(0, 50)])
            out.append(
                (
                    Task,
                    {
                        "task_id": task_id,
                        "run_id": RUN,
                        "task_func_name": rng.choice(["load", "fit"]),
                        "task_time_invoked": at(launched - 1),
                        "task_time_returned": None if ended is None else at(ended),
                        "task_fail_count": 0,
                        "task_depends": str(task_id - 1) if task_id else None,
                        "task_memoize": "False",
                        "task_fail_cost": 0.0,
                    },
                )
            )
            out.append(
                (
                    Try,
                    {
                        "task_id": task_id,
                        "try_id": 0,
                        "run_id": RUN,
                        "hostname": f"n{task_id % 2}",
                        "task_executor": "htex",
                        "task_try_time_launched": at(launched),
                        "task_try_time_running": at(launched + 0.5),
                        "task_try_time_returned": None if ended is None else at(ended),
                    },
                )
            )
            self.status += 1
            state, try_id = rng.choice(STATES), rng.choice((0, 0, 1))
            out.append((Status, {"task_id": task_id, "try_id": try_id, "run_id": RUN, "task_status_name": state,
                                 "timestamp": at(self.status * 0.001)}))  # fmt: skip
            for _ in range(rng.randint(0, 3)):
                self.sample += 1
                out.append(
                    (
                        Resource,
                        {
                            "task_id": task_id,
                            "try_id": 0,
                            "run_id": RUN,
                            "timestamp": at(self.sample * 0.5),
                            "resource_monitoring_interval": 1.0,
                            "psutil_process_time_user": self.sample * 0.1,
                            "psutil_process_time_system": 0.0,
                            "psutil_process_memory_resident": rng.uniform(0, 1e9),
                        },
                    )
                )
            out.append(
                (
                    NodeSample,
                    {
                        "run_id": RUN,
                        "hostname": f"n{task_id % 2}",
                        "timestamp": at(self.sample * 0.5 + self.status * 1e-4),
                        "cpu_percent": rng.uniform(0, 100),
                        "memory_used": rng.randrange(2**34),
                    },
                )
            )
        return out


def write(conn: Connection, batch: list[tuple[Any, dict[str, Any]]]) -> None:
    for model, row in batch:
        table = table_of(model)
        statement = insert(table).values(row)
        keys = [column.name for column in table.primary_key.columns]
        if model in {Task, Try}:
            statement = statement.on_conflict_do_update(
                index_elements=keys, set_={k: v for k, v in row.items() if k not in keys}
            )
        else:
            statement = statement.on_conflict_do_nothing()
        conn.execute(statement)


def rounded(value: Any) -> Any:
    """``value`` with every float to 9 significant digits: sums taken in another order differ in the last bits."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return rounded(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item) for item in value]
    return value


def seen(model: RunModel, conn: Connection) -> dict[str, Any]:
    """What the pages read from a model, comparable."""
    model.completed = (START - datetime.datetime(1970, 1, 1)).total_seconds() + 10_000  # noqa: DTZ001
    usage = model.resources(conn)
    axis = usage.axis(model.completed)
    return {
        "summary": model.summary(),
        "apps": model.apps(),
        "tasks": model.task_page(TaskFilter(per_page=1000)).rows,
        "gantt": model.gantt(1000, None),
        "concurrency": model.concurrency(model.axis(None)),  # type: ignore[arg-type]
        "samples": (usage.samples, usage.node_samples),
        "resources": rounded((usage.over_time(axis), usage.per_app(model.tasks.apps), usage.nodes(axis))),
    }


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one())  # noqa: S608 - test's own


def new_run(postgres: PostgresServer, name: str) -> tuple[str, Engine]:
    """A new database holding the run's workflow row: its URL and an engine that writes."""
    url = postgres.create_database(name)
    engine = create_engine(url)
    create_or_upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            table_of(Workflow).insert(),
            {"run_id": RUN, "time_began": START, "host": "h", "user": "u", "rundir": "/r",
             "tasks_completed_count": 0, "tasks_failed_count": 0},
        )  # fmt: skip
    return url, engine


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_model_followed_on_postgres_across_open_transactions_equals_one_built_afresh(
    postgres: PostgresServer, seed: int
) -> None:
    url, engine = new_run(postgres, f"follow{seed}")
    writer = RunWriter(seed)
    viewer = open_database(url)
    followed = RunModel(RUN)
    try:
        with viewer.engine.connect() as conn:
            followed.refresh(conn)
            followed.resources(conn)  # the resource page open from the start
            followed.axis(None)  # and the summary's timeline
        for _ in range(12):
            # A transaction that writes before the poll and commits after it, on its own connection.
            slow_conn = engine.connect()
            slow_txn = slow_conn.begin()
            write(slow_conn, writer.batch(range(6)))
            with engine.begin() as conn:
                write(conn, writer.batch(range(6, 12)))
            with viewer.engine.connect() as conn:
                followed.refresh(conn)
                usage = followed.resources(conn)
            slow_txn.commit()
            slow_conn.close()
            with viewer.engine.connect() as conn:
                followed.refresh(conn)
                usage = followed.resources(conn)
            assert usage.samples == count(engine, "resource"), "a sample was missed or counted twice"
            assert usage.node_samples == count(engine, "node_sample")
        built = RunModel(RUN)
        with viewer.engine.connect() as conn:
            built.refresh(conn)
            assert seen(followed, conn) == seen(built, conn)
        states = {row.task_id: row.state for row in built.task_page(TaskFilter(per_page=1000)).rows}
        with engine.connect() as conn:
            newest = conn.exec_driver_sql(
                "SELECT DISTINCT ON (task_id) task_id, task_status_name FROM status ORDER BY task_id, try_id DESC, "
                "array_position(%(path)s, task_status_name) DESC, timestamp DESC",
                {"path": list(STATES)},
            )
            truth = {int(task_id): str(state) for task_id, state in newest}
        assert states == truth
    finally:
        viewer.engine.dispose()
        engine.dispose()


def test_a_postgres_older_than_13_has_its_changed_run_read_again(postgres: PostgresServer) -> None:
    # PostgreSQL 12 has no pg_current_snapshot(): the model reads a changed run again instead of following it.
    url, engine = new_run(postgres, "older")
    with engine.begin() as conn:  # as on PostgreSQL 12, calling it fails (this one is found first)
        conn.exec_driver_sql(
            "CREATE FUNCTION public.pg_current_snapshot() RETURNS pg_snapshot LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'function pg_current_snapshot() does not exist'; END $$"
        )
        conn.exec_driver_sql("ALTER DATABASE older SET search_path = public, pg_catalog")
    viewer = open_database(url)
    try:
        with viewer.engine.connect():
            pass  # the dialect learns the server's version on the first connection
        viewer.engine.dialect.server_version_info = (12, 22)
        writer = RunWriter(4)
        model = RunModel(RUN)
        for _ in range(4):
            with engine.begin() as conn:
                write(conn, writer.batch(range(12)))
            with viewer.engine.connect() as conn:
                model.refresh(conn)
                usage = model.resources(conn)
            assert usage.samples == count(engine, "resource")
        built = RunModel(RUN)
        with viewer.engine.connect() as conn:
            built.refresh(conn)
            assert seen(model, conn) == seen(built, conn)
    finally:
        viewer.engine.dispose()
        engine.dispose()
