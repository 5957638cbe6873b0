"""Real processes to sample and a real ZMQ socket standing where the hub would listen."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest
import zmq

from parsl_monitor_core.wire import decode_frame, validate_message

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from parsl_monitor_core.wire import Message


class FakeHub:
    """A ROUTER socket on a loopback port, decoding what arrives as the hub would."""

    def __init__(self, port: int | None = None) -> None:
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        if port is None:
            self.port = self.socket.bind_to_random_port("tcp://127.0.0.1")
        else:
            self.socket.bind(f"tcp://127.0.0.1:{port}")
            self.port = port
        self.url = f"tcp://127.0.0.1:{self.port}"

    def receive(self, count: int, timeout: float = 10.0) -> list[Message]:
        """At least ``count`` messages, or fail after ``timeout`` seconds."""
        out: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            if not self.socket.poll(max(0, int((deadline - time.monotonic()) * 1000))):
                raise AssertionError(f"got {len(out)} of {count} messages")
            _peer, data = self.socket.recv_multipart()
            out += [validate_message(raw) for raw in decode_frame(data).messages]
        return out

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()


@pytest.fixture(autouse=True)
def _close_process_sockets() -> Iterator[None]:
    """Radios and agents cache one socket per process: close this (pytest) process's after each test."""
    yield
    from parsl_monitor_worker.agent_link import close_links
    from parsl_monitor_worker.channel import close_channels

    close_channels()
    close_links()


@pytest.fixture
def start_hub() -> Iterator[Callable[..., FakeHub]]:
    """``start_hub(port=None)``: a hub on that port (or a free one), closed after the test."""
    started: list[FakeHub] = []

    def start(port: int | None = None) -> FakeHub:
        started.append(FakeHub(port))
        return started[-1]

    yield start
    for fake in started:
        fake.close()


@pytest.fixture
def hub(start_hub: Callable[..., FakeHub]) -> FakeHub:
    return start_hub()


@pytest.fixture
def spawn() -> Iterator[Callable[[str], subprocess.Popen[str]]]:
    """``spawn(code)`` runs Python code in a child process that prints "ready" when set up."""
    started: list[subprocess.Popen[str]] = []

    def start(code: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


HOLD = (
    "import sys, time\nx = bytearray({mb} * 2**20)\nx[::4096] = b'1' * len(x[::4096])\n"
    "print('ready', flush=True)\ntime.sleep(60)"
)
BURN = "import time\nprint('ready', flush=True)\nend = time.time() + 60\nwhile time.time() < end: pass"
PARENT = (
    "import subprocess, sys, time\n"
    "kids = [subprocess.Popen([sys.executable, '-c', {child!r}], stdout=subprocess.PIPE) for _ in range({n})]\n"
    "[k.stdout.readline() for k in kids]\n"
    "print('ready', flush=True)\ntime.sleep(60)"
)


def values(message: Message) -> dict[str, Any]:
    from parsl_monitor_core.wire import PAYLOAD_FIELDS

    return {field.name: message.values[i] for i, field in enumerate(PAYLOAD_FIELDS[message.kind])}


@pytest.fixture
def programs() -> dict[str, str]:
    return {"hold": HOLD, "burn": BURN, "parent": PARENT}


@pytest.fixture
def fields() -> Callable[[Message], dict[str, Any]]:
    return values
