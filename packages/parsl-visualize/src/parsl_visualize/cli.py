"""The ``parsl-visualize`` command: open the database, bind, serve until interrupted.

``parsl-visualize [DB_URL] [--listen ADDRESS] [--port N] [--token T | --no-auth] [--allowed-host NAME]
[--allow-files DIR] [--debug]`` serves the dashboard with uvicorn. Beyond loopback it demands a
token, generated at start unless given, as Jupyter does.
"""

from __future__ import annotations

import argparse
import errno
import gc
import ipaddress
import os
import secrets
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from parsl_visualize.__about__ import __version__
from parsl_visualize.db import default_database_url, open_database
from parsl_visualize.errors import ViewerError
from parsl_visualize.task_output import FileAccess

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("main", "parse_args", "token_for")

DEFAULT_LISTEN = "127.0.0.1"
DEFAULT_PORT = 8080
TOKEN_VARIABLE = "PARSL_VISUALIZE_TOKEN"  # noqa: S105 - a variable's name, not a secret
"""The environment variable that sets the token (unlike ``--token``, it does not show in ``ps``)."""


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:  # noqa: PLR2004 - the TCP port range
        raise argparse.ArgumentTypeError(f"port {port} is outside 1-65535")
    return port


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The user guide's command line; bad arguments exit 2 with one line."""
    parser = argparse.ArgumentParser(
        prog="parsl-visualize",
        description="Serve the Parsl monitoring dashboard for a monitoring database (read-only).",
    )
    parser.add_argument(
        "db_url",
        nargs="?",
        default=None,
        metavar="DB_URL",
        help="SQLAlchemy URL or path of the database (default: sqlite:///<cwd>/runinfo/monitoring.db)",
    )
    parser.add_argument("--listen", default=DEFAULT_LISTEN, help=f"address to listen on (default {DEFAULT_LISTEN})")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_VARIABLE) or None,
        help=f"the secret every request must carry (default: ${TOKEN_VARIABLE}; generated when --listen is not "
        "loopback). Other users can read a command line: prefer the variable",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="demand no token even beyond loopback: anyone who can reach the port reads everything",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer to this Host name (a DNS alias, a proxy's name); loopback names and the listen "
        "address are always allowed",
    )
    parser.add_argument(
        "--allow-files",
        action="append",
        default=[],
        metavar="DIR",
        help="show tasks' stdout and stderr files that lie inside DIR (repeatable; default: none). Whoever can "
        "read the dashboard reads these files",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="log every request, show tracebacks in error pages and the database's path in the footer",
    )
    parser.add_argument("--version", action="version", version=f"parsl-visualize {__version__}")
    args = parser.parse_args(argv)
    if args.no_auth and args.token:
        parser.error("--no-auth and a token (--token or $" + TOKEN_VARIABLE + ") contradict each other")
    return args


def is_loopback(address: str) -> bool:
    """Whether only this machine can reach ``address``."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def bind(address: str, port: int) -> socket.socket:
    """The listening socket, bound before uvicorn starts so a busy port is one clear line.

    Raises:
        ViewerError: the port is taken or the address is not on this machine.
    """
    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ViewerError(f"cannot listen on {address!r}: {exc.strerror}") from None
    family, kind, proto, _name, where = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(where)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ViewerError(f"port {port} on {address} is already in use: choose another with --port") from None
        raise ViewerError(f"cannot listen on {address}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def token_for(args: argparse.Namespace) -> str | None:
    """The token requests must carry: the one given, a new one beyond loopback (unless ``--no-auth``), or None."""
    if args.token is None and not args.no_auth and not is_loopback(args.listen):
        return secrets.token_urlsafe(32)
    given: str | None = args.token
    return given


def _file_access(directories: list[str]) -> FileAccess:
    """The ``--allow-files`` directories, each an existing directory, or one line saying which is not."""
    for directory in directories:
        if not Path(directory).is_dir():
            raise ViewerError(f"--allow-files {directory}: not a directory")
    try:
        return FileAccess(directories)
    except OSError as exc:
        raise ViewerError(f"--allow-files: {exc.strerror}: {exc.filename}") from None


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _freeze_startup_objects() -> None:
    """Take what the server imported and built at start out of the garbage collector's full passes.

    A full pass walks every tracked object, and the libraries a server imports make most
    of them: each such pass stalled whichever page was being rendered (docs/benchmarks.md).
    These objects live as long as the process, so the collector has nothing to find there.
    """
    gc.collect()
    gc.freeze()


def _tell(line: str) -> None:
    print(f"parsl-visualize: {line}", file=sys.stderr, flush=True)


def _url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}/"


def main(argv: Sequence[str] | None = None) -> int:
    """Open the database, bind, print the URL, serve until interrupted."""
    args = parse_args(argv)
    try:
        files = _file_access(args.allow_files)
        db = open_database(args.db_url or default_database_url())
        sock = bind(args.listen, args.port)
    except ViewerError as exc:
        print(f"parsl-visualize: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    from parsl_visualize.access import Access
    from parsl_visualize.app import create_app

    token = token_for(args)
    if args.no_auth and not is_loopback(args.listen):
        print(
            f"parsl-visualize: WARNING: listening on {args.listen} without a token (--no-auth), so anyone who "
            "can reach this machine can read this monitoring data. Check that your site's security policy allows it.",
            file=sys.stderr,
        )
    if files.enabled and token is None:
        print(
            "parsl-visualize: WARNING: --allow-files without a token: other users of this machine who can reach "
            f"port {args.port} can read the allowed files. Set ${TOKEN_VARIABLE} to keep them out.",
            file=sys.stderr,
        )
    shown = socket.gethostname() if args.listen in {"0.0.0.0", "::"} else args.listen  # noqa: S104 - compared
    address = _url(shown, args.port) + (f"?token={token}" if token else "")
    print(f"parsl-visualize: serving {db.label} at {address}", flush=True)
    access = Access(listen=args.listen, allowed_hosts=args.allowed_host, token=token)
    app = create_app(db, debug=args.debug, access=access, files=files, follow_running=_tell)
    app.on_startup.insert(0, _freeze_startup_objects)  # once uvicorn has imported what it serves with
    config = uvicorn.Config(
        app,
        log_level="info" if args.debug else "warning",
        access_log=args.debug,
        timeout_graceful_shutdown=2,
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal;
    # ending as KeyboardInterrupt makes both a clean exit 0.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
