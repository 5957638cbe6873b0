"""Everything parsl-monitor runs on worker nodes. Nothing here may import SQLAlchemy, SQLModel or pydantic."""

from parsl_monitor_worker.__about__ import __version__

__all__ = ("__version__",)
