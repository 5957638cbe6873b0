"""The parsl-monitor hub: ZMQ in, validated batches out to SQLite or PostgreSQL.

``parsl_monitor_hub.MonitoringHub`` is the Parsl adapter; it is imported on first use so
that running a hub needs no Parsl.
"""

from typing import TYPE_CHECKING, Any

from parsl_monitor_hub.__about__ import __version__

if TYPE_CHECKING:
    from parsl_monitor_hub.parsl.adapter import MonitoringHub

__all__ = ("MonitoringHub", "__version__")


def __getattr__(name: str) -> Any:
    if name == "MonitoringHub":
        from parsl_monitor_hub.parsl.adapter import MonitoringHub

        return MonitoringHub
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
