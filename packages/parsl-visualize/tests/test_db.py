from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from parsl_monitor_core.schema import SCHEMA_VERSION
from parsl_visualize.db import Database, database_url, open_database
from parsl_visualize.errors import DatabaseError

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import WriteExample


def test_a_plain_path_is_taken_as_sqlite_and_postgres_without_a_driver_as_psycopg_3(tmp_path: Path) -> None:
    assert database_url(str(tmp_path / "m.db")) == f"sqlite:///{tmp_path / 'm.db'}"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u:pw@h:5433/db") == "postgresql+psycopg://u:pw@h:5433/db"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_the_viewer_cannot_write_to_the_database(db: Database) -> None:
    with db.engine.connect() as conn, pytest.raises(OperationalError, match="readonly"):
        conn.execute(text("DELETE FROM workflow"))


def test_our_databases_are_read_as_utc_and_parsl_ones_as_local_time(
    tmp_path: Path, db: Database, example: WriteExample
) -> None:
    assert db.utc and db.schema_version == SCHEMA_VERSION
    parsl_db = tmp_path / "parsl.db"
    example(f"sqlite:///{parsl_db}", parsl_written=True)
    theirs = open_database(str(parsl_db))
    assert not theirs.utc and theirs.schema_version is None
    assert "local time" in theirs.zone_label


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda _p: None, "no database at"),
        (lambda p: p.write_text("id,name\n1,x\n"), "is not an SQLite database"),
        (lambda p: p.mkdir(), "is a directory"),
        (
            lambda p: sqlite3.connect(p).execute("create table other(x)").connection.commit(),
            "has no Parsl monitoring tables",
        ),
        (
            lambda p: sqlite3.connect(p).executescript(
                "create table workflow(run_id text); create table task(x); create table try(x); create table status(x);"
            ),
            "lacks columns",
        ),
    ],
    ids=["missing", "csv", "directory", "foreign", "wrong-columns"],
)
def test_bad_databases_get_one_clear_line(tmp_path: Path, make: object, message: str) -> None:
    path = tmp_path / "monitoring.db"
    make(path)  # type: ignore[operator]
    with pytest.raises(DatabaseError, match=message) as info:
        open_database(str(path))
    assert "\n" not in str(info.value)


def test_a_database_from_a_newer_parsl_monitor_is_refused(db_path: Path) -> None:
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE parsl_monitor_schema SET version = :v"), {"v": SCHEMA_VERSION + 1})
    engine.dispose()
    with pytest.raises(DatabaseError, match=f"schema version {SCHEMA_VERSION + 1}, newer than {SCHEMA_VERSION}"):
        open_database(str(db_path))


def test_a_bad_url_is_one_line() -> None:
    with pytest.raises(DatabaseError, match="cannot use nosuchdialect://x"):
        open_database("nosuchdialect://x")
