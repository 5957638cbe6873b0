"""Parsl's seven monitoring tables, column for column.

Names, column order, SQL types, nullability and primary keys are those of
``parsl/monitoring/db_manager.py`` so that Parsl's own tools read our databases and we
read theirs. Times are stored without a zone; rows written by our hub hold UTC (see
:mod:`parsl_monitor_core.schema.extensions`).
"""

from __future__ import annotations

import datetime  # noqa: TC003 - SQLModel resolves annotations at class creation
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlmodel import Field, SQLModel

__all__ = ("PARSL_TABLES", "Block", "Node", "Resource", "Status", "Task", "Try", "Workflow", "table_of")


def table_of(model: type[Any]) -> Table:
    """The SQLAlchemy ``Table`` behind a SQLModel table class (untyped in SQLModel's stubs)."""
    table: Table = model.__table__
    return table


def _of_a_workflow_on_sqlite() -> ForeignKeyConstraint:
    """``run_id`` references ``workflow.run_id`` as in Parsl's schema, created on SQLite only.

    SQLite holds it without enforcing it, and its DDL stays Parsl's byte for byte. On
    PostgreSQL it would be enforced: a trigger's lookup of the workflow row for every status
    and resource row (most of the server's work per row, see docs/benchmarks.md), and rows of
    a run whose workflow row had not arrived refused where SQLite keeps them.
    """
    return ForeignKeyConstraint(["run_id"], ["workflow.run_id"]).ddl_if(dialect="sqlite")


class Workflow(SQLModel, table=True):
    """One row per run of a Parsl program (a DataFlowKernel)."""

    __tablename__ = "workflow"
    run_id: str = Field(sa_type=Text, primary_key=True)
    workflow_name: str | None = Field(default=None, sa_type=Text)
    workflow_version: str | None = Field(default=None, sa_type=Text)
    time_began: datetime.datetime = Field(sa_type=DateTime, nullable=False)
    time_completed: datetime.datetime | None = Field(default=None, sa_type=DateTime)
    host: str = Field(sa_type=Text, nullable=False)
    user: str = Field(sa_type=Text, nullable=False)
    rundir: str = Field(sa_type=Text, nullable=False)
    tasks_failed_count: int = Field(sa_type=Integer, nullable=False)
    tasks_completed_count: int = Field(sa_type=Integer, nullable=False)


class Status(SQLModel, table=True):
    """Every state a task passed through, with when."""

    __tablename__ = "status"
    __table_args__ = (
        PrimaryKeyConstraint("task_id", "run_id", "task_status_name", "timestamp"),
        _of_a_workflow_on_sqlite(),
    )
    task_id: int = Field(sa_type=Integer, nullable=False)
    task_status_name: str = Field(sa_type=Text, nullable=False)
    timestamp: datetime.datetime = Field(sa_type=DateTime, nullable=False)
    run_id: str = Field(sa_type=Text, nullable=False)
    try_id: int = Field(sa_type=Integer, nullable=False)


class Task(SQLModel, table=True):
    """One row per app invocation."""

    __tablename__ = "task"
    __table_args__ = (PrimaryKeyConstraint("task_id", "run_id"),)
    task_id: int = Field(sa_type=Integer, nullable=False)
    run_id: str = Field(sa_type=Text, nullable=False)
    task_depends: str | None = Field(default=None, sa_type=Text)
    task_func_name: str = Field(sa_type=Text, nullable=False)
    task_memoize: str = Field(sa_type=Text, nullable=False)
    task_hashsum: str | None = Field(default=None, sa_type=Text, index=True)
    task_inputs: str | None = Field(default=None, sa_type=Text)
    task_outputs: str | None = Field(default=None, sa_type=Text)
    task_stdin: str | None = Field(default=None, sa_type=Text)
    task_stdout: str | None = Field(default=None, sa_type=Text)
    task_stderr: str | None = Field(default=None, sa_type=Text)
    task_time_invoked: datetime.datetime | None = Field(default=None, sa_type=DateTime)
    task_time_returned: datetime.datetime | None = Field(default=None, sa_type=DateTime)
    task_fail_count: int = Field(sa_type=Integer, nullable=False)
    task_fail_cost: float = Field(sa_type=Float, nullable=False)


