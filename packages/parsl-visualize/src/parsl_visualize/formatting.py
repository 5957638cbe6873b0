"""Jinja filters: how times and durations read on the pages."""

from __future__ import annotations

import datetime

__all__ = ("FILTERS", "duration_text", "epoch_seconds", "size_text", "time_text")


def time_text(value: datetime.datetime | None) -> str:
    """``2026-11-29 09:12:01``: seconds are enough on a page; blank when unknown."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def duration_text(seconds: float | None) -> str:
    """``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``; blank when unknown."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:  # noqa: PLR2004 - a minute
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:  # noqa: PLR2004 - an hour
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def epoch_seconds(value: datetime.datetime | None, utc: bool) -> float | None:
    """A database time as seconds since 1970, for the browser's clock (naive: UTC, or this host's zone)."""
    if value is None:
        return None
    aware = value.replace(tzinfo=datetime.timezone.utc) if utc else value.astimezone()
    return round(aware.timestamp(), 3)


def size_text(size: int) -> str:
    """``512 bytes``, ``12.3 KiB``, ``4.5 MiB``, ``1.2 GiB``."""
    if size < 1024:  # noqa: PLR2004 - a KiB
        return f"{size} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":  # noqa: PLR2004
            break
    return f"{value:.1f} {unit}"


FILTERS = {"time": time_text, "duration": duration_text, "epoch": epoch_seconds, "filesize": size_text}
