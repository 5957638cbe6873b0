"""Which command shows this workflow's dashboard: said once in the program's log when monitoring starts.

Parsl and parsl-visualize both install a ``parsl-visualize`` script, and the last install
wins: reinstalling Parsl silently puts its own dashboard (which needs Flask and pandas)
under the name the user guide gives. ``parsl-monitor-visualize`` is always ours.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

__all__ = ("dashboard_hint",)

_OURS = "parsl_visualize"
_PARSLS = "parsl.monitoring.visualization"


def _entry_point(command: str) -> str | None:
    """Which dashboard a console script on PATH starts: "ours", "parsl", or None (absent or unknown)."""
    path = shutil.which(command)
    if path is None:
        return None
    try:
        head = Path(path).read_text(errors="replace")[:4096]
    except OSError:
        return None
    if _PARSLS in head:
        return "parsl"
    return "ours" if _OURS in head else None


def dashboard_hint(db_url: str | None) -> tuple[int, str]:
    """A log level and a line telling the user how to watch ``db_url`` (None: the hub's own database)."""
    target = f" {db_url}" if db_url else ""
    plain, ours = _entry_point("parsl-visualize"), _entry_point("parsl-monitor-visualize")
    if plain == "ours":
        return logging.INFO, f"watch this workflow with: parsl-visualize{target}"
    if plain == "parsl":
        alternative = (
            f"parsl-monitor-visualize{target}" if ours == "ours" else "pip install --force-reinstall parsl-visualize"
        )
        return (
            logging.WARNING,
            "the parsl-visualize command on PATH is Parsl's own dashboard (installed after parsl-monitor's); "
            f"for this one run: {alternative}",
        )
    if ours == "ours":
        return logging.INFO, f"watch this workflow with: parsl-monitor-visualize{target}"
    return logging.INFO, "to watch this workflow: pip install parsl-visualize, then run parsl-visualize"
