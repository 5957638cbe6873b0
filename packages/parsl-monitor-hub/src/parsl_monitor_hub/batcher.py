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
        self._senders: list[str] = []
        self._since = 0.0

    def add(self, message: Message, sender: str) -> None:
        """Append one message and who sent it; the first one starts the batch's clock."""
        if not self._messages:
            self._since = time.monotonic()
        self._messages.append(message)
        self._senders.append(sender)

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

    @property
    def pending(self) -> int:
        """How many messages wait."""
        return len(self._messages)

    def make_due(self) -> None:
        """Let the waiting messages go at the next check."""
        self._since = time.monotonic() - self.max_delay

    def take(self) -> tuple[list[Message], list[str]]:
        """Hand over at most ``max_size`` waiting messages and their senders; the rest wait for the next take."""
        if len(self._messages) <= self.max_size:
            messages, senders = self._messages, self._senders
            self._messages, self._senders = [], []
        else:  # a frame of many messages goes out in batches like many frames
            messages, senders = self._messages[: self.max_size], self._senders[: self.max_size]
            del self._messages[: self.max_size], self._senders[: self.max_size]
            self.make_due()  # the rest goes out at once
        return messages, senders
