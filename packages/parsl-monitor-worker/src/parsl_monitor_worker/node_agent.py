"""The node agent: one process per worker node that samples the node and every running task.

Tasks announce themselves through :mod:`parsl_monitor_worker.agent_link` when they start
and end. Every interval the agent samples the node once and each task's process tree
once, and sends RESOURCE_INFO rows (Parsl's fields) and NODE_SAMPLE rows to the hub each
task reported to; a task's end gets a final sample at once. One process for the whole
node instead of one per task.

A run gets a node sample every interval in which it had a task on this node: running at
the sample, or started or ended since the last one. Short tasks are rarely running at the
instant of a sample, and their node must not go unsampled.
"""

from __future__ import annotations

import dataclasses
import datetime
import fcntl
import logging
import os
import selectors
import socket
import time
from pathlib import Path
from typing import Any

import msgpack

from parsl_monitor_core.wire import EncodeError, MessageKind, pack_message, to_wire
from parsl_monitor_worker.channel import channel_for, close_channels
from parsl_monitor_worker.sampler import NodeSampler, sample_tree, sample_trees

__all__ = ("NodeAgent", "Tracked")

logger = logging.getLogger(__name__)

TaskKey = tuple[str, int, int]
"""(run_id, task_id, try_id)"""

MAX_MESSAGES_PER_FRAME = 500
MAX_UNREAD_BYTES = 1 << 20
"""Largest unfinished announcement a connection may hold: more is not a task's (it is closed)."""
ANNOUNCEMENT_PAUSE = 0.01
"""After handling announcements, let more gather before looking again: tasks start and end
in bursts, and a wake-up per announcement cost more than the announcement (a final sample
is at most this late, taken while the worker process still exists)."""


