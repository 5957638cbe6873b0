"""Parsl's HighThroughputExecutor interchange, sending its monitoring messages straight to our hub.

    python -m parsl_monitor_hub.parsl.interchange tcp://HOST:PORT    (Parsl's pickled config on stdin)

With an encrypting hub, its keys come in the environment variable
:data:`~parsl_monitor_hub.parsl.htex_launch.ENDPOINT_VARIABLE`, never on the command line.

This is Parsl's own interchange (``parsl.executors.high_throughput.interchange``), run
with two changes, and only when our ``MonitoringHub`` is in use (see :mod:`.htex_launch`):

- Its monitoring radio is a :class:`~parsl_monitor_hub.sender.HubSender`. Parsl's radio
  pickles each message to a router process, which unpickles it and puts it on the monitoring
  queue, so every node record cost a pickle, a ZMQ send, a wake-up and an unpickle in a
  process of its own. Ours appends to a queue that a thread packs to the hub every 50 ms.
- A node record is no longer logged in full (about 3.5 KB with every installed package, two
  per task), formatted whether or not the log level wanted it. At exit the interchange logs
  how many node records it sent and whether the hub confirmed them.

On SIGTERM (how the executor stops the interchange) it waits for the hub to confirm what it
sent, so the last node records of a run are in the database before the executor moves on.
It does the same when the process that started it is gone: Parsl's interchange would run
on without it, and its workers with it, holding a login node's cores (Parsl issue 3663).
"""

from __future__ import annotations

import datetime
import gc
import os
import pickle
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, NoReturn

from parsl.executors.high_throughput import interchange as parsl_interchange
from parsl.monitoring.message_type import MessageType
from parsl.monitoring.radios.base import MonitoringRadioSender

from parsl_monitor_hub.parsl.htex_launch import ENDPOINT_VARIABLE
from parsl_monitor_hub.sender import HubSender

if TYPE_CHECKING:
    from types import FrameType

__all__ = ("CONFIRM_TIMEOUT", "HubRadio", "main")

CONFIRM_TIMEOUT = 8.0
"""How long the interchange waits for the hub at exit; the executor kills it after 10 s."""
PARENT_CHECK = 1.0
"""Seconds between two checks that the Parsl program that started the interchange still runs."""


class HubRadio(MonitoringRadioSender):
    """The interchange's monitoring radio: messages go to a :class:`HubSender`, node records are counted."""

    def __init__(self, url: str) -> None:
        self.node_records = 0
        self._sender = HubSender(url)
        self.url = str(self._sender.endpoint)

    def send(self, message: object) -> None:
        """Queue one ``(MessageType, payload)``: a node record, or a worker's message passed on."""
        if isinstance(message, tuple) and message and message[0] is MessageType.NODE_INFO:
            self.node_records += 1
        self._sender.put(message)

    def close(self) -> bool:
        """Send what is queued and wait for the hub to commit it; True if it confirmed."""
        return self._sender.close(timeout=CONFIRM_TIMEOUT)


def _send_node_info(
    self: parsl_interchange.Interchange, monitoring_radio: MonitoringRadioSender | None, manager: Any
) -> None:
    # Parsl's Interchange._send_monitoring_info, less the eager str.format of the whole record.
    if monitoring_radio:
        record = dict(manager)
        record["timestamp"] = datetime.datetime.now()  # noqa: DTZ005 - Parsl's naive local time, as its interchange sends
        record["last_heartbeat"] = datetime.datetime.fromtimestamp(record["last_heartbeat"])  # noqa: DTZ006 - idem
        record["run_id"] = self.run_id
        monitoring_radio.send((MessageType.NODE_INFO, record))


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> NoReturn:  # noqa: ARG001 - signal handler signature
    raise SystemExit(0)


def _exit_when_orphaned(parent: int) -> None:
    # A program killed with SIGKILL (by hand, or the OOM killer) never stops its interchange.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK)
    parsl_interchange.logger.warning(
        "the Parsl program that started this interchange (pid %d) is gone; exiting", parent
    )
    os.kill(os.getpid(), signal.SIGTERM)  # ends the main loop as the executor's shutdown does


def main(argv: list[str] | None = None) -> None:
    """Run Parsl's interchange with its monitoring radio sending to the hub at ``argv[0]``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit(
            "usage: python -m parsl_monitor_hub.parsl.interchange tcp://HOST:PORT  (Parsl's config pickle on stdin)"
        )
    endpoint = os.environ.pop(ENDPOINT_VARIABLE, "")  # popped: Parsl's processes started from here need it not
    radio = HubRadio(endpoint if endpoint.startswith(f"{args[0]}|") else args[0])
    # Interchange.start() builds its radio by calling this name, with the hub address and port it was given.
    vars(parsl_interchange)["ZMQRadioSender"] = lambda *_, **__: radio
    parsl_interchange.Interchange._send_monitoring_info = _send_node_info  # type: ignore[method-assign]

    from parsl.utils import setproctitle

    setproctitle("parsl: HTEX interchange")
    config = pickle.load(sys.stdin.buffer)  # noqa: S301 - from the executor that started us, as Parsl's interchange does
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), name="parent-watch", daemon=True).start()
    interchange = None
    try:
        interchange = parsl_interchange.Interchange(**config)
        interchange.start()
    finally:
        confirmed = radio.close()
        parsl_interchange.logger.info(
            "Sent %d node records to the monitoring hub at %s (%s)",
            radio.node_records,
            radio.url,
            "all confirmed" if confirmed else "NOT confirmed: the last ones may be missing",
        )
        if interchange is not None:
            # Parsl's interchange dies of SIGTERM with whatever its sockets hold; ours exits, and at
            # exit ZMQ would wait for good to deliver that to a program or a worker pool that is gone.
            interchange.zmq_context.destroy(linger=0)
        # The executor's shutdown waits for this process to end: leave all of Parsl's objects
        # out of the interpreter's collection at exit (about 0.3 s here).
        gc.freeze()


if __name__ == "__main__":
    main()
