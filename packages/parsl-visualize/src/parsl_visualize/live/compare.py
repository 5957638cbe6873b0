"""Two runs side by side, per app: what changed in counts, failures and time.

A change counts as marked when it is large enough to matter: a time 10 % longer or shorter
(and at least 10 ms, so sub-millisecond noise is not news), or any change in failures.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parsl_visualize.live.model import AppSummary

__all__ = ("AppComparison", "Change", "compare_apps")

RELATIVE = 0.10
ABSOLUTE = 0.010


@dataclasses.dataclass(frozen=True)
class Change:
    """One figure in run A and run B, and whether B is markedly worse (+1), better (-1) or alike (0)."""

    a: float | None
    b: float | None
    verdict: int

    @property
    def percent(self) -> float | None:
        """B's change against A, in percent (None: either unknown, or A is 0)."""
        if self.a is None or self.b is None or not self.a:
            return None
        return 100.0 * (self.b - self.a) / self.a


@dataclasses.dataclass(frozen=True)
class AppComparison:
    """One app in both runs (a figure is None where the app did not run)."""

    app: str
    tasks: Change
    failed: Change
    mean_running: Change
    mean_waiting: Change
    mean_duration: Change


def _time(a: float | None, b: float | None) -> Change:
    if a is None or b is None or abs(b - a) < ABSOLUTE or abs(b - a) < RELATIVE * a:
        return Change(a, b, 0)
    return Change(a, b, 1 if b > a else -1)


def _count(a: int | None, b: int | None, higher_is_worse: bool) -> Change:
    if a is None or b is None or a == b or not higher_is_worse:
        return Change(a, b, 0)
    return Change(a, b, 1 if b > a else -1)


def compare_apps(a: list[AppSummary], b: list[AppSummary]) -> list[AppComparison]:
    """Every app of either run, by name."""
    first, second = {s.app: s for s in a}, {s.app: s for s in b}
    out = []
    for app in sorted(first.keys() | second.keys()):
        x, y = first.get(app), second.get(app)

        def both(name: str, x: AppSummary | None = x, y: AppSummary | None = y) -> tuple[Any, Any]:
            return (None if x is None else getattr(x, name)), (None if y is None else getattr(y, name))

        out.append(
            AppComparison(
                app=app,
                tasks=_count(*both("tasks"), higher_is_worse=False),
                failed=_count(*both("failed"), higher_is_worse=True),
                mean_running=_time(*both("mean_running")),
                mean_waiting=_time(*both("mean_waiting")),
                mean_duration=_time(*both("mean_duration")),
            )
        )
    return out
