"""Hub settings, and which database URLs the hub can write."""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import TYPE_CHECKING

from parsl_monitor_core.locations import PSYCOPG, database_url
from parsl_monitor_core.wire import MAX_FRAME_BYTES

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ("DB_VARIABLE", "DEFAULT_BIND", "DEFAULT_DB_URL", "HubConfig", "database_url", "shown_url", "unwritable")

DEFAULT_DB_URL = "sqlite:///runinfo/monitoring.db"
"""Parsl's default: ``runinfo/monitoring.db`` under the current directory."""

DEFAULT_BIND = "tcp://127.0.0.1:55055"
"""The user guide's port, on loopback only: exposing the hub is an explicit choice."""


DB_VARIABLE = "PARSL_MONITOR_HUB_DB"
"""The database URL when ``--db`` is not given: how a workflow's own hub gets it, since a
command line (with a PostgreSQL password in it) is readable by every user of the node (``ps``)."""

_WRITABLE = {"sqlite": None, "sqlite+pysqlite": None, PSYCOPG: "psycopg"}
"""URL schemes the hub writes (its statements are SQLite's and PostgreSQL's), and the module each needs."""


def shown_url(url: str) -> str:
    """``url`` with its password as ``***``: for logs and terminals."""
    from sqlalchemy.engine import make_url  # not at import: the CLI parses its arguments first
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def unwritable(url: str) -> str | None:
    """Why the hub cannot write ``url`` (a driver it does not use, or one not installed); None if it can.

    Read from the URL's scheme alone, before the writer process starts: a writer started on
    such a URL would fail too, with a traceback beside the hub's one line.
    """
    scheme = url.partition("://")[0]
    if scheme in _WRITABLE:
        module = _WRITABLE[scheme]
        if module is not None and importlib.util.find_spec(module) is None:
            return f"cannot use {shown_url(url)}: No module named '{module}': pip install 'parsl-monitor-hub[postgres]'"
        return None
    backend, _, driver = scheme.partition("+")
    if backend == "postgresql":
        return (
            f"cannot use {shown_url(url)}: the hub writes PostgreSQL through psycopg 3 "
            f"(postgresql:// or postgresql+psycopg://), not {driver}"
        )
    return f"cannot use {shown_url(url)}: the hub writes SQLite or PostgreSQL, not {backend}"


@dataclasses.dataclass(frozen=True)
class HubConfig:
    """Everything a hub service needs to run.

    Attributes:
        db_url: SQLAlchemy URL of the database to write.
        bind: ZMQ endpoint to listen on; port ``*`` picks a free one.
        any_port_if_busy: fall back to a free port when ``bind``'s port is taken.
        batch_size: write when this many messages are waiting.
        batch_delay: write when the oldest waiting message is this old (seconds).
        max_frame_bytes: frames above this size are refused by the socket, unread.
        stats_interval: seconds between the throughput log lines.
        parent_pid: stop (and finish abnormally ended workflows) when this process is gone.
        log_file: where the writer process logs (the hub's own log); None for standard error.
        log_level: the writer process's log level.
        stop_grace: when stopping, how long the database may go without taking a write
            before the hub gives up on what it holds (counted and reported) and exits.
        keys: CurveZMQ key directory (:mod:`parsl_monitor_hub.keys`); None: plaintext, anyone
            who reaches the port may send.
    """

    db_url: str = DEFAULT_DB_URL
    bind: str = DEFAULT_BIND
    any_port_if_busy: bool = False
    batch_size: int = 20_000
    batch_delay: float = 0.2
    max_frame_bytes: int = MAX_FRAME_BYTES
    stats_interval: float = 10.0
    parent_pid: int | None = None
    log_file: Path | None = None
    log_level: str = "INFO"
    stop_grace: float = 30.0
    keys: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "db_url", database_url(self.db_url))  # one spelling for the hub and its writer
