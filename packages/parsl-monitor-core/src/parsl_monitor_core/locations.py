"""Where a monitoring database is, as users write it: one reading for the hub and the dashboard.

Imports nothing heavy: the hub's command line parses its arguments before SQLModel loads.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ("PSYCOPG", "database_url")

PSYCOPG = "postgresql+psycopg"
"""The PostgreSQL driver of every ``postgres`` extra: psycopg 3 (the hub's COPY is its API)."""

_POSTGRES_WITHOUT_DRIVER = ("postgresql://", "postgres://")


def database_url(location: str) -> str:
    """The SQLAlchemy URL for ``location``: a URL, or a plain file path (taken as SQLite).

    A PostgreSQL URL without a driver (``postgresql://`` as Parsl's documentation writes it,
    ``postgres://`` as many hosting services do) means psycopg 3, not SQLAlchemy's default
    psycopg2, which no extra of ours installs.
    """
    if location.startswith(_POSTGRES_WITHOUT_DRIVER):
        return f"{PSYCOPG}://{location.partition('://')[2]}"
    if "://" in location:
        return location
    return f"sqlite:///{Path(location).expanduser().resolve()}"
