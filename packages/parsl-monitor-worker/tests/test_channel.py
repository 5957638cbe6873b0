from __future__ import annotations

import datetime
import socket
import time
from typing import TYPE_CHECKING

from parsl_monitor_core.wire import MessageKind
from parsl_monitor_worker.channel import HubChannel

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import FakeHub


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def message(i: int) -> tuple[int, list[object]]:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (MessageKind.BLOCK_INFO, ["run", "htex", str(i), now, "RUNNING", None])


def test_sending_to_an_absent_hub_never_blocks_and_overflow_is_counted_then_delivered_when_it_comes(
    start_hub: Callable[..., FakeHub],
) -> None:
    port = free_port()
    channel = HubChannel(f"tcp://127.0.0.1:{port}", buffer=50)
    started = time.monotonic()
    outcomes = [channel.send([message(i)]) for i in range(80)]
    assert time.monotonic() - started < 1.0  # 80 sends to nobody: no waiting
    assert outcomes.count(True) >= 50 and channel.dropped == outcomes.count(False) > 0
    hub = start_hub(port)  # the hub comes (back)
    try:
        arrived = hub.receive(outcomes.count(True), timeout=20)
        assert len(arrived) == outcomes.count(True)
    finally:
        channel.close()


def test_many_messages_go_in_one_frame(hub: FakeHub) -> None:
    channel = HubChannel(hub.url)
    assert channel.send([message(i) for i in range(300)])
    assert len(hub.receive(300)) == 300
    channel.close()
