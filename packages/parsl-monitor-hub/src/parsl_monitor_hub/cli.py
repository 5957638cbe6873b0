"""``parsl-monitor-hub``: run a hub that many workflows can share."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from parsl_monitor_hub.__about__ import __version__
from parsl_monitor_hub.config import DB_VARIABLE, DEFAULT_BIND, DEFAULT_DB_URL, HubConfig, shown_url, unwritable
from parsl_monitor_hub.errors import HubError
from parsl_monitor_hub.logs import log_to

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

__all__ = ("main",)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


_MAX_PORT = 65535


def _endpoint(text: str) -> str:
    # libzmq quietly binds some other port when given an impossible one (e.g. 99999).
    scheme, _, rest = text.partition("://")
    host, _, port = rest.rpartition(":")
    valid = port == "*" or (port.isdigit() and 0 < int(port) <= _MAX_PORT)
    if scheme == "tcp" and host and not valid:
        raise argparse.ArgumentTypeError(f"port must be 1-{_MAX_PORT} or *, got {port!r}")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parsl-monitor-hub",
        description="Receive Parsl monitoring messages over ZMQ and write them to SQLite or PostgreSQL.",
    )
    parser.add_argument(
        "--db",
        help="SQLAlchemy URL or SQLite file path to write (default: the environment variable "
        f"{DB_VARIABLE}, else {DEFAULT_DB_URL} under the current directory); a command line is readable by "
        f"every user of the machine: give a PostgreSQL password in {DB_VARIABLE}, ~/.pgpass or PGPASSWORD",
    )
    parser.add_argument(
        "--bind", type=_endpoint, default=DEFAULT_BIND, help=f"ZMQ endpoint to listen on (default: {DEFAULT_BIND})"
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default: INFO"
    )
    parser.add_argument("--log-file", type=Path, help="write the log to this file instead of standard error")
    parser.add_argument("--batch-size", type=_positive_int, default=HubConfig.batch_size, help=argparse.SUPPRESS)
    parser.add_argument("--batch-delay", type=_positive_float, default=HubConfig.batch_delay, help=argparse.SUPPRESS)
    parser.add_argument(
        "--stop-grace",
        type=_positive_float,
        default=HubConfig.stop_grace,
        metavar="SECONDS",
        help="when stopping, give up on a database that takes no write for this long: what it could not "
        f"write is counted in the log and the hub exits 1 (default: {HubConfig.stop_grace:.0f})",
    )
    parser.add_argument(
        "--keys",
        type=Path,
        metavar="DIR",
        help="encrypt and authenticate every sender with CurveZMQ, with the keys in DIR (created, mode 700, "
        "if missing); workflows connect with MonitoringHub(hub_url=..., hub_keys=DIR or a copy of its "
        "hub.key and client.key_secret). Without it the hub is plaintext and warns",
    )
    parser.add_argument(
        "--stats-interval", type=_positive_float, default=HubConfig.stats_interval, help=argparse.SUPPRESS
    )
    # Used by the Parsl adapter when it starts a hub for one workflow.
    parser.add_argument("--any-port-if-busy", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--parent-pid", type=_positive_int, help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _not_started(reason: str, *, logged: bool) -> int:
    """Say in one line why the hub did not start (in its log file too, if it has one); the exit code."""
    if logged:
        logging.getLogger(__name__).error("%s", reason)
    print(f"parsl-monitor-hub: error: {reason}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the hub until SIGTERM or SIGINT; everything received by then is written."""
    args = _parser().parse_args(argv)
    log_to(args.log_file, args.log_level)
    from_environment = os.environ.pop(DB_VARIABLE, "")  # popped: the writer gets the URL on its stdin
    config = HubConfig(
        db_url=args.db or from_environment or DEFAULT_DB_URL,
        bind=args.bind,
        any_port_if_busy=args.any_port_if_busy,
        batch_size=args.batch_size,
        batch_delay=args.batch_delay,
        stats_interval=args.stats_interval,
        parent_pid=args.parent_pid,
        log_file=args.log_file,
        log_level=args.log_level,
        stop_grace=args.stop_grace,
        keys=args.keys.expanduser().resolve() if args.keys else None,
    )
    reason = unwritable(config.db_url)
    if reason is not None:
        return _not_started(reason, logged=args.log_file is not None)
    # SQLAlchemy and ZMQ only once arguments are good. The writer process starts first, so
    # that it imports SQLAlchemy while this process does: the hub listens sooner.
    from parsl_monitor_hub.writing.process import WriterProcess

    writer = WriterProcess(config.db_url, log_file=config.log_file, log_level=config.log_level)
    from parsl_monitor_hub.service import HubService

    try:
        service = HubService(config, writer)
    except HubError as exc:
        return _not_started(str(exc), logged=args.log_file is not None)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        service.stop(f"received {signal.Signals(signum).name}")  # logged by the service, never here

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"parsl-monitor-hub: listening on {service.url}, writing {shown_url(config.db_url)}", flush=True)
    try:
        service.run()
    except HubError as exc:
        logging.getLogger(__name__).error("%s", exc)
        print(f"parsl-monitor-hub: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
