"""Batches on their way to the writer process: counted when written, split when refused.

The hub keeps every batch's messages until the writer answers, so a refused batch can be
written again message by message (one bad message costs only itself), and a FLUSH is
answered only once everything received before it is committed.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, NamedTuple

from parsl_monitor_hub.rows import merge
from parsl_monitor_hub.writing.protocol import Op, Status

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from parsl_monitor_core.wire import Message
    from parsl_monitor_hub.ledger import Ledger, Pending
    from parsl_monitor_hub.receiver import FlushRequest
    from parsl_monitor_hub.rows import RowBuilder, Rows
    from parsl_monitor_hub.stats import HubStats
    from parsl_monitor_hub.writing.process import WriterProcess

__all__ = ("WritePipeline",)

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 2
"""Batches sent and not yet answered: one being written while the next is built."""


class _Sent(NamedTuple):
    """One transaction sent: its messages and their senders, or rows no message stands for."""

    messages: Sequence[Message]
    senders: Sequence[str]
    extra: Rows
    pending: Pending


class WritePipeline:
    """Sends batches to the writer process and settles its answers."""

    def __init__(
        self,
        writer: WriterProcess,
        builder: RowBuilder,
        stats: HubStats,
        ledger: Ledger,
        answer_flush: Callable[[FlushRequest, int], None],
    ) -> None:
        self.writer = writer
        self._builder = builder
        self._stats = stats
        self._ledger = ledger
        self._answer_flush = answer_flush
        self._in_flight: OrderedDict[int, _Sent] = OrderedDict()
        self._flushes: list[tuple[FlushRequest, int]] = []  # (request, last batch it waits for)
        self.problem: str | None = None
        """Why the writer is waiting for the database, while it is (None once a write passed)."""
        self.last_progress = time.monotonic()
        """When the writer last finished a transaction (or the pipeline started)."""

    @property
    def has_room(self) -> bool:
        """True when another batch may be sent now."""
        return len(self._in_flight) < MAX_IN_FLIGHT

    @property
    def waiting_messages(self) -> int:
        """Messages sent to the writer and not yet answered (lost if the hub stops now)."""
        return sum(len(sent.messages) for sent in self._in_flight.values())

    @property
    def idle(self) -> bool:
        """True when every batch sent has been answered."""
        return not self._in_flight

    def submit(self, messages: Sequence[Message], senders: Sequence[str], extra: Rows | None = None) -> None:
        """Send ``messages`` (from ``senders``) and ``extra`` rows to be written in one transaction.

        The ledger's rows go with them: the counts commit exactly when the messages do.
        """
        rows = self._builder.rows(messages)
        if extra:
            merge(rows, extra)
        bookkeeping, pending = self._ledger.rows(senders)
        op = Op.SINGLE if len(messages) <= 1 else Op.BATCH
        seq = self.writer.send(op, merge(rows, bookkeeping))
        self._in_flight[seq] = _Sent(messages, senders, extra or {}, pending)

    def flush_after_sent(self, request: FlushRequest) -> None:
        """Answer ``request`` once everything sent so far is written (now, if it already is)."""
        if self._in_flight:
            self._flushes.append((request, next(reversed(self._in_flight))))
        else:
            self._answer_flush(request, self._stats.written)

    def settle(self) -> None:
        """Take in the writer's answers waiting now; raise if the writer has died."""
        for seq, status, reason in self.writer.replies():
            if status is Status.RETRYING:
                self.problem = reason
                self._stats.retries += 1
                continue
            self.problem = None
            self.last_progress = time.monotonic()
            sent = self._in_flight.pop(seq, None)
            if sent is None or status is Status.SKIPPED:
                continue  # sent again already, when the batch before it was refused
            if status is Status.OK:
                self._ledger.committed(sent.pending)
                self._stats.written += len(sent.messages)
            elif status is Status.REFUSED:
                self._refused(seq, sent, reason)
            # each answer settles the flushes it completes before the next one counts more
            self._answer_due_flushes()
        if self._in_flight:
            self.writer.check_alive()

    def wait(self, timeout_ms: int) -> None:
        """Wait up to ``timeout_ms`` for an answer, then settle."""
        if self.writer.socket.poll(timeout_ms):
            self.settle()
        elif self._in_flight:
            self.writer.check_alive()

    def _refused(self, seq: int, sent: _Sent, reason: str) -> None:
        if len(sent.messages) <= 1:
            self._ledger.not_committed(sent.pending)  # settled all the same: rejected
            if sent.messages:
                message = sent.messages[0]
                self._stats.reject(f"{message.kind.name} message", message.get("run_id") or "?", reason, frame=False)
            else:
                logger.error("the hub's own rows (abandoned runs, message counts) were refused: %s", reason)
            return
        logger.warning("batch of %d refused (%s); writing message by message", len(sent.messages), reason)
        self._ledger.not_committed(sent.pending, resent=sent.senders)
        later = list(self._in_flight.values())  # all sent after the refused one: the writer skips them
        for skipped in later:
            self._ledger.not_committed(skipped.pending, resent=skipped.senders)
        self._in_flight.clear()
        self.writer.send(Op.RESUME)
        for message, sender in zip(sent.messages, sent.senders, strict=True):
            self.submit([message], [sender])
        if sent.extra:
            self.submit([], [], sent.extra)
        for skipped in later:
            self.submit(skipped.messages, skipped.senders, skipped.extra)
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
