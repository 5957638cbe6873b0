"""Starting and stopping the hub process that serves a single workflow."""

from __future__ import annotations

import logging
import os
import re
import select
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from parsl_monitor_hub.config import DB_VARIABLE, shown_url
from parsl_monitor_hub.errors import HubStartError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ("EmbeddedHub",)

logger = logging.getLogger(__name__)

START_TIMEOUT = 60.0
_READY = re.compile(r"^parsl-monitor-hub: listening on (\S+), writing ")


class EmbeddedHub:
    """A ``parsl-monitor-hub`` child process owned by one MonitoringHub.

    It runs in its own session so a Ctrl-C meant for the Parsl program does not stop it
    before the program's last messages are written, and it watches its parent so it
    stops (marking the workflow ended) if the program dies without closing it.
    """

    def __init__(
        self, *, db_url: str, bind: str, any_port_if_busy: bool, log_file: Path, debug: bool, keys: Path | None = None
    ) -> None:
        command = [
            sys.executable,
            "-m",
            "parsl_monitor_hub",
            "--bind",
            bind,
            "--log-file",
            str(log_file),
            "--log-level",
            "DEBUG" if debug else "INFO",
            "--parent-pid",
            str(os.getpid()),
        ]
        if any_port_if_busy:
            command.append("--any-port-if-busy")
        if keys is not None:
            command += ["--keys", str(keys)]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            text=True,
            env={**os.environ, DB_VARIABLE: db_url},  # not on the command line: a password would show in `ps`
        )
        self.url = self._wait_ready()
        logger.info("monitoring hub pid %d listening on %s, writing %s", self.process.pid, self.url, shown_url(db_url))

    def _wait_ready(self) -> str:
        assert self.process.stdout is not None  # noqa: S101 - set by Popen(stdout=PIPE)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                match = _READY.match(line)
                if match:
                    self.process.stdout.close()
                    return match.group(1)
                if not line:
                    break
            elif self.process.poll() is not None:
                break
        self.process.kill()
        _, err = self.process.communicate()
        reason = (err or "").strip().splitlines()
        raise HubStartError(f"the monitoring hub did not start: {reason[-1] if reason else 'no output'}")

    @property
    def alive(self) -> bool:
        """True while the hub process runs."""
        return self.process.poll() is None

    def stop(self) -> int:
        """Ask the hub to write everything and exit; wait as long as that takes (no kill)."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        while True:
            try:
                code = self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                logger.info("monitoring hub still writing its backlog after %.0f s", time.monotonic() - started)
            else:
                break
        if self.process.stderr is not None:
            self.process.stderr.close()
        if code != 0:
            logger.error("monitoring hub exited with code %d; see monitoring_hub.log", code)
        return code