class Try(SQLModel, table=True):
    """One row per attempt to run a task (retries make more)."""

    __tablename__ = "try"
    __table_args__ = (PrimaryKeyConstraint("try_id", "task_id", "run_id"),)
    try_id: int = Field(sa_type=Integer, nullable=False)
    task_id: int = Field(sa_type=Integer, nullable=False)
    run_id: str = Field(sa_type=Text, nullable=False)
    block_id: str | None = Field(default=None, sa_type=Text)
    hostname: str | None = Field(default=None, sa_type=Text)
    task_executor: str = Field(sa_type=Text, nullable=False)
    task_try_time_launched: datetime.datetime | None = Field(default=None, sa_type=DateTime)
    task_try_time_running: datetime.datetime | None = Field(default=None, sa_type=DateTime)
    task_try_time_returned: datetime.datetime | None = Field(default=None, sa_type=DateTime)
    task_fail_history: str | None = Field(default=None, sa_type=Text)
    task_joins: str | None = Field(default=None, sa_type=Text)


class Node(SQLModel, table=True):
    """A worker pool (manager) as the interchange saw it; a new row at every change."""

    __tablename__ = "node"
    id: int | None = Field(default=None, sa_type=Integer, primary_key=True)
    run_id: str = Field(sa_type=Text, nullable=False)
    hostname: str = Field(sa_type=Text, nullable=False)
    uid: str = Field(sa_type=Text, nullable=False)
    block_id: str = Field(sa_type=Text, nullable=False)
    cpu_count: int = Field(sa_type=Integer, nullable=False)
    total_memory: int = Field(sa_type=BigInteger, nullable=False)
    active: bool = Field(sa_type=Boolean, nullable=False)
    worker_count: int = Field(sa_type=Integer, nullable=False)
    python_v: str = Field(sa_type=Text, nullable=False)
    timestamp: datetime.datetime = Field(sa_type=DateTime, nullable=False)
    last_heartbeat: datetime.datetime = Field(sa_type=DateTime, nullable=False)


class Block(SQLModel, table=True):
    """A block (batch job) status as the job status poller saw it."""

    __tablename__ = "block"
    __table_args__ = (PrimaryKeyConstraint("run_id", "block_id", "executor_label", "timestamp"),)
    run_id: str = Field(sa_type=Text, nullable=False)
    executor_label: str = Field(sa_type=Text, nullable=False)
    block_id: str = Field(sa_type=Text, nullable=False)
    job_id: str | None = Field(default=None, sa_type=Text)
    timestamp: datetime.datetime = Field(sa_type=DateTime, nullable=False)
    status: str = Field(sa_type=Text, nullable=False)


class Resource(SQLModel, table=True):
    """A resource sample of one try's process tree."""

    __tablename__ = "resource"
    __table_args__ = (PrimaryKeyConstraint("try_id", "task_id", "run_id", "timestamp"), _of_a_workflow_on_sqlite())
    try_id: int = Field(sa_type=Integer, nullable=False)
    task_id: int = Field(sa_type=Integer, nullable=False)
    run_id: str = Field(sa_type=Text, nullable=False)
    timestamp: datetime.datetime = Field(sa_type=DateTime, nullable=False)
    resource_monitoring_interval: float | None = Field(default=None, sa_type=Float)
    psutil_process_pid: int | None = Field(default=None, sa_type=Integer)
    psutil_process_memory_percent: float | None = Field(default=None, sa_type=Float)
    psutil_process_children_count: float | None = Field(default=None, sa_type=Float)
    psutil_process_time_user: float | None = Field(default=None, sa_type=Float)
    psutil_process_time_system: float | None = Field(default=None, sa_type=Float)
    psutil_process_memory_virtual: float | None = Field(default=None, sa_type=Float)
    psutil_process_memory_resident: float | None = Field(default=None, sa_type=Float)
    psutil_process_disk_read: float | None = Field(default=None, sa_type=Float)
    psutil_process_disk_write: float | None = Field(default=None, sa_type=Float)
    psutil_process_status: str | None = Field(default=None, sa_type=Text)
    psutil_cpu_num: str | None = Field(default=None, sa_type=Text)
    psutil_process_num_ctx_switches_voluntary: float | None = Field(default=None, sa_type=Float)
    psutil_process_num_ctx_switches_involuntary: float | None = Field(default=None, sa_type=Float)


PARSL_TABLES = (Workflow, Task, Try, Status, Resource, Node, Block)
"""In creation order (``workflow`` first: others reference it)."""
