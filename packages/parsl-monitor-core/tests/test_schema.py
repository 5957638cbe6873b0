import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from parsl_monitor_core.schema import (
    INDEXES,
    SCHEMA_VERSION,
    ForeignDatabaseError,
    NewerSchemaError,
    create_or_upgrade,
)

PARSL_TABLE_NAMES = {"workflow", "task", "try", "status", "resource", "node", "block"}


def test_creates_parsl_tables_version_row_and_indexes(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    assert create_or_upgrade(engine) == SCHEMA_VERSION
    inspector = inspect(engine)
    assert PARSL_TABLE_NAMES | {"parsl_monitor_schema"} <= set(inspector.get_table_names())
    index_names = {ix["name"] for table in PARSL_TABLE_NAMES for ix in inspector.get_indexes(table)}
    assert {index.name for index in INDEXES} <= index_names
    with sqlite3.connect(tmp_path / "m.db") as conn:
        assert conn.execute("select version, time_zone from parsl_monitor_schema").fetchall() == [
            (SCHEMA_VERSION, "UTC")
        ]
    engine.dispose()


def test_is_idempotent(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    create_or_upgrade(engine)
    create_or_upgrade(engine)
    with sqlite3.connect(tmp_path / "m.db") as conn:
        assert conn.execute("select count(*) from parsl_monitor_schema").fetchone() == (1,)
    engine.dispose()


def test_refuses_a_database_from_a_newer_schema(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    create_or_upgrade(engine)
    with sqlite3.connect(tmp_path / "m.db") as conn:
        conn.execute("update parsl_monitor_schema set version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(NewerSchemaError, match=f"version {SCHEMA_VERSION + 1} is newer"):
        create_or_upgrade(engine)
    engine.dispose()


def test_refuses_a_foreign_table_with_our_name(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "other.db") as conn:
        conn.execute("create table task (id integer primary key, title text)")
    engine = create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with pytest.raises(ForeignDatabaseError, match="table 'task' exists but lacks columns task_id"):
        create_or_upgrade(engine)
    engine.dispose()


@pytest.mark.parametrize(
    ("version", "added"),
    [
        (1, ["node_sample", "parsl_monitor_run_end", "parsl_monitor_sender"]),
        (2, ["parsl_monitor_run_end", "parsl_monitor_sender"]),
    ],
)
def test_an_older_database_is_upgraded_with_the_tables_added_since(
    tmp_path: Path, version: int, added: list[str]
) -> None:
    path = tmp_path / "m.db"
    engine = create_engine(f"sqlite:///{path}")
    create_or_upgrade(engine)
    with sqlite3.connect(path) as conn:  # what a parsl-monitor of that schema version left behind
        for table in added:
            conn.execute(f"drop table {table}")
        conn.execute("update parsl_monitor_schema set version = ?", (version,))
    assert create_or_upgrade(engine) == SCHEMA_VERSION == 3
    assert set(added) <= set(inspect(engine).get_table_names())
    with sqlite3.connect(path) as conn:
        assert conn.execute("select version from parsl_monitor_schema").fetchall() == [(3,)]
    engine.dispose()
