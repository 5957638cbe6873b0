"""How many messages of each sender the hub has settled, so a sender learns exactly what it lost.

A message is *settled* once the hub has written it or rejected it (a malformed message,
a row the database refused). Each batch's transaction adds its messages to their senders'
counts in ``parsl_monitor_sender``, so after a crash of the hub or of its writer the
database still says exactly which messages were written. A sender's FLUSH carries how many
messages it sent before it: the difference is what never arrived (in a killed hub's
memory, in a dropped connection), recorded as ``lost`` and told to the sender.
"""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select

from parsl_monitor_core.schema import SenderCount, table_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import Engine

    from parsl_monitor_hub.rows import Rows

__all__ = ("Ledger", "Pending")

logger = logging.getLogger(__name__)


class Pending(NamedTuple):
    """What one transaction adds to the ledger, confirmed or given back once the writer answers."""

    settled: collections.Counter[str]
    lost: dict[str, int]


class Ledger:
    """Settled and lost counts per sender: committed ones, and rejections not yet written."""

    def __init__(self, settled: dict[str, int] | None = None) -> None:
        self.settled: dict[str, int] = dict(settled or {})
        """What the database holds, plus what the writer has confirmed since."""
        self._rejected: collections.Counter[str] = collections.Counter()
        self._lost: dict[str, int] = {}
        self._unwritten_lost: dict[str, int] = {}
        self._run_of: dict[str, str] = {}

    @classmethod
    def read(cls, engine: Engine) -> Ledger:
        """The counts a database holds (of every hub that wrote it before)."""
        table = table_of(SenderCount)
        with engine.connect() as conn:
            rows = conn.execute(select(table.c.sender, table.c.settled, table.c.lost)).all()
        ledger = cls({sender: settled for sender, settled, _lost in rows})
        ledger._lost = {sender: lost for sender, _settled, lost in rows}
        return ledger

    @property
    def known(self) -> dict[str, str]:
        """Senders whose run is known (looked up per message: keep it a plain dict)."""
        return self._run_of

    def saw(self, sender: str, run_id: object) -> None:
        """Remember the run a sender's latest message was about (the run its losses count against)."""
        if isinstance(run_id, str):
            self._run_of[sender] = run_id

    def rejected(self, sender: str, count: int = 1) -> None:
        """Messages of ``sender`` the hub refused: settled, written with the next batch."""
        self._rejected[sender] += count

    def rows(self, senders: Iterable[str]) -> tuple[Rows, Pending]:
        """The bookkeeping rows for a batch of messages from ``senders`` (plus rejections and losses waiting).

        Returns:
            The rows, and what they add (settle it with :meth:`committed` or :meth:`not_committed`).
        """
        counts = collections.Counter(senders)
        counts.update(self._rejected)
        self._rejected.clear()
        lost, self._unwritten_lost = self._unwritten_lost, {}
        out: Rows = {}
        if counts:
            out["sender_settled"] = [(s, self._run_of.get(s), n, 0) for s, n in counts.items()]
        if lost:
            out["sender_lost"] = [(s, self._run_of.get(s), 0, n) for s, n in lost.items()]
        return out, Pending(counts, lost)

    def committed(self, pending: Pending) -> None:
        """The writer confirmed a transaction that added ``pending``."""
        for sender, n in pending.settled.items():
            self.settled[sender] = self.settled.get(sender, 0) + n

    def not_committed(self, pending: Pending, *, resent: Iterable[str] = ()) -> None:
        """A transaction was refused: its counts go into the next one, except those of messages ``resent``."""
        self._rejected.update(pending.settled)
        self._rejected.subtract(resent)
        self._rejected = +self._rejected  # drop zeros
        for sender, n in pending.lost.items():
            self._unwritten_lost[sender] = max(n, self._unwritten_lost.get(sender, 0))

    def answer(self, sender: str, sent: int | None) -> int:
        """What a FLUSH is answered: the sender's settled count; a shortfall is recorded as lost.

        Rejections not yet written count as settled: they are, and will be in the next write.
        """
        settled = self.settled.get(sender, 0) + self._rejected.get(sender, 0)
        if sent is not None and sent > settled:
            lost = sent - settled
            if lost > self._lost.get(sender, 0):
                logger.error(
                    "%d of the %d messages %s sent never arrived (lost in a dropped connection or a hub that died)",
                    lost,
                    sent,
                    sender,
                )
                self._lost[sender] = self._unwritten_lost[sender] = lost
        return settled

    @property
    def has_unwritten(self) -> bool:
        """True when rejections or losses wait to be written."""
        return bool(self._rejected or self._unwritten_lost)

    def lost(self) -> dict[str, int]:
        """Messages lost per sender, over every life of the hub on this database."""
        return {sender: n for sender, n in self._lost.items() if n}
