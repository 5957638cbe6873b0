"""Starting the two systems under test: our hub CLI and Parsl's DatabaseManager process."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import zmq

from parsl_monitor_core.wire import (
    HubEndpoint,
    MessageKind,
    decode_frame,
    encode_frame,
    pack_frame,
    pack_message,
    to_wire,
    validate_message,
)
from parsl_monitor_hub.keys import client_keys

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

FRAME = 1000  # messages per frame, as a busy sender batches them


class _Tag:
    """Stands for Parsl's MessageType: the sender reads ``.value``."""

    def __init__(self, value: int) -> None:
        self.value = value


class OurHub:
    """``parsl-monitor-hub`` in its own process, fed by a DEALER socket from this one."""

    def __init__(
        self, db: Path, keys: Path | None = None, url: str | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        """With ``keys``, the hub encrypts (``--keys``) and the socket here is its CurveZMQ client.

        ``url``: write there (PostgreSQL, say) instead of the SQLite file ``db``, beside which the log goes.
        ``env``: the hub's environment (this process's by default).
        """
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "parsl_monitor_hub",
                "--db",
                url or str(db),
                "--bind",
                "tcp://127.0.0.1:*",
                "--log-file",
                str(db.with_suffix(".log")),
                *(["--keys", str(keys)] if keys is not None else []),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().split()[3].rstrip(",")
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.SNDHWM, 0)
        HubEndpoint(self.url, None if keys is None else client_keys(keys)).connect(self.socket)
        self.token = 0

    @staticmethod
    def frames(messages: list[tuple[int, dict[str, Any]]], per_frame: int = FRAME) -> list[bytes]:
        """Pack ahead of time, exactly as the adapter's sender does: the benchmark measures the hub."""
        packed = [pack_message(kind, payload) for k, p in messages for kind, payload in to_wire((_Tag(k), p))]
        return [pack_frame(packed[i : i + per_frame], "bench") for i in range(0, len(packed), per_frame)]

    def send(self, frames: list[bytes]) -> None:
        for frame in frames:
            self.socket.send(frame)

    def flush(self) -> int:
        self.token += 1
        self.socket.send(encode_frame([(MessageKind.FLUSH, [self.token])], "bench"))
        while True:
            (answer,) = [validate_message(item) for item in decode_frame(self.socket.recv()).messages]
            if answer.kind is MessageKind.FLUSHED and answer.get("token") == self.token:
                return int(answer.get("written"))

    def stop(self) -> int:
        self.socket.close(linger=0)
        self.context.term()
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=600)
        return self.process.returncode


class ParslDatabaseManager:
    """Parsl's own DatabaseManager process, fed through its multiprocessing queue, as the DFK feeds it."""

    def __init__(self, db: Path) -> None:
        from parsl.monitoring.db_manager import dbm_starter
        from parsl.multiprocessing import SpawnEvent, SpawnProcess, SpawnQueue

        self.queue: Any = SpawnQueue()
        self.exit_event = SpawnEvent()
        self.process = SpawnProcess(
            target=dbm_starter,
            args=(self.queue,),
            kwargs={
                "db_url": f"sqlite:///{db}",
                "run_dir": str(db.parent),
                "logging_level": logging.INFO,
                "exit_event": self.exit_event,
                "log_config": None,
            },
            daemon=True,
        )
        self.process.start()

    def send(self, messages: list[tuple[int, dict[str, Any]]]) -> None:
        from parsl.monitoring.message_type import MessageType

        for kind, payload in messages:
            self.queue.put((MessageType(kind), payload))

    def wait_written(self, db: Path, table: str, rows: int) -> None:
        """Wait until ``rows`` rows are in ``table``, polling every 0.2 s.

        Setting Parsl's exit event while our queue feeder still holds data livelocks it (its
        draining thread stops at the first moment ``Queue.empty()`` is true), so wait for the
        rows first, then stop it.
        """
        wait_for_rows(db, table, rows, timeout=3600, every=0.2)

    def stop(self) -> None:
        self.exit_event.set()
        self.process.join(60)
        if self.process.is_alive():
            self.process.kill()


def wait_for_rows(db: Path, table: str, at_least: int, timeout: float = 120, every: float = 0.05) -> None:
    import sqlite3

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db) as conn:
                if conn.execute(f"select count(*) from {table}").fetchone()[0] >= at_least:  # noqa: S608
                    return
        except sqlite3.OperationalError:
            pass
        time.sleep(every)
    raise TimeoutError(f"{table} did not reach {at_least} rows")


def count(db: Path, table: str) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"select count(*) from {table}").fetchone()[0])  # noqa: S608
