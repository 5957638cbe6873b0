"""Writing to the database: the writer process, its protocol, and the hub's side of it."""

from parsl_monitor_hub.writing.pipeline import WritePipeline
from parsl_monitor_hub.writing.process import GC_THRESHOLDS, WriterProcess

__all__ = ("GC_THRESHOLDS", "WritePipeline", "WriterProcess")
