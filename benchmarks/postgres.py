"""A throwaway PostgreSQL server for a benchmark: initdb and pg_ctl in a temporary directory, loopback only.

The same as the integration tests' server (their conftest), for runs outside pytest.
As root, the server runs as the ``postgres`` user (initdb refuses root); ``fsync=off``,
as the tests, so a figure measures the hub and the server, not this machine's disk.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from pathlib import Path

__all__ = ("PostgresServer", "copy_sqlite")

TABLES = ("workflow", "task", "try", "status", "resource", "node", "block", "node_sample")
"""What :func:`copy_sqlite` copies, when the SQLite file has it."""


def _binary(name: str) -> str:
    installed = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    found = shutil.which(name) or (str(installed[0]) if installed else None)
    if found is None:
        raise RuntimeError(f"{name} not found: apt-get install postgresql")
    return found


class PostgresServer:
    """Started on construction; ``stop()`` ends it and removes its files."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.root = Path(tempfile.mkdtemp(prefix="parsl-monitor-bench-pg-"))
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, user="postgres")
        data = self.root / "data"
        self._run(_binary("initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "--no-sync")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._run(_binary("pg_ctl"), "-D", str(data), "-l", str(self.root / "log"), "-w", "-o", options, "start")
        self._data = data
        self._databases = 0

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as, *command], check=True, capture_output=True, timeout=120, cwd=self.root)

    def new_database(self) -> str:
        """A new empty database's SQLAlchemy URL."""
        import psycopg

        self._databases += 1
        name = f"bench{self._databases}"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def count(self, url: str, table: str) -> int:
        """Rows in ``table`` of the database at ``url``."""
        import psycopg

        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608 - the benchmark's own table names
        return int(row[0]) if row else 0

    def stop(self) -> None:
        try:
            self._run(_binary("pg_ctl"), "-D", str(self._data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def copy_sqlite(path: Path, url: str) -> None:
    """Copy every monitoring table of the SQLite file ``path`` into the (new) database at ``url``, by COPY.

    The schema is ours (``create_or_upgrade``); times travel as the text SQLite holds.
    """
    import psycopg
    from sqlalchemy import create_engine

    from parsl_monitor_core.schema import create_or_upgrade

    engine = create_engine(url)
    create_or_upgrade(engine)
    engine.dispose()
    source = sqlite3.connect(path)
    try:
        present = {name for (name,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        with psycopg.connect(url.replace("+psycopg", "")) as target:
            for table in (t for t in TABLES if t in present):
                cursor = source.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - the tables named above
                columns = ", ".join(f'"{d[0]}"' for d in cursor.description)
                with target.cursor().copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                    while rows := cursor.fetchmany(10_000):
                        for row in rows:
                            copy.write_row(row)
            target.commit()
            target.autocommit = True
            target.execute("VACUUM ANALYZE")
    finally:
        source.close()
