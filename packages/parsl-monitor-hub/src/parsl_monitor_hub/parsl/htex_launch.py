"""HighThroughputExecutor with our hub: its interchange sends straight to the hub, without Parsl's router.

With Parsl's monitoring, HTEX starts a "monitoring zmq router" process: the interchange
pickles every node record (two per task) to it, and it puts them on the monitoring queue.
With our ``MonitoringHub`` that queue is a :class:`~parsl_monitor_hub.sender.HubSender`
anyway, so the interchange may as well hold one itself. :func:`install` wraps
``HighThroughputExecutor.start`` so that, for an executor whose monitoring queue is one of
our senders and whose ``interchange_launch_cmd`` is Parsl's default, the interchange is
started as ``python -m parsl_monitor_hub.parsl.interchange <hub url>`` and no router process is
started. Any other executor, or any HTEX under Parsl's own monitoring, starts unchanged.
The executor's ``interchange_launch_cmd`` is restored once the interchange runs.

The wrapper also warns, once per executor start, when the workflow samples resources and
the executor's radio is not ``ZMQRadio``: Parsl then forks a sampling process for every
task, which the user may not know they opted into with the one-import switch.

:func:`install` first checks that Parsl still has every name this relies on; if one is
missing (a Parsl that renamed it), it logs one warning and leaves HTEX alone: Parsl's
router then carries the interchange's records, as with Parsl's own monitoring.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from parsl.executors.high_throughput import executor as htex_module
from parsl.executors.high_throughput import interchange as interchange_module

from parsl_monitor_hub.sender import HubSender

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ("ENDPOINT_VARIABLE", "install", "interchange_command", "missing_parsl_names")

logger = logging.getLogger(__name__)

_MARK = "_parsl_monitor_direct"
_RADIO_PACKAGE = "parsl_monitor_worker"
"""Where ``ZMQRadio`` lives (not imported here: the Parsl program may not have the worker package)."""
ENDPOINT_VARIABLE = "PARSL_MONITOR_HUB_ENDPOINT"
"""How the interchange gets the hub's keys: a command line is readable by every user (``ps``)."""
_samples_resources = [False]
"""Whether the running workflow's MonitoringHub samples task resources (set by :func:`install`)."""


def interchange_command(hub_url: str) -> list[str]:
    """The command that starts Parsl's interchange sending to the hub at ``hub_url``."""
    return [sys.executable, "-m", "parsl_monitor_hub.parsl.interchange", hub_url]


class _NoRouter:
    """Stands in for Parsl's router: port 0 still tells the interchange to create its radio (ours)."""

    port = 0

    def close(self) -> None:
        """Nothing runs."""


@contextlib.contextmanager
def _without_router() -> Iterator[None]:
    names = vars(htex_module)  # HTEX.start() calls the module's start_zmq_receiver by name
    original = names["start_zmq_receiver"]
    names["start_zmq_receiver"] = lambda **_: _NoRouter()
    try:
        yield
    finally:
        names["start_zmq_receiver"] = original


@contextlib.contextmanager
def _endpoint_in_environment(packed: str) -> Iterator[None]:
    """The packed endpoint (keys included) for the interchange that HTEX.start() spawns, and only then."""
    os.environ[ENDPOINT_VARIABLE] = packed
    try:
        yield
    finally:
        os.environ.pop(ENDPOINT_VARIABLE, None)


def _warn_if_forking_per_task(executor: Any) -> None:
    radio = getattr(executor, "remote_monitoring_radio", None)
    if _samples_resources[0] and executor.monitor_resources() and not type(radio).__module__.startswith(_RADIO_PACKAGE):
        logger.warning(
            "executor %r: resource monitoring forks a sampling process for every task (Parsl's way; short tasks "
            "run many times slower). For one node agent per node instead, give it remote_monitoring_radio="
            "ZMQRadio() and worker_init='parsl-monitor-worker --daemon' (see docs/user-guide/resources.md), "
            "or set resource_monitoring_enabled=False",
            executor.label,
        )


def _wrap(start: Callable[[Any], None]) -> Callable[[Any], None]:
    @functools.wraps(start)
    def start_direct(executor: Any) -> None:
        _warn_if_forking_per_task(executor)
        sender = executor.monitoring_messages
        launch = executor.interchange_launch_cmd
        if not isinstance(sender, HubSender) or list(launch) != list(htex_module.DEFAULT_INTERCHANGE_LAUNCH_CMD):
            start(executor)
            return
        executor.interchange_launch_cmd = interchange_command(str(sender.endpoint))
        try:
            with _without_router(), _endpoint_in_environment(sender.url):
                start(executor)
        finally:
            executor.interchange_launch_cmd = launch

    setattr(start_direct, _MARK, True)
    return start_direct


def missing_parsl_names() -> list[str]:
    """The Parsl names this module and :mod:`parsl_monitor_hub.parsl.interchange` rely on that this Parsl lacks."""
    wanted = [
        (htex_module, "start_zmq_receiver"),
        (htex_module, "DEFAULT_INTERCHANGE_LAUNCH_CMD"),
        (htex_module, "HighThroughputExecutor"),
        (interchange_module, "ZMQRadioSender"),
        (interchange_module, "Interchange"),
        (getattr(interchange_module, "Interchange", None), "_send_monitoring_info"),
    ]
    return [f"{getattr(owner, '__name__', 'Interchange')}.{name}" for owner, name in wanted if not hasattr(owner, name)]


def install(*, samples_resources: bool = False) -> None:
    """Wrap ``HighThroughputExecutor.start`` (once per process); see the module's docstring.

    ``samples_resources``: the workflow's MonitoringHub samples task resources (enabled, at
    an interval above 0), so Parsl forks a sampler per task unless the radio is ``ZMQRadio``.
    """
    _samples_resources[0] = samples_resources
    missing = missing_parsl_names()
    if missing:
        logger.warning(
            "this Parsl lacks %s: HighThroughputExecutor interchanges send through Parsl's router process "
            "instead of straight to the hub (slower, nothing lost)",
            ", ".join(missing),
        )
        return
    cls = htex_module.HighThroughputExecutor
    if not getattr(cls.start, _MARK, False):
        cls.start = _wrap(cls.start)  # type: ignore[method-assign]
