"""Parsl's task states as the dashboard shows them (names from ``parsl.dataflow.states``)."""

from __future__ import annotations

__all__ = ("FAILED_STATES", "FINAL_STATES", "STATE_COLORS", "STATE_ORDER", "state_color")

STATE_ORDER = (
    "pending",
    "launched",
    "running",
    "running_ended",
    "joining",
    "fail_retryable",
    "exec_done",
    "memo_done",
    "failed",
    "dep_fail",
)
"""The order states are listed in: the path of a task, then how it ended."""

FINAL_STATES = frozenset({"exec_done", "memo_done", "failed", "dep_fail"})
FAILED_STATES = frozenset({"failed", "dep_fail"})

STATE_COLORS = {
    "pending": "#9e9e9e",
    "launched": "#90caf9",
    "running": "#1e88e5",
    "running_ended": "#7e57c2",
    "joining": "#fdd835",
    "fail_retryable": "#f48fb1",
    "exec_done": "#43a047",
    "memo_done": "#26a69a",
    "failed": "#e53935",
    "dep_fail": "#fb8c00",
}


def state_color(state: str) -> str:
    """The colour of a state in every chart and badge; unknown states are grey."""
    return STATE_COLORS.get(state, "#616161")
