from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from parsl_monitor_worker import procfs
from parsl_monitor_worker.sampler import NodeSampler, sample_tree, sample_trees

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable

MIB = 2**20


def test_a_process_holding_200_mb_shows_at_least_200_mb_resident(
    spawn: Callable[[str], subprocess.Popen[str]], programs: dict[str, str]
) -> None:
    proc = spawn(programs["hold"].format(mb=200))
    sample = sample_tree(proc.pid)
    assert sample is not None
    assert sample["psutil_process_memory_resident"] >= 200 * MIB
    assert sample["psutil_process_children_count"] == 0


def test_cpu_time_grows_while_a_process_burns_cpu(
    spawn: Callable[[str], subprocess.Popen[str]], programs: dict[str, str]
) -> None:
    proc = spawn(programs["burn"])
    first = sample_tree(proc.pid)
    time.sleep(1.0)
    second = sample_tree(proc.pid)
    assert first is not None and second is not None
    used = (second["psutil_process_time_user"] + second["psutil_process_time_system"]) - (
        first["psutil_process_time_user"] + first["psutil_process_time_system"]
    )
    assert used > 0.3  # of one second, on a 2-core machine that is busy with other tests


def test_children_are_counted_and_summed(
    spawn: Callable[[str], subprocess.Popen[str]], programs: dict[str, str]
) -> None:
    child = programs["hold"].format(mb=40)
    proc = spawn(programs["parent"].format(child=child, n=3))
    sample = sample_tree(proc.pid)
    assert sample is not None
    assert sample["psutil_process_children_count"] == 3
    assert sample["psutil_process_memory_resident"] >= 3 * 40 * MIB


def test_a_finished_or_killed_process_gives_no_sample(
    spawn: Callable[[str], subprocess.Popen[str]], programs: dict[str, str]
) -> None:
    proc = spawn(programs["hold"].format(mb=1))
    proc.kill()
    time.sleep(0.2)  # killed but not yet reaped: a zombie has nothing to measure
    assert sample_tree(proc.pid) is None
    proc.wait()
    assert sample_tree(proc.pid) is None


def test_the_node_sample_has_cpu_memory_and_io_counters() -> None:
    sampler = NodeSampler()
    sample = sampler.sample()
    assert sample["cpu_count"] >= 1 and 0 <= sample["cpu_percent"] <= 100
    assert 0 < sample["memory_used"] < sample["memory_total"]
    assert sample["net_sent_bytes"] >= 0 and sample["load_1m"] is not None
    assert sample["gpu_count"] == 0  # no NVML here


def test_the_psutil_path_used_off_linux_measures_the_same(
    spawn: Callable[[str], subprocess.Popen[str]], programs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = spawn(programs["parent"].format(child=programs["hold"].format(mb=40), n=2))
    from_proc = sample_tree(proc.pid)
    monkeypatch.setattr("parsl_monitor_worker.procfs.AVAILABLE", False)
    from_psutil = sample_tree(proc.pid)
    assert from_proc is not None and from_psutil is not None
    assert from_psutil["psutil_process_children_count"] == from_proc["psutil_process_children_count"] == 2
    assert abs(from_psutil["psutil_process_memory_resident"] - from_proc["psutil_process_memory_resident"]) < 4 * MIB
    # taken moments apart, so the state may differ; both paths name it as psutil does
    assert {from_psutil["psutil_process_status"], from_proc["psutil_process_status"]} <= {"sleeping", "running"}


def test_a_final_sample_reads_only_the_tree_and_agrees_with_a_full_sweep(
    spawn: Callable[[str], subprocess.Popen[str]], programs: dict[str, str]
) -> None:
    # A task's final sample follows /proc/<pid>/task/*/children instead of reading every
    # process on the node; both ways must see the same tree.
    proc = spawn(programs["parent"].format(child=programs["hold"].format(mb=20), n=2))
    tree = procfs.scan_tree(proc.pid)
    assert len(tree) == 3
    assert {stat.ppid for pid, stat in tree.items() if pid != proc.pid} == {proc.pid}
    alone = sample_tree(proc.pid)
    swept = sample_trees([proc.pid])[proc.pid]
    assert alone is not None
    assert alone["psutil_process_children_count"] == swept["psutil_process_children_count"] == 2
    assert alone["psutil_process_memory_resident"] == pytest.approx(swept["psutil_process_memory_resident"], rel=0.05)
