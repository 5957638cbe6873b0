"""A run's nodes (worker pools as the interchange saw them) and blocks (batch jobs), from the node and block tables.

Parsl writes a node row at every change of a worker pool (registration, each task it
takes, a heartbeat gone missing), so a run holds many rows per pool: they are folded here
into one per pool, its newest row's values with its first and last times. Block rows are
one per state a block entered.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from parsl_monitor_core.schema import Block, Node, table_of

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ("BlockRow", "BlockState", "Capacity", "NodeRow", "capacities", "run_blocks", "run_nodes")

NODE = table_of(Node)
BLOCK = table_of(Block)
_EPOCH = datetime.datetime(1970, 1, 1)  # noqa: DTZ001 - times are naive, in the database's zone
ENDED_BLOCK_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED", "MISSING", "TIMEOUT", "SCALED_IN", "HELD"})
"""Block states after which the block holds no workers (Parsl's JobState names)."""


@dataclasses.dataclass(frozen=True)
class NodeRow:
    """One worker pool: where it ran, what it had, and when it was seen. Times are naive, in the database's zone.

    Attributes:
        active: whether the pool was active in its newest row (False: it left, or its
            heartbeats stopped).
        first_seen: its first row; last_seen: its newest row; last_heartbeat: the newest heartbeat recorded.
    """

    hostname: str
    uid: str
    block_id: str
    cores: int
    memory: int
    workers: int
    python: str
    active: bool
    first_seen: datetime.datetime
    last_seen: datetime.datetime
    last_heartbeat: datetime.datetime


@dataclasses.dataclass(frozen=True)
class BlockState:
    """A state a block entered, and when."""

    status: str
    at: datetime.datetime


@dataclasses.dataclass(frozen=True)
class BlockRow:
    """One block of one executor and the states it went through, oldest first."""

    executor: str
    block_id: str
    job_id: str | None
    states: list[BlockState]

    @property
    def status(self) -> str:
        """Its latest state."""
        return self.states[-1].status

    @property
    def ended(self) -> bool:
        """Whether it holds no workers any more."""
        return self.status in ENDED_BLOCK_STATES


@dataclasses.dataclass(frozen=True)
class Capacity:
    """One worker pool's cores and memory from when it registered until it left (None: still there).

    Times are seconds since 1970 in the database's zone (the run model's times).
    """

    hostname: str
    cores: int
    memory: int
    start: float
    end: float | None


def run_nodes(conn: Connection, run_id: str) -> list[NodeRow]:
    """Every worker pool of the run, by host then first appearance: one grouped pass over the run's node rows."""
    n = NODE.c
    folded = (
        select(
            n.uid.label("uid"),
            func.max(n.id).label("newest"),
            func.min(n.timestamp).label("first_seen"),
            func.max(n.timestamp).label("last_seen"),
            func.max(n.last_heartbeat).label("last_heartbeat"),
        )
        .where(n.run_id == run_id)
        .group_by(n.uid)
        .subquery()
    )
    query = (
        select(
            n.hostname,
            n.uid,
            n.block_id,
            n.cpu_count,
            n.total_memory,
            n.worker_count,
            n.python_v,
            n.active,
            folded.c.first_seen,
            folded.c.last_seen,
            folded.c.last_heartbeat,
        )
        .join(folded, n.id == folded.c.newest)
        .order_by(n.hostname, folded.c.first_seen)
    )
    return [NodeRow(*row) for row in conn.execute(query)]


def capacities(nodes: list[NodeRow]) -> list[Capacity]:
    """Each worker pool's cores and memory over the time it was there (the resource charts' capacity)."""
    return [
        Capacity(n.hostname, n.cores, n.memory, _seconds(n.first_seen), None if n.active else _seconds(n.last_seen))
        for n in nodes
    ]


def _seconds(at: datetime.datetime) -> float:
    """A naive database time as seconds since 1970 in the same zone (the run model's times)."""
    return (at - _EPOCH).total_seconds()


def run_blocks(conn: Connection, run_id: str) -> list[BlockRow]:
    """Every block of the run with its states in time order."""
    b = BLOCK.c
    query = (
        select(b.executor_label, b.block_id, b.job_id, b.status, b.timestamp)
        .where(b.run_id == run_id)
        .order_by(b.executor_label, b.block_id, b.timestamp)
    )
    blocks: dict[tuple[str, str], BlockRow] = {}
    for executor, block_id, job_id, status, at in conn.execute(query):
        block = blocks.get((executor, block_id))
        if block is None:
            block = blocks[executor, block_id] = BlockRow(executor, block_id, job_id, [])
        block.states.append(BlockState(status, at))
    return sorted(blocks.values(), key=lambda block: (block.executor, _numeric_first(block.block_id)))


def _numeric_first(block_id: str) -> tuple[int, str]:
    """Block ids are numbers as text: "10" after "9"."""
    return (int(block_id), "") if block_id.isdigit() else (2**63, block_id)
