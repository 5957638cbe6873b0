"""psutil samples: tasks' process trees (Parsl's RESOURCE_INFO fields) and the whole node.

A sweep over many tasks reads the process table once to find every tree's descendants
(``Process.children()`` would walk /proc once per task: about 2.7 ms each on a busy node),
then reads each process's counters once, inside ``oneshot()``.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any, NamedTuple

import psutil

from parsl_monitor_worker import procfs

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ("NodeSampler", "sample_tree", "sample_trees")

_TOTAL_MEMORY = psutil.virtual_memory().total
_STATUS = {"R": "running", "S": "sleeping", "D": "disk-sleep", "T": "stopped", "t": "tracing-stop", "I": "idle"}
"""/proc state letters as psutil names them (what Parsl stores in ``psutil_process_status``)."""


def _counters(process: psutil.Process) -> tuple[float, float, int, int, int, int, int, int] | None:
    """(user, system, rss, vms, read, write, voluntary, involuntary), or None if it is gone."""
    try:
        with process.oneshot():
            times = process.cpu_times()
            memory = process.memory_info()
            ctx = process.num_ctx_switches()
            try:
                io = process.io_counters()
                read, write = io.read_bytes, io.write_bytes
            except (psutil.AccessDenied, AttributeError, NotImplementedError):
                read = write = 0
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None
    return (
        times.user + times.children_user,
        times.system + times.children_system,
        memory.rss,
        memory.vms,
        read,
        write,
        ctx.voluntary,
        ctx.involuntary,
    )


def _descendants(roots: Iterable[int]) -> dict[int, list[int]]:
    """Every root's descendants, from one pass over the process table."""
    children: dict[int, list[int]] = {}
    for process in psutil.process_iter(["ppid"]):
        children.setdefault(process.info["ppid"], []).append(process.pid)
    out: dict[int, list[int]] = {}
    for root in roots:
        found: list[int] = []
        stack = list(children.get(root, ()))
        while stack:
            pid = stack.pop()
            found.append(pid)
            stack.extend(children.get(pid, ()))
        out[root] = found
    return out


class Tree(NamedTuple):
    """Counters of a process and its descendants, summed."""

    children: int
    user: float
    system: float
    rss: int
    vms: int
    read: int
    write: int


def _fields(pid: int, tree: Tree, status: str, cpu_num: str, switches: tuple[int, int]) -> dict[str, Any]:
    """Parsl's RESOURCE_INFO field names for one task's process tree."""
    return {
        "psutil_process_pid": pid,
        "psutil_process_memory_percent": 100.0 * tree.rss / _TOTAL_MEMORY,
        "psutil_process_children_count": float(tree.children),
        "psutil_process_time_user": tree.user,
        "psutil_process_time_system": tree.system,
        "psutil_process_memory_virtual": float(tree.vms),
        "psutil_process_memory_resident": float(tree.rss),
        "psutil_process_disk_read": float(tree.read),
        "psutil_process_disk_write": float(tree.write),
        "psutil_process_status": status,
        "psutil_cpu_num": cpu_num,
        "psutil_process_num_ctx_switches_voluntary": float(switches[0]),
        "psutil_process_num_ctx_switches_involuntary": float(switches[1]),
    }


def _sample(pid: int, descendants: list[int]) -> dict[str, Any] | None:
    try:
        root = psutil.Process(pid)
        status = root.status()
        cpu_num = root.cpu_num()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None
    if status == psutil.STATUS_ZOMBIE:  # killed, not yet reaped: nothing left to measure
        return None
    first = _counters(root)
    if first is None:
        return None
    user, system, rss, vms, read, write, voluntary, involuntary = first
    counted = 0
    for child in descendants:
        values = _counters(psutil.Process(child)) if psutil.pid_exists(child) else None
        if values is None:
            continue
        counted += 1
        user += values[0]
        system += values[1]
        rss += values[2]
        vms += values[3]
        read += values[4]
        write += values[5]
    return _fields(
        pid, Tree(counted, user, system, rss, vms, read, write), status, str(cpu_num), (voluntary, involuntary)
    )


def _sample_from_proc(
    pid: int, stats: dict[int, procfs.ProcStat], children: dict[int, list[int]]
) -> dict[str, Any] | None:
    root = stats.get(pid)
    if root is None or root.state == "Z":  # gone, or killed and not yet reaped
        return None
    members = [pid]
    stack = list(children.get(pid, ()))
    while stack:
        child = stack.pop()
        members.append(child)
        stack.extend(children.get(child, ()))
    user = system = 0.0
    rss = vms = read = write = 0
    for member in members:
        stat = stats[member]
        user += stat.user
        system += stat.system
        rss += stat.rss
        vms += stat.vms
        member_read, member_write = procfs.read_io(member)
        read += member_read
        write += member_write
    tree = Tree(len(members) - 1, user, system, rss, vms, read, write)
    return _fields(pid, tree, _STATUS.get(root.state, root.state), str(root.cpu), procfs.read_switches(pid))


def sample_trees(pids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """A sample of each process and its descendants, summed as Parsl's ``monitor`` sums them.

    Processes that are gone (or zombies) are left out. On Linux one scan of /proc serves
    the whole sweep; elsewhere psutil is asked process by process.
    """
    wanted = list(dict.fromkeys(pids))
    if procfs.AVAILABLE:
        stats = procfs.scan()
        children = _children_of(stats)
        found = {pid: _sample_from_proc(pid, stats, children) for pid in wanted}
        return {pid: sample for pid, sample in found.items() if sample is not None}
    trees = _descendants(wanted)
    out = {}
    for pid in wanted:
        sample = _sample(pid, trees[pid])
        if sample is not None:
            out[pid] = sample
    return out


def sample_tree(pid: int) -> dict[str, Any] | None:
    """One process tree (a task's final sample); None when the process is gone."""
    if not procfs.AVAILABLE:
        return sample_trees([pid]).get(pid)
    stats = procfs.scan_tree(pid)
    return _sample_from_proc(pid, stats, _children_of(stats))


def _children_of(stats: dict[int, procfs.ProcStat]) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for child, stat in stats.items():
        children.setdefault(stat.ppid, []).append(child)
    return children


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
