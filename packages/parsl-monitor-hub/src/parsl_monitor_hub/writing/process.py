"""The hub's database writer, in a process of its own, fed ready-made rows over ZMQ.

Decoding, validating and building rows take about as much CPU as SQLite's inserts; in
one process they add up, in two they overlap (``docs/benchmarks.md#hub-ingest-sqlite``).
Threads would not do: SQLite releases the GIL for every row it inserts and then waits
for it back behind the receiving thread.

Protocol, over a PAIR socket on an ``ipc://`` path in a private temporary directory:
the hub sends msgpack ``[seq, op, rows]`` and the writer answers ``[seq, status, reason]``.

- ``batch``: rows of several messages in one transaction. When the database refuses
  it, the writer answers ``refused`` and answers ``skipped`` to every batch after it,
  untouched, until ``resume``: the hub then sends the refused batch's messages one by
  one, and the skipped batches again, so the order of writes is kept.
- ``single``: the rows of one message; a refusal is answered and nothing is skipped.
- ``resume``: no answer.  ``stop``: answered ``stopped``; the writer then exits.
"""

from __future__ import annotations

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

import msgpack
import zmq

from parsl_monitor_hub.errors import HubError

if TYPE_CHECKING:
    from parsl_monitor_hub.rows import Rows

__all__ = ("WriterProcess",)

logger = logging.getLogger("parsl_monitor_hub.writer_process")  # not __main__ when run with -m

BATCH, SINGLE, RESUME, STOP = "batch", "single", "resume", "stop"
OK, REFUSED, SKIPPED, STOPPED = "ok", "refused", "skipped", "stopped"
_PARENT_CHECK_MS = 1000
GC_THRESHOLDS = (200_000, 50, 50)
"""Rows and messages hold no reference cycles; Python's default (a young-generation pass
every 700 new objects) re-scans the batch being built hundreds of times. Measured: the
hub writes 15-20 % more messages per second with these (both processes use them)."""


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
            [sys.executable, "-m", "parsl_monitor_hub.writer_process"], stdin=subprocess.PIPE, start_new_session=True
        )
        assert self.process.stdin is not None  # noqa: S101 - set by Popen(stdin=PIPE)
        with self.process.stdin:  # settings on stdin: a PostgreSQL password stays out of `ps`
            self.process.stdin.write(json.dumps(settings).encode())
        self._seq = 0

    def send(self, op: str, rows: Rows | None = None) -> int:
        """Queue one request; returns its number.

        ZMQ buffers it, so this waits only until the writer has connected (at start-up).

        Raises:
            HubError: the writer has died.
        """
        while not self.socket.poll(_PARENT_CHECK_MS // 10, zmq.POLLOUT):  # a PAIR socket holds nothing unconnected
            self.check_alive()
        self._seq += 1
        self.socket.send(msgpack.packb((self._seq, op, rows), use_bin_type=True), copy=False)
        return self._seq

    def replies(self) -> list[tuple[int, str, str]]:
        """Every answer waiting now, oldest first."""
        out: list[tuple[int, str, str]] = []
        while True:
            try:
                data = self.socket.recv(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return out
            seq, status, reason = msgpack.unpackb(data.buffer)
            out.append((seq, status, reason))

    def check_alive(self) -> None:
        """Raise when the writer has died: nothing more could be written."""
        code = self.process.poll()
        if code is not None:
            raise HubError(f"the database writer process exited with code {code}; see the hub's log")

    def stop(self) -> None:
        """Ask the writer to finish (everything sent before is written) and wait for it to exit."""
        if self.process.poll() is None:
            self.send(STOP)
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


def _serve(settings: dict[str, Any]) -> None:
    from parsl_monitor_hub.database import writer_engine
    from parsl_monitor_hub.writer import Writer, one_line

    writer = Writer(writer_engine(settings["db_url"]))
    context = zmq.Context()
    socket = context.socket(zmq.PAIR)
    socket.setsockopt(zmq.LINGER, 2000)  # the last answers reach a live hub before we exit
    socket.connect(settings["address"])
    skipping = False
    try:
        while True:
            if not socket.poll(_PARENT_CHECK_MS):
                if os.getppid() != settings["parent_pid"]:
                    logger.error("the hub process is gone; the database writer stops")
                    shutil.rmtree(Path(settings["address"].removeprefix("ipc://")).parent, ignore_errors=True)
                    return
                continue
            seq, op, rows = msgpack.unpackb(socket.recv(copy=False).buffer, use_list=False)
            status, reason = OK, ""
            if op == STOP:
                socket.send(msgpack.packb((seq, STOPPED, "")))
                return
            if op == RESUME:
                skipping = False
                continue
            if skipping:
                status = SKIPPED
            else:
                started = time.perf_counter()
                try:
                    writer.execute(rows)
                except Exception as exc:  # noqa: BLE001 - any failure of these rows is theirs alone: refuse them, live on
                    status, reason, skipping = REFUSED, one_line(exc), op == BATCH
                logger.debug(
                    "%s %d: %s %d rows in %.1f ms",
                    op,
                    seq,
                    status,
                    sum(map(len, rows.values())),
                    1000 * (time.perf_counter() - started),
                )
            socket.send(msgpack.packb((seq, status, reason)))
    finally:
        writer.close()
        socket.close()
        context.term()


def main() -> None:
    """Entry point of the writer process (``python -m parsl_monitor_hub.writer_process``)."""
    import gc

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the hub stops us, after its last batch
    settings = json.loads(sys.stdin.read())
    handler: logging.Handler = (
        logging.FileHandler(settings["log_file"]) if settings["log_file"] else logging.StreamHandler(sys.stderr)
    )
    from parsl_monitor_hub.cli import LOG_FORMAT

    handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(settings["log_level"])
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        _serve(settings)
    except Exception:
        logger.exception("the database writer failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