@dataclasses.dataclass
class Tracked:
    """A running task the agent samples."""

    pid: int
    hub_url: str
    interval: float
    block_id: str | None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class NodeAgent:
    """Receives task starts and ends on ``address``; samples every ``interval`` seconds.

    Args:
        address: ``ipc://`` path of the Unix socket the tasks connect to.
        interval: seconds between samples when no task asked for another interval.
        parent_pid: stop once this process is gone and no task is left to sample.
    """

    def __init__(self, address: str, interval: float = 30.0, parent_pid: int | None = None) -> None:
        self.address = address
        self.default_interval = interval
        self.parent_pid = parent_pid
        self.tasks: dict[TaskKey, Tracked] = {}
        self._seen: dict[tuple[str, str], None] = {}  # (hub, run) with a start or end since the last sample
        self._asked_interval: float | None = None  # the latest task's interval, kept between tasks
        self.sampler = NodeSampler()
        self.samples_sent = 0
        self._dropped_by_tasks: dict[int, int] = {}
        self._outbox: list[tuple[str, bytes]] = []  # (hub, packed message) to send at the end of a drain
        self._finals: dict[int, dict[str, Any] | None] | None = None  # during a batch: pid -> its tree, read once
        self._stopping = False
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._readers: dict[socket.socket, msgpack.Unpacker] = {}  # one per task process connected
        self._lock_file: Any = None

    # -- lifecycle -------------------------------------------------------------------------

    def acquire(self, wait: bool) -> bool:
        """Become this node's agent: hold the lock next to the socket, then bind it.

        With ``wait``, a second agent waits as a standby until the first one exits (or its
        own parent does). Returns False when it gave up.
        """
        path = Path(self.address.removeprefix("ipc://") + ".lock")
        self._lock_file = path.open("a")
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or not self._parent_alive():
                    return False
                time.sleep(1.0)
        socket_path = self.address.removeprefix("ipc://")
        Path(socket_path).unlink(missing_ok=True)  # left by an agent that was killed: the lock says none runs now
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(socket_path)
        listener.listen(128)
        listener.setblocking(False)
        self._selector.register(listener, selectors.EVENT_READ)
        self._listener = listener
        logger.info("node agent of %s listening on %s (pid %d)", self.sampler.hostname, self.address, os.getpid())
        return True

    def stop(self) -> None:
        """Ask the loop to end after the current step (signal handlers call this)."""
        self._stopping = True

    def close(self) -> None:
        """Unbind (removing the socket file, so tasks stop announcing) and close channels."""
        self.send_outbox()
        for connection in [*self._readers, *([self._listener] if self._listener else [])]:
            self._selector.unregister(connection)
            connection.close()
        self._readers.clear()
        self._selector.close()
        close_channels()
        if self._listener is not None:
            Path(self.address.removeprefix("ipc://")).unlink(missing_ok=True)
        if self._lock_file is not None:
            self._lock_file.close()

    def _parent_alive(self) -> bool:
        if self.parent_pid is None:
            return True
        try:
            os.kill(self.parent_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    # -- the loop --------------------------------------------------------------------------

    def interval(self) -> float:
        """The shortest interval any running task asked for, else the latest task's, else the default."""
        return min((t.interval for t in self.tasks.values()), default=self._asked_interval or self.default_interval)

    def run(self) -> None:
        """Serve until stopped, or until the parent is gone and nothing is left to sample."""
        next_sample = time.monotonic() + self.interval()
        while not self._stopping:
            timeout = max(0.0, next_sample - time.monotonic())
            if self._selector.select(min(timeout, 1.0)):
                self.drain()
                next_sample = min(next_sample, time.monotonic() + self.interval())  # a task asked for less
                time.sleep(min(ANNOUNCEMENT_PAUSE, max(0.0, next_sample - time.monotonic())))
            if time.monotonic() >= next_sample:
                self.sample_all()
                next_sample = time.monotonic() + self.interval()
            if not self.tasks and not self._parent_alive():
                logger.info("parent %s is gone and no task runs: stopping", self.parent_pid)
                break

    def drain(self) -> None:
        """Handle every announcement waiting, in batches, then send what they produced."""
        while batch := self._receive_batch():
            # Every end of this batch was received before any tree is read, so tasks of one
            # worker process that ended together share one reading of its tree.
            self._finals = {}
            try:
                for message in batch:
                    try:
                        self.handle(message)
                    except Exception:
                        logger.exception("ignored a malformed task announcement")
            finally:
                self._finals = None
            self.send_outbox()

    def _receive_batch(self) -> list[Any]:
        """Accept new task processes, then read what every connection has sent so far."""
        batch: list[Any] = []
        for key, _events in self._selector.select(0):
            connection: socket.socket = key.fileobj  # type: ignore[assignment]
            if connection is self._listener:
                self._accept(batch)
            else:
                self._read(connection, batch)
        return batch

    def _accept(self, batch: list[Any]) -> None:
        """Take new task processes' connections, and what they have sent already."""
        assert self._listener is not None  # noqa: S101 - registered only once bound
        while True:
            try:
                connection, _ = self._listener.accept()
            except BlockingIOError:
                return
            connection.setblocking(False)
            self._selector.register(connection, selectors.EVENT_READ)
            self._readers[connection] = msgpack.Unpacker(max_buffer_size=MAX_UNREAD_BYTES)
            self._read(connection, batch)

    def _read(self, connection: socket.socket, batch: list[Any]) -> None:
        """Whole messages the connection sent; at its end, a cut one is dropped with it."""
        unpacker = self._readers[connection]
        try:
            data = connection.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(connection)
            return
        try:
            unpacker.feed(data)
            for message in unpacker:
                if not isinstance(message, list):
                    raise ValueError(f"a {type(message).__name__}, not an announcement")
                batch.append(message)
        except (msgpack.BufferFull, ValueError) as exc:  # not one of our tasks (an older version's ZMQ, say)
            logger.warning("closed a connection that sent something other than task announcements: %s", exc)
            self._drop(connection)

    def _drop(self, connection: socket.socket) -> None:
        self._selector.unregister(connection)
        del self._readers[connection]
        connection.close()

    def handle(self, message: list[Any]) -> None:
        """Apply one ``start``, ``end`` or ``ran`` announcement (what it sends waits for :meth:`send_outbox`)."""
        if message[0] == "start":
            _, run_id, task_id, try_id, pid, hub_url, interval, block_id, *forward = message
            self.tasks[(run_id, task_id, try_id)] = Tracked(pid, hub_url, float(interval), block_id)
            self._seen[(hub_url, run_id)] = None
            self._asked_interval = float(interval)
            if forward:
                self._outbox.append((hub_url, bytes(forward[0])))
        elif message[0] == "ran":  # a task shorter than the tasks' ANNOUNCE_AFTER: its start and end at once
            _, run_id, task_id, try_id, pid, hub_url, interval, block_id, dropped, first, last = message
            self._seen[(hub_url, run_id)] = None
            self._asked_interval = float(interval)
            self._dropped_by_tasks[pid] = int(dropped)
            self._outbox.append((hub_url, bytes(first)))
            self._send_final(run_id, task_id, try_id, Tracked(pid, hub_url, float(interval), block_id))
            self._outbox.append((hub_url, bytes(last)))
        elif message[0] == "end":
            _, run_id, task_id, try_id, dropped, *forward = message
            tracked = self.tasks.pop((run_id, task_id, try_id), None)
            if tracked is not None:
                self._seen[(tracked.hub_url, run_id)] = None
                self._dropped_by_tasks[tracked.pid] = int(dropped)
                self._send_final(run_id, task_id, try_id, tracked)
            if forward:  # even for a task this agent never saw start: its running time must arrive
                self._outbox.append((forward[0], bytes(forward[1])))
        else:
            raise ValueError(f"unknown announcement {message[0]!r}")

    # -- sampling --------------------------------------------------------------------------

    def _resource(
        self, key: TaskKey, tracked: Tracked, when: datetime.datetime, sample: dict[str, Any] | None
    ) -> Any | None:
        if sample is None:
            return None
        run_id, task_id, try_id = key
        sample.update(
            run_id=run_id,
            task_id=task_id,
            try_id=try_id,
            timestamp=when,
            resource_monitoring_interval=tracked.interval,
            hostname=self.sampler.hostname,
        )
        return to_wire((MessageKind.RESOURCE_INFO, sample))[0]

    def _send_final(self, run_id: str, task_id: int, try_id: int, tracked: Tracked) -> None:
        if self._finals is None:
            tree = sample_tree(tracked.pid)
        elif tracked.pid in self._finals:
            tree = self._finals[tracked.pid]
        else:
            tree = self._finals[tracked.pid] = sample_tree(tracked.pid)
        message = self._resource((run_id, task_id, try_id), tracked, _now(), None if tree is None else dict(tree))
        if message is None:
            return
        try:
            self._outbox.append((tracked.hub_url, pack_message(*message)))
        except EncodeError as exc:
            logger.warning("final sample not sent, cannot encode: %s", exc)
        else:
            self.samples_sent += 1

    def send_outbox(self) -> None:
        """Send final samples and forwarded first and last messages, one frame per hub.

        Tasks start and end in bursts: one frame carries a burst.
        """
        by_hub: dict[str, list[bytes]] = {}
        for hub_url, packed in self._outbox:
            by_hub.setdefault(hub_url, []).append(packed)
        self._outbox.clear()
        for hub_url, messages in by_hub.items():
            for start in range(0, len(messages), MAX_MESSAGES_PER_FRAME):
                channel_for(hub_url).send_packed(messages[start : start + MAX_MESSAGES_PER_FRAME])

    def sample_all(self) -> None:
        """One node sample and one sample per running task, to each task's hub."""
        when = _now()
        node = self.sampler.sample()
        samples = sample_trees(t.pid for t in self.tasks.values())
        by_hub: dict[str, list[Any]] = {}
        runs: dict[str, dict[str, int]] = {}  # hub -> run -> tasks running at the sample
        for hub_url, run_id in self._seen:
            runs.setdefault(hub_url, {})[run_id] = 0
        self._seen.clear()
        for key, tracked in list(self.tasks.items()):
            message = self._resource(key, tracked, when, samples.get(tracked.pid))
            if message is None:  # the process is gone without an end announcement (killed)
                del self.tasks[key]
                continue
            by_hub.setdefault(tracked.hub_url, []).append(message)
            per_run = runs.setdefault(tracked.hub_url, {})
            per_run[key[0]] = per_run.get(key[0], 0) + 1
        for hub_url, run_counts in runs.items():
            channel = channel_for(hub_url)
            dropped = channel.dropped + sum(self._dropped_by_tasks.values())
            for run_id, running in run_counts.items():
                fields = {
                    **node,
                    "run_id": run_id,
                    "timestamp": when,
                    "interval": self.interval(),
                    "tasks_running": running,
                    "messages_dropped": dropped,
                }
                by_hub.setdefault(hub_url, []).append(to_wire((MessageKind.NODE_SAMPLE, fields))[0])
        for hub_url, messages in by_hub.items():
            channel = channel_for(hub_url)
            for start in range(0, len(messages), MAX_MESSAGES_PER_FRAME):
                channel.send(messages[start : start + MAX_MESSAGES_PER_FRAME])
            self.samples_sent += len(messages)
