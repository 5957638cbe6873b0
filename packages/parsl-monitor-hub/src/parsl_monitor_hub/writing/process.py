"""The hub's database writer, in a process of its own, fed ready-made rows over ZMQ.

Decoding, validating and building rows take about as much CPU as SQLite's inserts; in
one process they add up, in two they overlap (``docs/benchmarks.md#hub-ingest-sqlite``).
Threads would not do: SQLite releases the GIL for every row it inserts and then waits
for it back behind the receiving thread.

The two talk over a PAIR socket on an ``ipc://`` path in a private temporary directory,
in the messages of :mod:`parsl_monitor_hub.writing.protocol`. The writer dies with the hub:
the kernel sends it SIGTERM when the hub exits, however the hub exits (``PR_SET_PDEATHSIG``),
and it stops after the transaction in progress (whose rows the hub had received).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq

from parsl_monitor_hub.errors import HubError
from parsl_monitor_hub.writing.protocol import Op, Reply, Request, Status, pack, unpack_reply, unpack_request

if TYPE_CHECKING:
    from collections.abc import Callable

    from parsl_monitor_hub.rows import Rows

__all__ = ("GC_THRESHOLDS", "WriterProcess")

logger = logging.getLogger(__name__)

_PARENT_CHECK_MS = 1000
_PR_SET_PDEATHSIG = 1
GC_THRESHOLDS = (200_000, 50, 50)
"""Rows and messages hold no reference cycles; Python's default (a young-generation pass
every 700 new objects) re-scans the batch being built hundreds of times. Measured: the
hub writes 15-20 % more messages per second with these (both processes use them)."""


def send_unless(socket: zmq.Socket[bytes], frame: bytes, check: Callable[[], None]) -> None:
    """Send ``frame``, calling ``check`` (which raises when the peer is gone) while it cannot go.

    Never a blocking send: once the peer has died, libzmq's PAIR socket waits for a new
    one, and pyzmq restarts the call after every signal, so even SIGTERM could not end it.
    The peer can die between a poll that finds room and the send.
    """
    while True:
        try:
            socket.send(frame, zmq.NOBLOCK, copy=False)
        except zmq.Again:
            check()
            socket.poll(_PARENT_CHECK_MS // 10, zmq.POLLOUT)
        else:
            return


class WriterProcess:
    """The hub's side: starts the writer, sends it work, reads its answers."""

    def __init__(self, db_url: str, *, log_file: Path | None, log_level: str) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="parsl-monitor-hub-"))  # mode 0700: only we can connect
        self._context = zmq.Context()
        self.socket = self._context.socket(zmq.PAIR)
        self.socket.setsockopt(zmq.LINGER, 0)
        address = f"ipc://{self._dir / 'writer'}"
        self.socket.bind(address)
        settings = {
            "db_url": db_url,
            "address": address,
            "log_file": str(log_file) if log_file else None,
            "log_level": log_level,
            "parent_pid": os.getpid(),
        }
        # Its own session: a Ctrl-C in the terminal reaches the hub, which then stops it in order.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "parsl_monitor_hub.writing"], stdin=subprocess.PIPE, start_new_session=True
        )
        assert self.process.stdin is not None  # noqa: S101 - set by Popen(stdin=PIPE)
        with self.process.stdin:  # settings on stdin: a PostgreSQL password stays out of `ps`
            self.process.stdin.write(json.dumps(settings).encode())
        self._seq = 0

    def wait_connected(self) -> None:
        """Return once the writer has connected.

        The hub calls this before it listens for senders: with every file descriptor taken
        by senders, libzmq aborts the process when the writer's connection comes in late.

        Raises:
            HubError: the writer has died.
        """
        while not self.socket.poll(_PARENT_CHECK_MS // 10, zmq.POLLOUT):  # a PAIR socket holds nothing unconnected
            self.check_alive()

    def send(self, op: Op, rows: Rows | None = None) -> int:
        """Queue one request; returns its number.

        Raises:
            HubError: the writer has died.
        """
        self._seq += 1
        send_unless(self.socket, pack(Request(self._seq, op, rows)), self.check_alive)
        return self._seq

    def replies(self) -> list[Reply]:
        """Every answer waiting now, oldest first."""
        out: list[Reply] = []
        while True:
            try:
                data = self.socket.recv(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return out
            out.append(unpack_reply(data.buffer))

    def check_alive(self) -> None:
        """Raise when the writer has died: nothing more could be written."""
        code = self.process.poll()
        if code is not None:
            raise HubError(f"the database writer process exited with code {code}; see the hub's log")

    def stop(self) -> None:
        """Ask the writer to finish (everything sent before is written) and wait for it to exit."""
        if self.process.poll() is None:
            self.send(Op.STOP)
            self.process.wait()
        self.close()

    def close(self) -> None:
        """Release the socket and the socket's directory; the writer, if still alive, is killed."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.socket.close()
        self._context.term()
        shutil.rmtree(self._dir, ignore_errors=True)


_orphaned: list[bool] = [False]


def _die_with_parent(parent_pid: int) -> None:
    """Be told (SIGTERM) when the hub exits, even by SIGKILL (Linux's ``PR_SET_PDEATHSIG``; elsewhere, polled)."""

    def orphaned(_signum: int, _frame: object) -> None:
        _orphaned[0] = True

    signal.signal(signal.SIGTERM, orphaned)
    libc_name = ctypes.util.find_library("c")
    if sys.platform.startswith("linux") and libc_name:
        ctypes.CDLL(libc_name, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the hub died before the kernel was told
        _orphaned[0] = True


def _hub_gone(parent_pid: int) -> bool:
    return _orphaned[0] or os.getppid() != parent_pid


def _serve(settings: dict[str, Any]) -> None:
    from parsl_monitor_hub.database import writer_engine
    from parsl_monitor_hub.writing.writer import Writer, one_line

    context = zmq.Context()
    socket = context.socket(zmq.PAIR)
    socket.setsockopt(zmq.LINGER, 2000)  # the last answers reach a live hub before we exit
    socket.connect(settings["address"])
    current = [0]

    def hub_alive() -> None:
        if _hub_gone(settings["parent_pid"]):
            logger.error("the hub process is gone; the database writer stops")
            shutil.rmtree(Path(settings["address"].removeprefix("ipc://")).parent, ignore_errors=True)
            raise SystemExit(0)

    def reply(answer: Reply) -> None:
        send_unless(socket, pack(answer), hub_alive)

    def retrying(reason: str) -> None:
        hub_alive()
        reply(Reply(current[0], Status.RETRYING, reason))  # the delay is in the writer's log line

    writer = Writer(writer_engine(settings["db_url"]), on_retry=retrying)
    skipping = False
    try:
        while True:
            hub_alive()
            if not socket.poll(_PARENT_CHECK_MS // 10):
                continue
            request = unpack_request(socket.recv(copy=False).buffer)
            status, reason = Status.OK, ""
            if request.op is Op.STOP:
                reply(Reply(request.seq, Status.STOPPED, ""))
                return
            if request.op is Op.RESUME:
                skipping = False
                continue
            if skipping:
                status = Status.SKIPPED
            else:
                current[0] = request.seq
                started = time.perf_counter()
                try:
                    writer.execute(request.rows or {})
                except Exception as exc:  # noqa: BLE001 - any failure of these rows is theirs alone: refuse them, live on
                    status, reason, skipping = Status.REFUSED, one_line(exc), request.op is Op.BATCH
                logger.debug(
                    "%s %d: %s %d rows in %.1f ms",
                    request.op.value,
                    request.seq,
                    status.value,
                    sum(map(len, (request.rows or {}).values())),
                    1000 * (time.perf_counter() - started),
                )
            reply(Reply(request.seq, status, reason))
    finally:
        writer.close()
        socket.close()
        context.term()


def main() -> None:
    """Entry point of the writer process (``python -m parsl_monitor_hub.writing``)."""
    import gc

    from parsl_monitor_hub.logs import log_to

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the hub stops us, after its last batch
    settings = json.loads(sys.stdin.read())
    _die_with_parent(settings["parent_pid"])
    log_to(Path(settings["log_file"]) if settings["log_file"] else None, settings["log_level"])
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        _serve(settings)
    except Exception:
        logger.exception("the database writer failed")
        sys.exit(1)
    # Everything is committed and closed. Frozen objects are left out of the interpreter's
    # collection at exit: it took 0.2-0.3 s here (all of SQLAlchemy), and the hub's stop,
    # so the Parsl program's close, waits for this process to end.
    gc.freeze()
