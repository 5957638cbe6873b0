"""``MonitoringHub``: the one-import switch from Parsl's monitoring to ours.

``from parsl_monitor_hub import MonitoringHub`` instead of
``from parsl.monitoring.monitoring import MonitoringHub``; the configuration stays as the
Parsl user guide shows it. Only this module and the two it uses for HighThroughputExecutor
(``htex_launch``, ``interchange``) import Parsl.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parsl.monitoring.monitoring import MonitoringHub as _ParslMonitoringHub

from parsl_monitor_core.wire import HubEndpoint
from parsl_monitor_hub import keys
from parsl_monitor_hub.config import shown_url
from parsl_monitor_hub.dashboard_hint import dashboard_hint
from parsl_monitor_hub.embedded import EmbeddedHub
from parsl_monitor_hub.parsl import htex_launch
from parsl_monitor_hub.sender import HubSender
from parsl_monitor_hub.watch import HubWatch

if TYPE_CHECKING:
    from parsl.logconfigs.base import LogConfig

__all__ = ("DEFAULT_HUB_PORT", "MonitoringHub")

logger = logging.getLogger(__name__)

DEFAULT_HUB_PORT = 55055
SHARED_HUB_CONFIRM_TIMEOUT = 300.0
"""How long close() waits for a shared hub (``hub_url``) to confirm before giving up."""
DATABASE_WAIT_LIMIT = 30.0
"""How long close() waits once the hub says it cannot write its database (full disk, read-only
file): then it stops an embedded hub, which reports what it could not write."""


class MonitoringHub(_ParslMonitoringHub):
    """Parsl's ``MonitoringHub``, writing through a parsl-monitor hub.

    A HighThroughputExecutor's interchange sends its node records to the hub itself,
    without Parsl's router process (see :mod:`parsl_monitor_hub.parsl.htex_launch`).

    Args:
        hub_address: address the embedded hub listens on (default 127.0.0.1).
        hub_port: port the embedded hub listens on. Left at its default (55055), a busy
            port makes the hub pick a free one, so concurrent workflows can each have one.
        hub_port_range: accepted for compatibility; unused.
        workflow_name: the workflow's name (default: the script's file name).
        workflow_version: the workflow's version (default: its start time).
        logging_endpoint: SQLAlchemy URL of the database (default:
            ``sqlite:///<config run_dir>/monitoring.db``, i.e. ``runinfo/monitoring.db``).
        monitoring_debug: write a verbose ``monitoring_hub.log``.
        resource_monitoring_enabled: record worker-side information about tasks.
        resource_monitoring_interval: seconds between resource samples of a task (0: only
            its start and end). With ``ZMQRadio`` executors, node agents sample at this interval.
        hub_url: ``tcp://host:port`` of an already running ``parsl-monitor-hub`` to use
            instead of starting one; that hub decides the database.
        hub_keys: with ``hub_url``, the directory holding that hub's ``hub.key`` and a
            ``client.key_secret`` it allows (its ``--keys`` directory, or a private copy of
            those two files); None for a hub that does not encrypt.
        encrypted: the workflow's own hub encrypts and authenticates every link with
            CurveZMQ, keys in ``<run dir>/monitoring-keys`` (default). False: plaintext, and
            anyone who can reach the hub's port may read or add monitoring data.
    """

    def __init__(  # noqa: PLR0917 - Parsl's MonitoringHub takes these positionally
        self,
        hub_address: str | None = None,
        hub_port: int | None = None,
        hub_port_range: Any = None,
        workflow_name: str | None = None,
        workflow_version: str | None = None,
        logging_endpoint: str | None = None,
        monitoring_debug: bool = False,
        resource_monitoring_enabled: bool = True,
        resource_monitoring_interval: float = 30,
        hub_url: str | None = None,
        hub_keys: str | os.PathLike[str] | None = None,
        encrypted: bool = True,
    ) -> None:
        # Parsl's __init__ is not called: it warns that hub_address / hub_port are
        # deprecated, and for us they are not.
        self.hub_address = hub_address
        self.hub_port = hub_port
        self.hub_port_range = hub_port_range
        self.workflow_name = workflow_name
        self.workflow_version = workflow_version
        self.logging_endpoint = logging_endpoint
        self.monitoring_debug = monitoring_debug
        self.resource_monitoring_enabled = resource_monitoring_enabled
        self.resource_monitoring_interval = resource_monitoring_interval
        self.hub_url = hub_url
        self.hub_keys = hub_keys
        self.encrypted = encrypted
        self.monitoring_hub_active = False
        self._embedded: EmbeddedHub | None = None
        self._sender: HubSender | None = None
        self._watch: HubWatch | None = None

    def __repr__(self) -> str:
        """Parsl's representation (the DataFlowKernel logs it in parsl.log), with no database password."""
        shown = super().__repr__()
        if self.logging_endpoint:
            shown = shown.replace(repr(self.logging_endpoint), repr(shown_url(self.logging_endpoint)))
        return shown

    def start(
        self,
        dfk_run_dir: str,
        config_run_dir: str | os.PathLike[str],
        log_config: LogConfig | None = None,  # noqa: ARG002 - Parsl's signature; the hub has its own log file
    ) -> None:
        """Called by the DataFlowKernel: start (or connect to) the hub and open the queue Parsl writes to."""
        Path(dfk_run_dir).mkdir(parents=True, exist_ok=True)
        if self.hub_url is None:
            endpoint = self._start_embedded(Path(dfk_run_dir), os.fspath(config_run_dir))
        else:
            if self.logging_endpoint is not None:
                logger.warning(
                    "logging_endpoint is ignored with hub_url: the hub at %s chooses the database", self.hub_url
                )
            client = None if self.hub_keys is None else keys.client_keys(Path(self.hub_keys))
            endpoint = HubEndpoint(self.hub_url, client)
        if not endpoint.encrypted:
            logger.warning(
                "monitoring links to %s are NOT ENCRYPTED: anyone who can reach that port can read what this "
                "workflow sends and add rows to its database",
                endpoint,
            )
        self._sender = self.resource_msgs = HubSender(
            endpoint.pack(), self.resource_monitoring_interval
        )  # what Parsl puts messages on
        htex_launch.install(  # HTEX interchanges send to the hub themselves, without Parsl's router process
            samples_resources=self.resource_monitoring_enabled and self.resource_monitoring_interval > 0
        )
        self._watch = HubWatch(self._sender, self._embedded)  # the hub's problems reach the log during the run
        self.monitoring_hub_active = True
        own_database = self.logging_endpoint if self._embedded is not None else None
        logger.log(*dashboard_hint(shown_url(own_database) if own_database else None))

    def _start_embedded(self, dfk_run_dir: Path, config_run_dir: str) -> HubEndpoint:
        """Start this workflow's own hub (with fresh keys unless ``encrypted=False``); where it listens."""
        if self.logging_endpoint is None:
            self.logging_endpoint = f"sqlite:///{config_run_dir}/monitoring.db"
        key_dir = keys.ensure_keys(dfk_run_dir / "monitoring-keys") if self.encrypted else None
        port = DEFAULT_HUB_PORT if self.hub_port is None else self.hub_port
        self._embedded = EmbeddedHub(
            db_url=self.logging_endpoint,
            bind=f"tcp://{self.hub_address or '127.0.0.1'}:{port}",
            any_port_if_busy=self.hub_port is None,
            log_file=dfk_run_dir / "monitoring_hub.log",
            debug=self.monitoring_debug,
            keys=key_dir,
        )
        return HubEndpoint(self._embedded.url, None if key_dir is None else keys.client_keys(key_dir))

    def close(self) -> None:
        """Called by the DataFlowKernel last: returns once every message sent is in the database."""
        if not self.monitoring_hub_active or self._sender is None:
            return
        self.monitoring_hub_active = False
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        ticket = self._sender.request_flush()
        started = time.monotonic()
        while not ticket.wait(1.0):
            waited = time.monotonic() - started
            if self._embedded is not None and not self._embedded.alive:
                logger.error("the monitoring hub exited before confirming; see monitoring_hub.log")
                ticket.cancel()
            elif ticket.problem_since is not None and time.monotonic() - ticket.problem_since > DATABASE_WAIT_LIMIT:
                logger.error(
                    "the monitoring hub could not write its database for %.0f s (%s); giving up waiting",
                    time.monotonic() - ticket.problem_since,
                    ticket.problem,
                )
                ticket.cancel()
            elif self._embedded is None and waited > SHARED_HUB_CONFIRM_TIMEOUT:
                logger.error("the monitoring hub at %s did not confirm within %.0f s", self.hub_url, waited)
                ticket.cancel()
        self._sender.close(timeout=10)
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None
