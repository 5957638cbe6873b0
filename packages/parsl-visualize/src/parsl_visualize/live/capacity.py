"""The cores and memory a run's worker pools had over time: the resource charts' capacity line.

A host with several worker pools at once (two blocks on one node) is counted once, with
its largest pool's figures: pools on one host share its cores and memory.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parsl_visualize.live.slots import TimeAxis
    from parsl_visualize.queries.nodes import Capacity

__all__ = ("CapacityOverTime", "capacity_over_time")


@dataclasses.dataclass(frozen=True)
class CapacityOverTime:
    """Per bucket: cores and memory (bytes) of the hosts that held an active worker pool during it."""

    cores: list[float]
    memory: list[float]


def capacity_over_time(pools: list[Capacity], axis: TimeAxis, end: float) -> CapacityOverTime:
    """Capacity per bucket of ``axis``; a pool still there counts until ``end`` (the run's end, or now)."""
    cores = [0.0] * axis.count
    memory = [0.0] * axis.count
    by_host: collections.defaultdict[str, list[Capacity]] = collections.defaultdict(list)
    for pool in pools:
        by_host[pool.hostname].append(pool)
    for host_pools in by_host.values():
        for index in range(axis.count):
            low = axis.start + index * axis.width
            high = low + axis.width
            there = [p for p in host_pools if p.start < high and (end if p.end is None else p.end) >= low]
            if there:
                cores[index] += max(p.cores for p in there)
                memory[index] += max(p.memory for p in there)
    return CapacityOverTime(cores, memory)
