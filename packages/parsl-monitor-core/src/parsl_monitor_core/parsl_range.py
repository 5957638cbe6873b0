"""The Parsl releases parsl-monitor is tested with, and the one warning for any other.

The hub's and the worker's ``parsl`` extras declare the same range (a test checks they
agree with :data:`TESTED`). Parsl releases weekly and pip may install one newer than the
last we tested, or a user may force an older one: monitoring then warns once per process
instead of failing, and each patch of Parsl's internals checks its own shape when installed.
This module does not import Parsl; the fenced modules that do pass its version in.
"""

from __future__ import annotations

import re
import warnings

__all__ = ("TESTED", "UntestedParslWarning", "untested_reason", "warn_if_untested")

TESTED = ("2025.6.30", "2026.10.26")
"""The oldest and the newest Parsl release the test suite runs on (CI runs both)."""

_FLOOR, _NEWEST = (tuple(int(part) for part in bound.split(".")) for bound in TESTED)
_warned: set[str] = set()


class UntestedParslWarning(UserWarning):
    """Parsl's version is outside :data:`TESTED`."""


def _release(version: str) -> tuple[int, ...] | None:
    """``"2026.06.02"`` or ``"2026.6.2"`` as ``(2026, 6, 2)``; None for a form Parsl does not use."""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    return None if match is None else tuple(int(part) for part in match.groups())


def untested_reason(version: str) -> str | None:
    """Why ``version`` of Parsl is outside the tested range, or None when it is inside."""
    release = _release(version)
    span = f"parsl-monitor is tested with Parsl {TESTED[0]} to {TESTED[1]}"
    if release is None:
        return f"Parsl {version!r} is not a release version; {span}"
    if release < _FLOOR:
        return f"Parsl {version} is older than {TESTED[0]}: {span}; monitoring may fail (pip install -U parsl)"
    if release > _NEWEST:
        return (
            f"Parsl {version} is newer than {TESTED[1]}: {span}; it should work, and a changed Parsl internal "
            "is reported by its own warning (a newer parsl-monitor may know this release)"
        )
    return None


def warn_if_untested(version: str) -> None:
    """Warn (once per process and version) when Parsl ``version`` is outside :data:`TESTED`."""
    reason = untested_reason(version)
    if reason is not None and version not in _warned:
        _warned.add(version)
        warnings.warn(reason, UntestedParslWarning, stacklevel=2)
