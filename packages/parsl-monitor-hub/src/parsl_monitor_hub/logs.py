"""The hub's log lines: one format for the hub process and its writer process."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ("LOG_FORMAT", "log_to")

LOG_FORMAT = "%(asctime)s.%(msecs)03d %(name)s [%(levelname)s] %(message)s"


def log_to(log_file: Path | None, level: str) -> None:
    """Send this process's log to ``log_file`` (appended; its directory made) or, without one, to stderr."""
    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
