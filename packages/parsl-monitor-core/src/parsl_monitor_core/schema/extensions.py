"""Tables we add to Parsl's schema. Adding never changes a Parsl table."""

from __future__ import annotations

import datetime  # noqa: TC003 - SQLModel resolves annotations at class creation

from sqlalchemy import BigInteger, DateTime, Float, Integer, PrimaryKeyConstraint, Text
from sqlmodel import Field, SQLModel

__all__ = ("RUN_ABANDONED", "TIME_ZONE", "NodeSample", "RunEnd", "SchemaVersion", "SenderCount")

RUN_ABANDONED = "abandoned"
"""The end of a run whose program vanished without ending it: the hub filled in its end time."""

TIME_ZONE = "UTC"
"""The zone of every time our hub writes. Parsl writes naive local times instead."""


class SchemaVersion(SQLModel, table=True):
    """One row: which schema version the database holds and who created it.

    A database without this table was written by Parsl's own monitoring (local times).
    """

    __tablename__ = "parsl_monitor_schema"
    version: int = Field(sa_column_kwargs={"autoincrement": False}, sa_type=Integer, primary_key=True)
    written_by: str = Field(sa_type=Text, nullable=False)
    time_zone: str = Field(sa_type=Text, nullable=False)


class NodeSample(SQLModel, table=True):
    """One node agent sample of a worker node, for one run with tasks on it (schema version 2).

    Counters (disk, network) are totals since boot, as psutil reports them: the dashboard
    takes differences. CPU percent is over the interval since the previous sample.
    """

    __tablename__ = "node_sample"
    __table_args__ = (PrimaryKeyConstraint("run_id", "hostname", "timestamp"),)
    run_id: str = Field(sa_type=Text, nullable=False)
    hostname: str = Field(sa_type=Text, nullable=False)
    timestamp: datetime.datetime = Field(sa_type=DateTime, nullable=False)
    interval: float | None = Field(default=None, sa_type=Float)
    cpu_count: int | None = Field(default=None, sa_type=Integer)
    cpu_percent: float | None = Field(default=None, sa_type=Float)
    load_1m: float | None = Field(default=None, sa_type=Float)
    load_5m: float | None = Field(default=None, sa_type=Float)
    load_15m: float | None = Field(default=None, sa_type=Float)
    memory_total: int | None = Field(default=None, sa_type=BigInteger)
    memory_used: int | None = Field(default=None, sa_type=BigInteger)
    memory_available: int | None = Field(default=None, sa_type=BigInteger)
    swap_used: int | None = Field(default=None, sa_type=BigInteger)
    disk_read_bytes: int | None = Field(default=None, sa_type=BigInteger)
    disk_write_bytes: int | None = Field(default=None, sa_type=BigInteger)
    net_sent_bytes: int | None = Field(default=None, sa_type=BigInteger)
    net_recv_bytes: int | None = Field(default=None, sa_type=BigInteger)
    gpu_count: int | None = Field(default=None, sa_type=Integer)
    gpu_utilization: float | None = Field(default=None, sa_type=Float)
    gpu_memory_used: int | None = Field(default=None, sa_type=BigInteger)
    gpu_memory_total: int | None = Field(default=None, sa_type=BigInteger)
    tasks_running: int | None = Field(default=None, sa_type=Integer)
    messages_dropped: int | None = Field(default=None, sa_type=Integer)


class SenderCount(SQLModel, table=True):
    """How many messages of one sender the hub has settled (written or rejected) and lost (schema version 3).

    Updated in the same transaction as the rows, so the count survives a hub crash exactly:
    a sender that sent N messages before a FLUSH, of which the hub settled S, lost N - S.
    """

    __tablename__ = "parsl_monitor_sender"
    sender: str = Field(sa_type=Text, primary_key=True)
    run_id: str | None = Field(default=None, sa_type=Text, index=True)
    """The run of the sender's latest message."""
    settled: int = Field(sa_type=BigInteger, nullable=False)
    lost: int = Field(default=0, sa_type=BigInteger, nullable=False)


class RunEnd(SQLModel, table=True):
    """How a run ended when it did not end itself (schema version 3): see :data:`RUN_ABANDONED`."""

    __tablename__ = "parsl_monitor_run_end"
    run_id: str = Field(sa_type=Text, primary_key=True)
    reason: str = Field(sa_type=Text, nullable=False)
    noted: datetime.datetime = Field(sa_type=DateTime, nullable=False)
