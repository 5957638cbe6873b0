"""psutil samples: a task's process tree (Parsl's RESOURCE_INFO fields) and the whole node."""

from __future__ import annotations

import os
import socket
from typing import Any

import psutil

__all__ = ("NodeSampler", "sample_tree")

_ZERO_IO = (0, 0)


def _io(process: psutil.Process) -> tuple[int, int]:
    try:
        counters = process.io_counters()
    except (psutil.AccessDenied, AttributeError, NotImplementedError):
        return _ZERO_IO
    return counters.read_bytes, counters.write_bytes


def sample_tree(pid: int) -> dict[str, Any] | None:
    """The process and all its descendants, summed the way Parsl's ``monitor`` sums them.

    ``children()`` walks /proc once for the root (not once per process: that costs ~2.7 ms
    each on a busy node). None when the process is gone.
    """
    try:
        root = psutil.Process(pid)
        if root.status() == psutil.STATUS_ZOMBIE:  # killed, not yet reaped: nothing left to measure
            return None
        with root.oneshot():
            times = root.cpu_times()
            memory = root.memory_info()
            read, write = _io(root)
            ctx = root.num_ctx_switches()
            sample: dict[str, Any] = {
                "psutil_process_pid": pid,
                "psutil_process_memory_percent": root.memory_percent(),
                "psutil_process_time_user": times.user + times.children_user,
                "psutil_process_time_system": times.system + times.children_system,
                "psutil_process_memory_virtual": float(memory.vms),
                "psutil_process_memory_resident": float(memory.rss),
                "psutil_process_disk_read": float(read),
                "psutil_process_disk_write": float(write),
                "psutil_process_status": root.status(),
                "psutil_cpu_num": str(root.cpu_num()) if hasattr(root, "cpu_num") else None,
                "psutil_process_num_ctx_switches_voluntary": float(ctx.voluntary),
                "psutil_process_num_ctx_switches_involuntary": float(ctx.involuntary),
            }
        children = root.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    counted = 0
    for child in children:
        try:
            with child.oneshot():
                times = child.cpu_times()
                memory = child.memory_info()
                read, write = _io(child)
                percent = child.memory_percent()
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
        counted += 1
        sample["psutil_process_time_user"] += times.user
        sample["psutil_process_time_system"] += times.system
        sample["psutil_process_memory_virtual"] += memory.vms
        sample["psutil_process_memory_resident"] += memory.rss
        sample["psutil_process_memory_percent"] += percent
        sample["psutil_process_disk_read"] += read
        sample["psutil_process_disk_write"] += write
    sample["psutil_process_children_count"] = float(counted)
    return sample


class NodeSampler:
    """Node-wide CPU, load, memory, swap, disk and network counters (and GPUs when NVML is there)."""

    def __init__(self) -> None:
        self.hostname = socket.gethostname()
        self.cpu_count = psutil.cpu_count() or 1
        psutil.cpu_percent(interval=None)  # primes the counter: the next call covers the interval since now
        from parsl_monitor_worker.gpu import GpuSampler

        self._gpus = GpuSampler.create()

    def sample(self) -> dict[str, Any]:
        """One sample; counters are totals since boot, CPU percent is since the previous sample."""
        memory = psutil.virtual_memory()
        disk = psutil.disk_io_counters()
        net = psutil.net_io_counters()
        load = os.getloadavg() if hasattr(os, "getloadavg") else (None, None, None)
        sample: dict[str, Any] = {
            "hostname": self.hostname,
            "cpu_count": self.cpu_count,
            "cpu_percent": psutil.cpu_percent(interval=None),
            "load_1m": load[0],
            "load_5m": load[1],
            "load_15m": load[2],
            "memory_total": memory.total,
            "memory_used": memory.total - memory.available,
            "memory_available": memory.available,
            "swap_used": psutil.swap_memory().used,
            "disk_read_bytes": getattr(disk, "read_bytes", None),  # None on machines without disks
            "disk_write_bytes": getattr(disk, "write_bytes", None),
            "net_sent_bytes": net.bytes_sent,
            "net_recv_bytes": net.bytes_recv,
        }
        sample.update(self._gpus.sample() if self._gpus else {"gpu_count": 0})
        return sample
