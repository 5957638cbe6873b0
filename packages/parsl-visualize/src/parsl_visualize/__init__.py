"""parsl-visualize: the dashboard for Parsl monitoring databases."""

from parsl_visualize.__about__ import __version__

__all__ = ("__version__",)
