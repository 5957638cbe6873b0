"""Message kinds and the protocol version.

The first six kinds have the numbers of Parsl's ``parsl.monitoring.message_type.MessageType``
so a Parsl message maps to ours by value. Kinds from 32 on are data kinds of ours; kinds
from 64 on are control messages between a sender and the hub, never written to the database.
"""

from enum import IntEnum

__all__ = ("PROTOCOL_VERSION", "MessageKind")

PROTOCOL_VERSION = 1
"""Bumped whenever a frame of the new version would be misread by an old hub."""


class MessageKind(IntEnum):
    """What a message's payload describes."""

    TASK_INFO = 0
    RESOURCE_INFO = 1
    WORKFLOW_INFO = 2
    NODE_INFO = 3
    BLOCK_INFO = 4
    WORKER_TASK_INFO = 5
    NODE_SAMPLE = 32
    """A node agent's periodic sample of one worker node (ours; Parsl has no such message).

    Numbered apart from Parsl's kinds so that a kind Parsl adds later keeps its number here.
    """
    FLUSH = 64
    """Sender -> hub: answer with FLUSHED once everything I sent before is committed.

    Carries how many messages the sender sent before it, so the hub can count what never arrived."""
    FLUSHED = 65
    """Hub -> sender: the answer to FLUSH, carrying the same token and how many of the
    sender's messages the hub has written or rejected, over all its lives (kept in the database)."""
    FLUSH_WAITS = 66
    """Hub -> sender: every FLUSH of this sender waits because the hub cannot write its database
    (the reason; empty once it writes again). Sent to each sender that ever sent a FLUSH, once
    per reason, with the token of its newest FLUSH the hub has read."""
