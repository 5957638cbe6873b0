"""ECharts option builders: small typed functions that return plain dicts (JSON for the page)."""

from __future__ import annotations

from typing import Any

__all__ = ("Option",)

Option = dict[str, Any]
"""An ECharts option, as ``echarts.setOption`` takes it."""
