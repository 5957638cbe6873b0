"""Collecting messages until a write is due, by count or by age."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parsl_monitor_core.wire import Message

__all__ = ("Batcher",)


class Batcher:
    """Holds messages in arrival order; a batch is due when it is big enough or old enough."""

    def __init__(self, max_size: int, max_delay: float) -> None:
        self.max_size = max_size
        self.max_delay = max_delay
        self._messages: list[Message] = []
        self._since = 0.0

    def add(self, message: Message) -> None:
        """Append one message; the first one starts the batch's clock."""
        if not self._messages:
            self._since = time.monotonic()
        self._messages.append(message)

    def full(self) -> bool:
        """True when the batch has reached its size: take no more before writing it."""
        return len(self._messages) >= self.max_size

    def due(self) -> bool:
        """True when the batch should be written now."""
        return len(self._messages) >= self.max_size or (
            bool(self._messages) and time.monotonic() - self._since >= self.max_delay
        )

    def seconds_until_due(self) -> float:
        """How long the caller may wait for more messages before writing."""
        if not self._messages:
            return self.max_delay
        return max(0.0, self.max_delay - (time.monotonic() - self._since))

    def take(self) -> list[Message]:
        """Hand over the waiting messages and start an empty batch."""
        messages, self._messages = self._messages, []
        return messages
