"""Contracts shared by every parsl-monitor distribution.

Import ``parsl_monitor_core.wire`` (msgpack only, safe on a task's path) or
``parsl_monitor_core.schema`` (SQLModel) explicitly; this module imports neither.
"""

from parsl_monitor_core.__about__ import __version__

__all__ = ("__version__",)
