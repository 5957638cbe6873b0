"""How a task tells the node agent on its node that it started or ended.

Messages are tiny msgpack arrays, one after another on a Unix stream socket at the path
of the agent's ``ipc://`` address (msgpack needs no framing of its own):

- ``["start", run_id, task_id, try_id, pid, hub_url, interval, block_id, first]``
- ``["end", run_id, task_id, try_id, dropped, hub_url, last]``
- ``["ran", run_id, task_id, try_id, pid, hub_url, interval, block_id, dropped, first, last]``

``first`` and ``last`` are the task's packed first and last messages, which the agent
sends on to ``hub_url`` with its samples. Most tasks of a busy workflow are far shorter
than any sampling interval, so the task wrapper announces a start only once the task has
run for ``ANNOUNCE_AFTER``; a task that ends sooner sends one ``ran`` (half the messages,
and the agent takes its final sample as before).

Without an agent on the node (its socket file is absent, or nobody accepts on it) the
agent takes nothing: tasks report their first and last messages to the hub themselves, and
no resource rows are made up.

Why a plain socket and not ZMQ: a ZMQ send hands the message to the context's I/O thread,
which has to wake up for it, and the agent's I/O thread wakes up to read it: two thread
wake-ups per task on a node whose cores the tasks keep busy. A ``send()`` on a connected
socket is one system call in the task's own thread, and the agent reads what gathered
whenever it looks. A send the socket cannot take (the agent is stalled and the kernel's
buffer full) is not taken; one cut part-way closes the connection, so the agent drops the
half message. Either way the task sends its messages to the hub itself.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import socket
import stat
import tempfile
import threading
import time
from pathlib import Path

import msgpack

__all__ = ("AGENT_ENV", "AgentLink", "agent_address", "close_links", "link_for", "private_directory")

logger = logging.getLogger(__name__)

AGENT_ENV = "PARSL_MONITOR_AGENT"
"""Overrides the agent's address (an ``ipc://`` URL) for the agent and the tasks alike."""

ANNOUNCE_AFTER = 0.05
"""Seconds a task runs before the agent hears of its start (then it is sampled every interval)."""

_links: dict[int, AgentLink] = {}

TaskKey = tuple[str, int, int]
"""(run_id, task_id, try_id)"""


@dataclasses.dataclass
class _Running:
    """The task this process runs, and whether the agent has heard of it yet."""

    key: TaskKey
    hub_url: str
    interval: float
    block_id: str | None
    first: bytes
    started: float
    announced: bool = False


def private_directory() -> Path:
    """``$TMPDIR/parsl-monitor-<uid>``, made mode 0700: only this user may reach the agent's socket.

    Announcements carry the hub's address and its keys; in a shared temporary directory
    another user could bind the well-known name first and read them.

    Raises:
        PermissionError: the directory exists but is not this user's own private directory.
    """
    path = Path(tempfile.gettempdir()) / f"parsl-monitor-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{path} is not a directory of this user's only (mode {oct(info.st_mode & 0o777)})")
    return path


def agent_address() -> str:
    """``$PARSL_MONITOR_AGENT``, else one socket per user per node in a private directory.

    Raises:
        PermissionError: see :func:`private_directory`.
    """
    return os.environ.get(AGENT_ENV) or f"ipc://{private_directory() / 'agent'}"


