"""Where a sender reaches a hub, and with which CurveZMQ keys: one string that travels with Parsl's objects.

A hub started with keys refuses every sender that does not encrypt with its public key and
authenticate with a client key it allows. The sender's side of that (the hub's public key
and a client key pair) rides along with the hub's URL wherever Parsl carries it: the
pickled monitoring queue, ``ZMQRadio``'s configuration, the messages a task sends its node
agent. :meth:`HubEndpoint.pack` writes it as ``URL|HUB_PUBLIC|CLIENT_PUBLIC|CLIENT_SECRET``
(Z85 keys, which never contain ``|``). The packed form holds a secret: log ``str(endpoint)``,
which is the URL alone, and never put the packed form on a command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ("KEY_LENGTH", "CurveKeys", "HubEndpoint", "HubQueue")

KEY_LENGTH = 40
"""A CurveZMQ key in Z85: 32 bytes as 40 characters."""
_SEPARATOR = "|"


@dataclass(frozen=True)
class CurveKeys:
    """A sender's CurveZMQ keys: the hub's public key, and the sender's own pair."""

    hub_public: bytes
    public: bytes
    secret: bytes

    def __post_init__(self) -> None:
        for name in ("hub_public", "public", "secret"):
            if len(getattr(self, name)) != KEY_LENGTH:
                raise ValueError(f"{name} is not a {KEY_LENGTH}-character Z85 CurveZMQ key")

    def __repr__(self) -> str:
        return f"CurveKeys(hub_public={self.hub_public!r}, public={self.public!r}, secret=...)"


@dataclass(frozen=True)
class HubEndpoint:
    """A hub's ``tcp://host:port`` and, when it encrypts, the keys to reach it."""

    url: str
    keys: CurveKeys | None = None

    @classmethod
    def parse(cls, text: str) -> HubEndpoint:
        """Read a URL or the packed form (see the module); raises ValueError for a malformed one."""
        url, *keys = text.split(_SEPARATOR)
        if not keys:
            return cls(url)
        if len(keys) != 3:  # noqa: PLR2004 - hub public, client public, client secret
            raise ValueError("a packed hub endpoint is URL|HUB_PUBLIC|CLIENT_PUBLIC|CLIENT_SECRET")
        hub_public, public, secret = (key.encode("ascii") for key in keys)
        return cls(url, CurveKeys(hub_public, public, secret))

    def pack(self) -> str:
        """The one-string form, keys included: for pickles and local messages, never for logs."""
        if self.keys is None:
            return self.url
        keys = (self.keys.hub_public, self.keys.public, self.keys.secret)
        return _SEPARATOR.join([self.url, *(key.decode("ascii") for key in keys)])

    @property
    def encrypted(self) -> bool:
        """True when senders encrypt and authenticate to this hub."""
        return self.keys is not None

    def connect(self, socket: Any) -> None:
        """Connect a pyzmq socket to the hub, as a CurveZMQ client when there are keys."""
        if self.keys is not None:
            socket.curve_serverkey = self.keys.hub_public
            socket.curve_publickey = self.keys.public
            socket.curve_secretkey = self.keys.secret
        socket.connect(self.url)

    def __str__(self) -> str:
        return self.url


@runtime_checkable
class HubQueue(Protocol):
    """What a radio of ours finds in Parsl's ``resource_msgs`` when the monitoring hub is ours.

    ``parsl_monitor_hub.MonitoringHub`` puts such a queue where Parsl expects its monitoring
    queue, and Parsl hands it to each executor's radio. ``parsl_monitor_worker.ZMQRadio``
    reads the hub's packed endpoint and the sampling interval from it, so the user configures
    neither twice. Tasks of that radio are then sampled by node agents at this interval
    instead of by a process Parsl forks per task; the radio decides that on its own side
    (see ``parsl_monitor_worker.parsl.radio``), nothing is passed back through Parsl.
    """

    url: str
    """The hub's packed :class:`HubEndpoint` (holds a secret key: never log it)."""
    resource_monitoring_interval: float
    """Seconds between resource samples of a task; 0 for only its first and last messages."""
