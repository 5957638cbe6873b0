"""GPU samples through NVML, when the machine has an NVIDIA GPU and ``pynvml`` is installed."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ("GpuSampler",)

logger = logging.getLogger(__name__)


class GpuSampler:
    """Mean utilization and summed memory over the node's GPUs."""

    def __init__(self, nvml: Any, handles: list[Any]) -> None:
        self._nvml = nvml
        self._handles = handles

    @classmethod
    def create(cls) -> GpuSampler | None:
        """None without pynvml (the optional extra ``gpu``) or without a GPU."""
        try:
            import pynvml  # type: ignore[import-not-found]  # optional dependency, untyped
        except ImportError:
            return None
        try:
            pynvml.nvmlInit()
            handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except pynvml.NVMLError as exc:
            logger.info("no GPU sampling: %s", exc)
            return None
        return cls(pynvml, handles) if handles else None

    def sample(self) -> dict[str, Any]:
        """``gpu_count``, ``gpu_utilization`` (mean %), ``gpu_memory_used`` and ``gpu_memory_total`` (bytes)."""
        used = total = 0
        utilization = 0.0
        for handle in self._handles:
            memory = self._nvml.nvmlDeviceGetMemoryInfo(handle)
            used += memory.used
            total += memory.total
            utilization += self._nvml.nvmlDeviceGetUtilizationRates(handle).gpu
        count = len(self._handles)
        return {
            "gpu_count": count,
            "gpu_utilization": utilization / count,
            "gpu_memory_used": used,
            "gpu_memory_total": total,
        }