class AgentLink:
    """A connection to the node agent's socket; takes nothing when no agent listens."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._path = address.removeprefix("ipc://")
        self._socket: socket.socket | None = None  # connected on first use, again after a failure
        self._lock = threading.Lock()  # one message at a time: the announcer thread sends too
        self._running: _Running | None = None
        self._wake = threading.Event()
        self._announcer: threading.Thread | None = None
        self._closed = False

    def _present(self) -> bool:
        return self._socket is not None or os.path.exists(self._path)  # noqa: PTH110 - per task: no Path built each time

    def started(self, key: TaskKey, hub_url: str, interval: float, block_id: str | None, forward: bytes) -> bool:
        """Ask the agent to sample this process tree; False when there is no agent to take it.

        The agent also sends ``forward`` (the task's packed first message) on to ``hub_url``.
        """
        run_id, task_id, try_id = key
        with self._lock:
            return self._present() and self._send(
                ["start", run_id, task_id, try_id, os.getpid(), hub_url, interval, block_id, forward]
            )

    def ended(self, key: TaskKey, dropped: int, hub_url: str, forward: bytes) -> bool:
        """Ask for the task's final sample, to stop sampling it, and to forward its packed last message."""
        run_id, task_id, try_id = key
        with self._lock:
            return self._present() and self._send(["end", run_id, task_id, try_id, dropped, hub_url, forward])

    def task_started(self, key: TaskKey, hub_url: str, interval: float, block_id: str | None, first: bytes) -> bool:
        """Note that this process started a task; the agent hears of it after ``ANNOUNCE_AFTER``.

        Returns False when there is no agent (send ``first`` to the hub instead).
        """
        if not self._present():
            return False
        with self._lock:
            self._running = _Running(key, hub_url, interval, block_id, first, time.monotonic())
        if self._announcer is None:
            self._announcer = threading.Thread(target=self._announce_long_tasks, name="agent-announcer", daemon=True)
            self._announcer.start()
        if not self._wake.is_set():
            self._wake.set()
        return True

    def task_ended(self, key: TaskKey, dropped: int, hub_url: str, last: bytes) -> list[bytes]:
        """Tell the agent the task ended; returns the packed messages it did not take (send them to the hub)."""
        run_id, task_id, try_id = key
        with self._lock:
            running, self._running = self._running, None
            if running is None or running.key != key:  # no agent at its start: perhaps there is one now
                taken = self._present() and self._send(["end", run_id, task_id, try_id, dropped, hub_url, last])
                return [] if taken else [last]
            if running.announced:
                return [] if self._send(["end", run_id, task_id, try_id, dropped, hub_url, last]) else [last]
            ran = ["ran", run_id, task_id, try_id, os.getpid(), hub_url, running.interval, running.block_id]
            return [] if self._send([*ran, dropped, running.first, last]) else [running.first, last]

    def _announce_long_tasks(self) -> None:
        """Announce the running task once it has run for ``ANNOUNCE_AFTER``; sleeps while no task starts."""
        while True:
            self._wake.wait()
            self._wake.clear()  # a task starting from now on sets it again: it is looked at next round
            time.sleep(ANNOUNCE_AFTER)
            with self._lock:
                if self._closed:
                    return
                task = self._running
                if task is None or task.announced or time.monotonic() - task.started < ANNOUNCE_AFTER:
                    continue
                run_id, task_id, try_id = task.key
                start = ["start", run_id, task_id, try_id, os.getpid(), task.hub_url, task.interval, task.block_id]
                # Not taken (the agent went away): the task's end sends its first message on.
                task.announced = self._send([*start, task.first])

    def close(self) -> None:
        """Close the connection (what was sent is in the agent's socket already)."""
        with self._lock:
            self._closed = True
            self._disconnect()
        self._wake.set()  # the announcer thread ends

    def _send(self, message: list[object]) -> bool:
        """Send one announcement (the caller holds the lock); False when the agent did not take it whole."""
        if self._closed:
            return False
        data = msgpack.packb(message)
        try:
            if self._socket is None:
                self._socket = self._connect()
            sent = self._socket.send(data, socket.MSG_NOSIGNAL)
        except BlockingIOError:  # the agent's buffer is full: nothing of it was sent
            return False
        except OSError:  # no agent (gone, never there, refusing): try again at the next send
            self._disconnect()
            return False
        if sent < len(data):  # cut: the agent drops an unfinished message when its connection closes
            self._disconnect()
            return False
        return True

    def _connect(self) -> socket.socket:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.setblocking(False)  # a stalled agent's full backlog fails the connect, never waits
        try:
            connection.connect(self._path)
        except OSError:
            connection.close()
            raise
        return connection

    def _disconnect(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def link_for(address: str | None = None) -> AgentLink:
    """This process's link to the node agent."""
    link = _links.get(os.getpid())
    if link is None:
        if address is None:
            try:
                address = agent_address()
            except PermissionError as exc:  # never announce to a socket someone else may own
                logger.warning("no node agent used: %s", exc)
                address = f"ipc://{Path(tempfile.mkdtemp(prefix='parsl-monitor-')) / 'no-agent'}"
        link = _links[os.getpid()] = AgentLink(address)
        atexit.register(close_links)
    return link


def close_links() -> None:
    """Close this process's link to the agent."""
    link = _links.pop(os.getpid(), None)
    if link is not None:
        link.close()
