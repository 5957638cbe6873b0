"""Whether a failed write may pass by waiting, from the database's own error codes.

SQLite names its errors (``sqlite_errorname``, Python 3.11+) and PostgreSQL gives an
SQLSTATE: a busy, locked, read-only or full database, or a lost connection, may recover
(the writer waits and tries again); anything else is the rows' fault (a constraint, a
value the column cannot take) and they are refused.
"""

from __future__ import annotations

__all__ = ("is_transient",)

_SQLITE_TRANSIENT = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_READONLY",
    "SQLITE_CANTOPEN",
)
_SQLITE_TRANSIENT_EXACT = frozenset({"SQLITE_PROTOCOL", "SQLITE_NOMEM", "SQLITE_INTERRUPT"})
_POSTGRES_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
"""Connection exception, rollback (deadlock), insufficient resources, operator intervention, system error."""
_POSTGRES_TRANSIENT = frozenset({"25006", "55P03"})
"""Read-only transaction (a standby), lock not available."""
_SCHEMA_WORDS = ("no such table", "no such column", "syntax error", "has no column")


def is_transient(exc: BaseException, operational: type[BaseException]) -> bool:
    """True when waiting may let the write pass; ``operational`` is the driver's OperationalError."""
    name = getattr(exc, "sqlite_errorname", None)
    if isinstance(name, str):
        return name.startswith(_SQLITE_TRANSIENT) or name in _SQLITE_TRANSIENT_EXACT
    if hasattr(exc, "sqlstate"):  # psycopg
        state = getattr(exc, "sqlstate", None)
        if state is None:
            return isinstance(exc, operational)  # no answer from the server: the connection is gone
        return state.startswith(_POSTGRES_TRANSIENT_CLASSES) or state in _POSTGRES_TRANSIENT
    # Python 3.10's sqlite3 names no error: its OperationalError, less schema problems, may pass.
    if not isinstance(exc, operational):
        return False
    text = str(exc).lower()
    return not any(word in text for word in _SCHEMA_WORDS)
