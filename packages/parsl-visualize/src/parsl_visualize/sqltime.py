"""Times as seconds in SQL (SQLite and PostgreSQL), for the in-memory models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ("epoch",)


class epoch(FunctionElement[float]):  # noqa: N801 - reads like the SQL function it stands for
    """Seconds since 1970 of a naive DateTime column, in the zone it was written in."""

    type = Float()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # julianday keeps the microseconds that strftime('%s') drops.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # extract() answers numeric since PostgreSQL 14, which arrives as Decimal.
    return f"extract(epoch from {compiler.process(element.clauses, **kw)})::float8"
