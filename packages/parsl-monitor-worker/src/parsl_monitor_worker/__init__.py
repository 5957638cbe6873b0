"""Everything parsl-monitor runs on worker nodes. Nothing here may import SQLAlchemy, SQLModel or pydantic.

``ZMQRadio`` is imported on first use: the node agent needs no Parsl.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parsl_monitor_worker.__about__ import __version__

if TYPE_CHECKING:
    from parsl_monitor_worker.parsl.radio import ZMQRadio

__all__ = ("ZMQRadio", "__version__")


def __getattr__(name: str) -> Any:
    if name == "ZMQRadio":
        from parsl_monitor_worker.parsl.radio import ZMQRadio

        return ZMQRadio
    raise AttributeError(name)
