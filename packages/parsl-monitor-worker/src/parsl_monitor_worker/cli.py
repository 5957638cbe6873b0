"""``parsl-monitor-worker``: the node agent, started once per worker node from ``worker_init``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

from parsl_monitor_worker.__about__ import __version__
from parsl_monitor_worker.agent_link import agent_address

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("main", "parse_args")


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"the interval must be positive, got {text}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; bad arguments exit 2 with one line."""
    parser = argparse.ArgumentParser(
        prog="parsl-monitor-worker",
        description="Sample this node and the Parsl tasks running on it for parsl-monitor (one agent per node).",
    )
    parser.add_argument(
        "--address", default=None, help="ipc:// address tasks announce to (default: per user, in $TMPDIR)"
    )
    parser.add_argument(
        "--interval", type=_interval, default=30.0, help="seconds between samples if tasks ask for none"
    )
    parser.add_argument("--parent-pid", type=int, default=None, help="stop when this process is gone and no task runs")
    parser.add_argument(
        "--daemon", action="store_true", help="start in the background and return at once (for worker_init)"
    )
    parser.add_argument("--log-file", default=None, help="log here instead of stderr")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--version", action="version", version=f"parsl-monitor-worker {__version__}")
    return parser.parse_args(argv)


def _daemonize(args: argparse.Namespace, argv: Sequence[str]) -> int:
    # The background agent outlives this command but watches the shell that ran worker_init
    # (our parent): when the worker pool's shell exits, the agent exits too.
    command = [sys.executable, "-m", "parsl_monitor_worker", *[a for a in argv if a != "--daemon"]]
    if args.parent_pid is None:
        command += ["--parent-pid", str(os.getppid())]
    log = open(args.log_file, "a") if args.log_file else subprocess.DEVNULL  # noqa: SIM115, PTH123 - handed to the child
    subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)  # noqa: S603
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent in the foreground (or in the background with ``--daemon``)."""
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    if args.daemon:
        return _daemonize(args, raw)
    logging.basicConfig(
        filename=args.log_file,
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from parsl_monitor_worker.node_agent import NodeAgent

    try:
        address = args.address or agent_address()
    except PermissionError as exc:
        print(f"parsl-monitor-worker: {exc}", file=sys.stderr)
        return 2
    if not address.startswith("ipc://") or address == "ipc://":
        # Tasks reach the agent through a Unix socket, so only a path will do (ZMQ's tcp:// once did).
        print(f"parsl-monitor-worker: the agent's address must be ipc://PATH, not {address!r}", file=sys.stderr)
        return 2
    agent = NodeAgent(address, args.interval, args.parent_pid)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    signal.signal(signal.SIGINT, lambda *_: agent.stop())
    try:
        if not agent.acquire(wait=True):
            logging.getLogger(__name__).info("another agent serves this node; nothing to do")
            return 0
        agent.run()
    finally:
        agent.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
