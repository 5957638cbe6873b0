"""Batches on their way to the writer process: counted when written, split when refused.

The hub keeps every batch's messages until the writer answers, so a refused batch can be
written again message by message (one bad message costs only itself), and a FLUSH is
answered only once everything received before it is committed.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

from parsl_monitor_hub.writer_process import BATCH, OK, REFUSED, RESUME, SINGLE, SKIPPED

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from parsl_monitor_core.wire import Message
    from parsl_monitor_hub.receiver import FlushRequest
    from parsl_monitor_hub.rows import RowBuilder, Rows
    from parsl_monitor_hub.stats import HubStats
    from parsl_monitor_hub.writer_process import WriterProcess

__all__ = ("WritePipeline",)

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 2
"""Batches sent and not yet answered: one being written while the next is built."""


class WritePipeline:
    """Sends batches to the writer process and settles its answers."""

    def __init__(
        self,
        writer: WriterProcess,
        builder: RowBuilder,
        stats: HubStats,
        answer_flush: Callable[[FlushRequest, int], None],
    ) -> None:
        self.writer = writer
        self._builder = builder
        self._stats = stats
        self._answer_flush = answer_flush
        # seq -> the messages it writes, or for rows no message stands for, those rows
        self._in_flight: OrderedDict[int, Sequence[Message] | Rows] = OrderedDict()
        self._flushes: list[tuple[FlushRequest, int]] = []  # (request, last batch it waits for)

    @property
    def has_room(self) -> bool:
        """True when another batch may be sent now."""
        return len(self._in_flight) < MAX_IN_FLIGHT

    @property
    def idle(self) -> bool:
        """True when every batch sent has been answered."""
        return not self._in_flight

    def submit(self, messages: Sequence[Message]) -> None:
        """Send ``messages`` to be written in one transaction."""
        op = SINGLE if len(messages) == 1 else BATCH
        self._in_flight[self.writer.send(op, self._builder.rows(messages))] = messages

    def submit_rows(self, rows: Rows) -> None:
        """Send rows that no message stands for (marking abandoned workflows)."""
        self._in_flight[self.writer.send(SINGLE, rows)] = rows

    def flush_after_sent(self, request: FlushRequest) -> None:
        """Answer ``request`` once everything sent so far is written (now, if it already is)."""
        if self._in_flight:
            self._flushes.append((request, next(reversed(self._in_flight))))
        else:
            self._answer_flush(request, self._stats.written)

    def settle(self) -> None:
        """Take in the writer's answers waiting now; raise if the writer has died."""
        for seq, status, reason in self.writer.replies():
            sent = self._in_flight.pop(seq, None)
            if sent is None or status == SKIPPED:
                continue  # sent again already, when the batch before it was refused
            if isinstance(sent, dict):
                if status == REFUSED:
                    logger.error("marking abandoned workflows failed: %s", reason)
            elif status == OK:
                self._stats.written += len(sent)
            elif status == REFUSED:
                self._refused(seq, sent, reason)
        self._answer_due_flushes()
        if self._in_flight:
            self.writer.check_alive()

    def wait(self, timeout_ms: int) -> None:
        """Wait up to ``timeout_ms`` for an answer, then settle."""
        if self.writer.socket.poll(timeout_ms):
            self.settle()
        elif self._in_flight:
            self.writer.check_alive()

    def _refused(self, seq: int, messages: Sequence[Message], reason: str) -> None:
        if len(messages) == 1:
            message = messages[0]
            self._stats.reject(f"{message.kind.name} message", message.get("run_id") or "?", reason, frame=False)
            return
        logger.warning("batch of %d refused (%s); writing message by message", len(messages), reason)
        later = list(self._in_flight.items())  # all sent after the refused one: the writer skips them
        self._in_flight.clear()
        self.writer.send(RESUME)
        for message in messages:
            self.submit([message])
        for _skipped, sent in later:
            if isinstance(sent, dict):
                self.submit_rows(sent)
            else:
                self.submit(sent)
        last = next(reversed(self._in_flight))
        self._flushes = [(request, last if waits_for >= seq else waits_for) for request, waits_for in self._flushes]

    def _answer_due_flushes(self) -> None:
        if not self._flushes:
            return
        oldest = next(iter(self._in_flight), None)
        due = [request for request, waits_for in self._flushes if oldest is None or waits_for < oldest]
        if due:
            self._flushes = [(request, waits_for) for request, waits_for in self._flushes if request not in due]
            for request in due:
                self._answer_flush(request, self._stats.written)
