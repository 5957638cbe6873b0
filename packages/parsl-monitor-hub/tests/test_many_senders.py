"""A hub serves as many senders as a big run has workers (one ZMQRadio connection each)."""

from __future__ import annotations

import resource
import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from parsl_monitor_core.wire import MessageKind as K
from parsl_monitor_core.wire import decode_frame, encode_frame, validate_message

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import Messages

import zmq

SENDERS = 2000
"""Twice the common soft open-file limit (1024), under which the hub died at about 1,000."""


def test_more_senders_than_the_common_open_file_limit(tmp_path: Path, make: Messages) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 4 * SENDERS
    if soft != resource.RLIM_INFINITY and soft < needed:  # this test's own connections
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, max(hard, needed)))

    def as_users_have_it() -> None:  # the hub starts under a soft limit of 1024, as on most machines
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    db = tmp_path / "monitoring.db"
    hub = subprocess.Popen(
        [sys.executable, "-m", "parsl_monitor_hub", "--db", str(db), "--bind", "tcp://127.0.0.1:*"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_users_have_it,  # noqa: PLW1509 - no threads in this test process yet
    )
    context = zmq.Context()
    context.set(zmq.MAX_SOCKETS, 2 * SENDERS)
    sockets = []
    try:
        assert hub.stdout is not None
        url = hub.stdout.readline().split()[3].rstrip(",")
        for i in range(SENDERS):
            sock = context.socket(zmq.DEALER)
            sock.connect(url)
            sock.send(encode_frame([(K.RESOURCE_INFO, make.resource_info(i, 1)), (K.FLUSH, [i, 1])], f"worker-{i}"))
            sockets.append(sock)
        for answered, sock in enumerate(sockets):
            assert sock.poll(60_000), f"no answer after {answered} senders; hub exit code {hub.poll()}"
            (answer,) = [validate_message(item) for item in decode_frame(sock.recv()).messages]
            assert (answer.kind, answer.get("settled")) == (K.FLUSHED, 1)
        assert hub.poll() is None
    finally:
        for sock in sockets:
            sock.close(linger=0)
        context.term()
        hub.terminate()
        _, err = hub.communicate(timeout=60)
    assert hub.returncode == 0, err
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from resource").fetchone() == (SENDERS,)
        assert conn.execute("select count(*), sum(settled), sum(lost) from parsl_monitor_sender").fetchone() == (
            SENDERS,
            SENDERS,
            0,
        )


HARD_LIMIT = 256
"""A machine whose hard limit the hub cannot raise: room for about 190 senders."""
OVER = 400


def test_senders_beyond_a_hard_limit_wait_their_turn_and_nothing_is_lost(tmp_path: Path, make: Messages) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 4 * OVER:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4 * OVER, max(hard, 4 * OVER)))

    def hard_limited() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (HARD_LIMIT, HARD_LIMIT))

    db, log = tmp_path / "monitoring.db", tmp_path / "hub.log"
    hub = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "parsl_monitor_hub",
            "--db",
            str(db),
            "--bind",
            "tcp://127.0.0.1:*",
            "--log-file",
            str(log),
            "--stats-interval",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=hard_limited,  # noqa: PLW1509 - no threads in this test process yet
    )
    context = zmq.Context()
    context.set(zmq.MAX_SOCKETS, 2 * OVER)
    waiting: dict[int, zmq.Socket[bytes]] = {}
    try:
        assert hub.stdout is not None
        url = hub.stdout.readline().split()[3].rstrip(",")
        for i in range(OVER):
            sock = context.socket(zmq.DEALER)
            sock.connect(url)
            sock.send(encode_frame([(K.RESOURCE_INFO, make.resource_info(i, 1)), (K.FLUSH, [i, 1])], f"worker-{i}"))
            waiting[i] = sock
        first_answers = None
        deadline = time.monotonic() + 120
        while waiting:  # those answered leave, making room for the rest
            assert time.monotonic() < deadline, f"{len(waiting)} senders never answered"
            poller = zmq.Poller()
            for sock in waiting.values():
                poller.register(sock, zmq.POLLIN)
            ready = dict(poller.poll(5000))
            assert hub.poll() is None, "the hub died"
            answered = [i for i, sock in waiting.items() if sock in ready]
            if first_answers is None and answered:
                time.sleep(2)  # all that fit have answered
                answered = [i for i, sock in waiting.items() if sock.poll(0)]
                first_answers = len(answered)
            for i in answered:
                (answer,) = [validate_message(item) for item in decode_frame(waiting[i].recv()).messages]
                assert (answer.kind, answer.get("settled")) == (K.FLUSHED, 1)
                waiting.pop(i).close(linger=0)
        assert first_answers is not None
        assert first_answers < OVER, "every sender fit at once: the test did not reach the limit"
    finally:
        for sock in waiting.values():
            sock.close(linger=0)
        context.term()
        hub.terminate()
        _, err = hub.communicate(timeout=60)
    assert hub.returncode == 0, err
    assert "no room for more senders" in log.read_text()
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from resource").fetchone() == (OVER,)
