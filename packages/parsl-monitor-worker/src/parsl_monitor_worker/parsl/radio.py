"""``ZMQRadio``: Parsl's worker-side monitoring messages, straight from the task to the hub.

Parsl's default for HighThroughputExecutor pickles each message into the task's result,
through the interchange, into a router process and onto the monitoring queue. This radio
sends msgpack frames from the task process to the hub over one socket per process, and
tells the node agent (if one runs on the node) to sample the task's processes, so no
process is forked per task.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from typing import TYPE_CHECKING, Any

import msgpack
from parsl.monitoring.radios.base import MonitoringRadioReceiver, MonitoringRadioSender, RadioConfig

from parsl_monitor_core.wire import FIELD_INDEX, HubQueue, MessageKind, pack_message, to_wire
from parsl_monitor_worker.agent_link import TaskKey, link_for
from parsl_monitor_worker.channel import DEFAULT_BUFFER, channel_for
from parsl_monitor_worker.parsl import task_wrapper

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

__all__ = ("ZMQRadio", "ZMQRadioSender")

logger = logging.getLogger(__name__)

_W = FIELD_INDEX[MessageKind.WORKER_TASK_INFO]
_RUN, _TASK, _TRY = _W["run_id"], _W["task_id"], _W["try_id"]
_FIRST, _LAST, _BLOCK = _W["first_msg"], _W["last_msg"], _W["block_id"]
_TIME, _HOST = _W["timestamp"], _W["hostname"]
DEFAULT_INTERVAL = 30.0


class _NoReceiver(MonitoringRadioReceiver):
    """Workers send to the hub directly: nothing to receive on the submit side."""

    def shutdown(self) -> None:
        """The executor is done: the DataFlowKernel gets Parsl's task wrapper back."""
        task_wrapper.uninstall()


class ZMQRadio(RadioConfig):
    """A radio for ``HighThroughputExecutor(remote_monitoring_radio=ZMQRadio())``.

    With ``parsl_monitor_hub.MonitoringHub`` it finds the hub and the sampling interval by
    itself, and turns off Parsl's per-task monitoring processes: resource samples come
    from the node agent (``parsl-monitor-worker``, see the user guide) instead. Its tasks
    get a wrapper serialized once per app (:mod:`parsl_monitor_worker.parsl.task_wrapper`).

    Args:
        hub_url: the hub's ``tcp://host:port``; only needed with another monitoring hub.
        buffer: frames a worker holds while the hub is unreachable before dropping (counted).
    """

    def __init__(self, hub_url: str | None = None, buffer: int = DEFAULT_BUFFER) -> None:
        self.hub_url = hub_url
        self.buffer = buffer
        self.interval = DEFAULT_INTERVAL

    def create_receiver(self, *, run_dir: str, resource_msgs: Queue[Any]) -> MonitoringRadioReceiver:  # noqa: ARG002 - Parsl's signature
        """Learn the hub's URL and interval from our MonitoringHub's queue; hand sampling to node agents.

        Node agents sample this radio's tasks only when our task wrapper is installed (it
        sends no per-task sampling process); if Parsl's wrapper stays in place (it changed
        shape), that wrapper samples each task itself, and the agents are left out.
        """
        hub = resource_msgs if isinstance(resource_msgs, HubQueue) else None
        url = self.hub_url or (hub.url if hub is not None else None)
        if not isinstance(url, str):
            raise ValueError(
                "ZMQRadio sends to a parsl-monitor hub: use parsl_monitor_hub.MonitoringHub, or pass hub_url='tcp://host:port'"
            )
        self.hub_url = url
        if hub is not None:
            self.interval = float(hub.resource_monitoring_interval or 0.0)
        if not task_wrapper.install():
            self.interval = 0.0
        return _NoReceiver()

    def create_sender(self) -> ZMQRadioSender:
        """The sender of this process (Parsl asks for one per message: it is cached)."""
        if self.hub_url is None:
            raise RuntimeError("ZMQRadio.create_sender called before create_receiver")
        return ZMQRadioSender(self.hub_url, self.interval, self.buffer)


class ZMQRadioSender(MonitoringRadioSender):
    """Sends one Parsl message per call; never raises, never blocks."""

    def __init__(self, hub_url: str, interval: float, buffer: int = DEFAULT_BUFFER) -> None:
        self.hub_url = hub_url
        self.interval = interval
        self._channel = channel_for(hub_url, buffer)

    def send(self, message: object) -> None:
        """Forward ``(MessageType, payload)`` to the hub; start or end node sampling for the task."""
        try:
            direct = [
                (kind, values)
                for kind, values in to_wire(message)
                if not (kind == MessageKind.WORKER_TASK_INFO and self._via_agent(values))
            ]
            if direct:
                self._channel.send(direct)
        except Exception:
            logger.exception("monitoring message not sent from pid %d", os.getpid())

    def task_started(self, key: TaskKey, *, sampled: bool = True) -> None:
        """Send the task's first message, through the node agent when there is one (see agent_link).

        ``sampled=False`` (the executor's tasks have no process tree of their own, as
        Parsl's ``monitor_resources()`` says for ThreadPoolExecutor and MPIExecutor): sent
        directly, and no agent samples the task.
        """
        first = _task_message(key, last=False)
        if (
            sampled
            and self.interval > 0
            and link_for().task_started(key, self.hub_url, self.interval, _block_id(), first)
        ):
            return
        self._channel.send_packed([first])

    def task_ended(self, key: TaskKey, *, sampled: bool = True) -> None:
        """Send the task's last message (and its first, if still held), through the agent when it takes them."""
        last = _task_message(key, last=True)
        if sampled and self.interval > 0:
            left = link_for().task_ended(key, self._channel.dropped, self.hub_url, last)
        else:
            left = [last]
        if left:
            self._channel.send_packed(left)

    def _via_agent(self, values: list[Any]) -> bool:
        """Hand a task's first or last message to the node agent; False (send it directly) without one.

        The agent sends it on with the task's samples: half the sends per task.
        """
        if self.interval <= 0 or not (values[_FIRST] or values[_LAST]):
            return False
        link = link_for()
        key = values[_RUN], values[_TASK], values[_TRY]
        packed = pack_message(MessageKind.WORKER_TASK_INFO, values)
        if values[_FIRST]:
            return link.started(key, self.hub_url, self.interval, values[_BLOCK], packed)
        return link.ended(key, self._channel.dropped, self.hub_url, packed)


def _block_id() -> str | None:
    return os.environ.get("PARSL_WORKER_BLOCK_ID")


def _task_message(key: TaskKey, *, last: bool) -> bytes:
    """A task's first or last WORKER_TASK_INFO, as Parsl's wrapper sends it (stamped now), packed."""
    values: list[Any] = [None] * len(_W)
    values[_RUN], values[_TASK], values[_TRY] = key
    values[_TIME] = msgpack.Timestamp.from_unix_nano(time.time_ns())
    values[_HOST] = platform.node()
    values[_BLOCK] = _block_id()
    values[_FIRST] = not last
    values[_LAST] = last
    return pack_message(MessageKind.WORKER_TASK_INFO, values)
