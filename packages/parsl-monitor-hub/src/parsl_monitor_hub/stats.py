"""Counters of what the hub received, wrote and rejected, logged at a fixed interval."""

from __future__ import annotations

import logging
import time

__all__ = ("HubStats",)

logger = logging.getLogger(__name__)

MAX_REJECTION_LOGS = 100
"""Rejections logged one by one per interval; the rest are only counted, so garbage cannot flood the log."""


class HubStats:
    """Running totals plus the per-interval rates the hub logs."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.received = 0
        self.written = 0
        self.rejected_frames = 0
        self.rejected_messages = 0
        self.retries = 0
        """Transactions the database did not take and the writer tried again."""
        self.refused = 0
        """Connections refused at the CurveZMQ handshake: plaintext, wrong hub key, or a client key not allowed."""
        self._last = (time.monotonic(), 0, 0, 0, 0, 0)
        self._logged_rejections = 0

    @property
    def rejected(self) -> int:
        """Frames and messages refused, together."""
        return self.rejected_frames + self.rejected_messages

    def reject(self, what: str, sender: str, reason: str, *, frame: bool) -> None:
        """Count one refused frame or message and log why (up to a limit per interval)."""
        if frame:
            self.rejected_frames += 1
        else:
            self.rejected_messages += 1
        if self._logged_rejections < MAX_REJECTION_LOGS:
            self._logged_rejections += 1
            logger.warning("rejected %s from %s: %s", what, sender, reason)

    def refuse(self, reason: str) -> None:
        """Count one refused handshake and log why (within the same limit as rejections)."""
        self.refused += 1
        if self._logged_rejections < MAX_REJECTION_LOGS:
            self._logged_rejections += 1
            logger.warning("refused a sender's connection: %s", reason)

    def maybe_log(self, *, force: bool = False) -> bool:
        """Log rates since the last line when the interval has passed; True if it did."""
        now = time.monotonic()
        then, received, written, rejected, retries, refused = self._last
        elapsed = now - then
        if not force and elapsed < self.interval:
            return False
        elapsed = max(elapsed, 1e-9)
        # refusals share the per-interval logging budget with rejections
        suppressed = max(0, self.rejected - rejected + self.refused - refused - self._logged_rejections)
        logger.info(
            "messages/s received %.0f, written %.0f, rejected %.0f (totals %d / %d / %d%s%s%s)",
            (self.received - received) / elapsed,
            (self.written - written) / elapsed,
            (self.rejected - rejected) / elapsed,
            self.received,
            self.written,
            self.rejected,
            f"; {self.retries - retries} database retries" if self.retries > retries else "",
            f"; {self.refused} connections refused" if self.refused else "",
            f"; {suppressed} rejections or refusals not logged one by one" if suppressed else "",
        )
        self._last = (now, self.received, self.written, self.rejected, self.retries, self.refused)
        self._logged_rejections = 0
        return True
