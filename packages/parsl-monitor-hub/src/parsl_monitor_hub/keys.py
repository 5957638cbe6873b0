"""The CurveZMQ key directory of a hub: made once, private, readable by its owner only.

::

    DIR/                 mode 0700
      hub.key            the hub's public key: senders need it
      hub.key_secret     the hub's secret key: only the hub reads it
      client.key_secret  a client key pair that workflows use (protect it: whoever has it may send)
      clients/           public keys of the senders the hub accepts (client.key to begin with);
                         add another team's client.key here to let it in

The file format is pyzmq's (``zmq.auth.create_certificates``), as Parsl uses for its own
``certificates/`` directory.
"""

from __future__ import annotations

import os
import shutil
import stat
from typing import TYPE_CHECKING

import zmq.auth

from parsl_monitor_core.wire import CurveKeys
from parsl_monitor_hub.errors import KeysError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ("client_keys", "ensure_keys", "hub_secret", "senders_allowed")

_HUB = "hub"
_CLIENT = "client"
_CLIENTS = "clients"


def ensure_keys(directory: Path) -> Path:
    """Create the directory and its keys if they do not exist yet; check that it is private. Returns it.

    Raises:
        KeysError: the directory cannot be created, or others may read it.
    """
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (directory / f"{_HUB}.key_secret").exists():
            zmq.auth.create_certificates(directory, _HUB)
            zmq.auth.create_certificates(directory, _CLIENT)
            (directory / _CLIENTS).mkdir(mode=0o700, exist_ok=True)
            shutil.move(directory / f"{_CLIENT}.key", directory / _CLIENTS / f"{_CLIENT}.key")
    except OSError as exc:
        raise KeysError(f"cannot create keys in {directory}: {exc.strerror}") from None
    _check_private(directory)
    return directory


def _check_private(directory: Path) -> None:
    mode = directory.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeysError(f"{directory} may be read by other users (mode {oct(mode & 0o777)}): chmod 700 it")
    if os.name == "posix" and directory.stat().st_uid != os.geteuid():
        raise KeysError(f"{directory} belongs to another user")


def _load(path: Path) -> tuple[bytes, bytes | None]:
    try:
        return zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeysError(f"cannot read the key {path}: {exc}") from None


def hub_secret(directory: Path) -> tuple[bytes, bytes]:
    """The hub's own key pair."""
    _check_private(directory)
    public, secret = _load(directory / f"{_HUB}.key_secret")
    if secret is None:
        raise KeysError(f"{directory / f'{_HUB}.key_secret'} holds no secret key")
    return public, secret


def senders_allowed(directory: Path) -> Path:
    """The directory of public keys whose senders the hub accepts."""
    return directory / _CLIENTS


def client_keys(directory: Path) -> CurveKeys:
    """What a workflow needs to reach the hub: ``hub.key`` and ``client.key_secret`` from ``directory``.

    Raises:
        KeysError: a file is missing or unreadable, or the directory is not private.
    """
    _check_private(directory)
    hub_public, _ = _load(directory / f"{_HUB}.key")
    public, secret = _load(directory / f"{_CLIENT}.key_secret")
    if secret is None:
        raise KeysError(f"{directory / f'{_CLIENT}.key_secret'} holds no secret key")
    return CurveKeys(hub_public, public, secret)
