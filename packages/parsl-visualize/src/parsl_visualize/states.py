"""Parsl's task states as the dashboard shows them (names from ``parsl.dataflow.states``)."""

from __future__ import annotations

__all__ = (
    "FAILED_STATES",
    "FINAL_STATES",
    "PATH_RANKS",
    "STATE_COLORS",
    "STATE_ORDER",
    "UNKNOWN_PATH_RANK",
    "path_rank",
    "state_color",
)

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

PATH_RANKS = {state: 2 * position for position, state in enumerate(STATE_ORDER)}
"""Each state's place along one try (:func:`path_rank`): :data:`STATE_ORDER`, every state its own."""
UNKNOWN_PATH_RANK = PATH_RANKS["running"] + 1
"""A state Parsl adds later: after running, before running_ended (states of this rank tie)."""


def path_rank(state: str) -> int:
    """Where ``state`` falls along one try: pending first, launched, running, ..., an ending last.

    A task's newest status is its newest try's furthest state, not its latest timestamp.
    The DataFlowKernel stamps pending, launched, joining and endings; the worker running
    the try stamps running and running_ended, on another clock and thread. With the
    ThreadPoolExecutor, ``running`` is stamped before ``launched`` (Parsl issue 4021); a
    worker node whose clock runs ahead stamps ``running_ended`` after ``exec_done``.
    """
    return PATH_RANKS.get(state, UNKNOWN_PATH_RANK)


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
