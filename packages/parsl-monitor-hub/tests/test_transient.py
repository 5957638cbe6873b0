"""Which failed writes the writer waits out, judged on errors a real SQLite raises.

A full disk must be waited for (its rows kept in memory until there is room); a row the
schema refuses must not be (waiting would stall every row behind it forever).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from parsl_monitor_hub.writing.failures import is_transient

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def raised_by(db: Path, action: Callable[[sqlite3.Connection], object]) -> sqlite3.Error:
    connection = sqlite3.connect(db)
    connection.execute("create table if not exists t (k integer primary key, v text not null)")
    connection.commit()
    try:
        with pytest.raises(sqlite3.Error) as caught:
            action(connection)
    finally:
        connection.close()
    return caught.value


def fill_up(connection: sqlite3.Connection) -> None:
    # What a full disk answers: SQLite stops at max_page_count with the same SQLITE_FULL.
    connection.execute("pragma max_page_count = 3")
    for key in range(1000):
        connection.execute("insert into t values (?, ?)", (key, "x" * 1000))
    connection.commit()


def test_a_full_database_is_waited_for(tmp_path: Path) -> None:
    error = raised_by(tmp_path / "full.db", fill_up)
    assert str(error) == "database or disk is full"
    assert is_transient(error, sqlite3.OperationalError)


def test_a_database_locked_by_another_writer_is_waited_for(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("create table t (k integer primary key, v text not null)")
    holder.execute("begin immediate")
    try:
        error = raised_by(db, lambda c: c.execute("pragma busy_timeout = 0").execute("insert into t values (1, 'a')"))
    finally:
        holder.close()
    assert str(error) == "database is locked"
    assert is_transient(error, sqlite3.OperationalError)


@pytest.mark.parametrize(
    ("statement", "said"),
    [
        ("insert into t values (1, null)", "NOT NULL constraint failed: t.v"),
        ("insert into missing values (1)", "no such table: missing"),
        ("insert into t (k, nope) values (1, 2)", "table t has no column named nope"),
    ],
)
def test_rows_the_schema_refuses_are_not_waited_for(tmp_path: Path, statement: str, said: str) -> None:
    error = raised_by(tmp_path / "refuses.db", lambda c: c.execute(statement))
    assert str(error) == said
    assert not is_transient(error, sqlite3.OperationalError)
