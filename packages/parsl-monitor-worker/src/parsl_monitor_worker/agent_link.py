"""How a task tells the node agent on its node that it started or ended.

Messages are tiny msgpack arrays on a PUSH socket to the agent's ``ipc://`` address:

- ``["start", run_id, task_id, try_id, pid, hub_url, interval, block_id]``
- ``["end", run_id, task_id, try_id, dropped]``

Without an agent on the node (its socket file is absent) nothing is sent: tasks still
report their first and last messages to the hub, and no resource rows are made up.
"""

from __future__ import annotations

import atexit
import os
import tempfile
from pathlib import Path

import msgpack
import zmq

__all__ = ("AGENT_ENV", "AgentLink", "agent_address", "close_links", "link_for")

AGENT_ENV = "PARSL_MONITOR_AGENT"
"""Overrides the agent's address (an ``ipc://`` URL) for the agent and the tasks alike."""

_links: dict[int, AgentLink] = {}


def agent_address() -> str:
    """``$PARSL_MONITOR_AGENT``, else one socket per user per node in the temp directory."""
    return os.environ.get(AGENT_ENV) or f"ipc://{Path(tempfile.gettempdir()) / f'parsl-monitor-agent-{os.getuid()}'}"


class AgentLink:
    """A PUSH socket to the node agent; sends nothing when no agent listens."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._path = Path(address.removeprefix("ipc://")) if address.startswith("ipc://") else None
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.PUSH)
        self._socket.setsockopt(zmq.SNDHWM, 1000)
        self._socket.setsockopt(zmq.LINGER, 500)
        self._socket.connect(address)

    def _present(self) -> bool:
        return self._path is None or self._path.exists()

    def started(
        self, key: tuple[str, int, int], hub_url: str, interval: float, block_id: str | None, forward: bytes
    ) -> bool:
        """Ask the agent to sample this process tree; False when there is no agent to take it.

        The agent also sends ``forward`` (the task's packed first message) on to ``hub_url``.
        """
        run_id, task_id, try_id = key
        return self._send(["start", run_id, task_id, try_id, os.getpid(), hub_url, interval, block_id, forward])

    def ended(self, key: tuple[str, int, int], dropped: int, hub_url: str, forward: bytes) -> bool:
        """Ask for the task's final sample, to stop sampling it, and to forward its packed last message."""
        run_id, task_id, try_id = key
        return self._send(["end", run_id, task_id, try_id, dropped, hub_url, forward])

    def close(self) -> None:
        """Close the socket (announcements still queued get half a second)."""
        self._socket.close()
        self._context.term()

    def _send(self, message: list[object]) -> bool:
        if not self._present():
            return False
        try:
            self._socket.send(msgpack.packb(message), zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True


def link_for(address: str | None = None) -> AgentLink:
    """This process's link to the node agent."""
    link = _links.get(os.getpid())
    if link is None:
        link = _links[os.getpid()] = AgentLink(address or agent_address())
        atexit.register(close_links)
    return link


def close_links() -> None:
    """Close this process's link to the agent."""
    link = _links.pop(os.getpid(), None)
    if link is not None:
        link.close()
