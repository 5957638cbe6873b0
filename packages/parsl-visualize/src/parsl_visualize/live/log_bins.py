"""Logarithmic histogram bins (four per doubling) for run times, peak memory and CPU time.

A histogram is kept as a count per bin index, so a value that changes moves one count:
a live page's histogram costs what changed, not the run's size.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import collections
    from collections.abc import Iterable

__all__ = ("ZERO_BIN", "bin_edges", "bin_of", "histogram", "shown_bins")

BINS_PER_DOUBLING = 4
ZERO_BIN = -(10**6)
"""The bin of zero (and below): a value the logarithm cannot place."""


def bin_of(value: float) -> int:
    """The bin holding ``value``."""
    return math.floor(BINS_PER_DOUBLING * math.log2(value)) if value > 0 else ZERO_BIN


def bin_edges(index: int) -> tuple[float, float]:
    """The value range of a bin."""
    if index == ZERO_BIN:
        return 0.0, 0.0
    return 2 ** (index / BINS_PER_DOUBLING), 2 ** ((index + 1) / BINS_PER_DOUBLING)


def shown_bins(present: Iterable[int]) -> list[int]:
    """The bins a chart shows for bins holding values: zero first, then every bin between the extremes."""
    present = set(present)
    above = [index for index in present if index != ZERO_BIN]
    return ([ZERO_BIN] if ZERO_BIN in present else []) + (list(range(min(above), max(above) + 1)) if above else [])


def histogram(counts: collections.Counter[int]) -> tuple[list[tuple[float, float]], list[int]]:
    """The shown bins' edges and counts of a count per bin."""
    shown = shown_bins(index for index, n in counts.items() if n)
    return [bin_edges(index) for index in shown], [counts[index] for index in shown]
