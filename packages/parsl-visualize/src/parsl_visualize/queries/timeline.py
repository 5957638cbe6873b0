"""The time axis of a run's resource charts, bucketed by the database."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from parsl_visualize.queries._common import STATUS, WORKFLOW
from parsl_visualize.sqltime import epoch

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ("TimeAxis", "time_axis")

BUCKETS = 240


@dataclasses.dataclass(frozen=True)
class TimeAxis:
    """Buckets of equal width from the start of the run, in seconds since 1970 (database zone)."""

    start: float
    width: float
    count: int

    def offsets(self) -> list[float]:
        """Each bucket's start, in seconds since the run began."""
        return [round(i * self.width, 3) for i in range(self.count)]


def time_axis(conn: Connection, run_id: str, buckets: int = BUCKETS, min_width: float = 0.001) -> TimeAxis | None:
    """From the run's start to its end (or newest status while it runs); None for an unknown run.

    At most ``buckets`` buckets, each at least ``min_width`` seconds wide.
    """
    began = epoch(WORKFLOW.c.time_began)
    row = conn.execute(
        select(
            began,
            epoch(WORKFLOW.c.time_completed),
            select(epoch(func.max(STATUS.c.timestamp))).where(STATUS.c.run_id == run_id).scalar_subquery(),
        ).where(WORKFLOW.c.run_id == run_id)
    ).first()
    if row is None:
        return None
    start, completed, newest = row
    end = max(value for value in (start, completed, newest) if value is not None)
    width = max((end - start) / buckets, min_width)
    return TimeAxis(start=start, width=width, count=int((end - start) / width) + 1)
