"""Node agent cost: CPU time of one sampling sweep over N running task processes.

Each "task" is a real process (``sleep``) registered with an in-process NodeAgent, as a
task's first message would register it; every sweep samples the node and every task's
process tree and sends the rows to a socket standing in for the hub.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from typing import Any

import zmq

from parsl_monitor_worker.channel import close_channels
from parsl_monitor_worker.node_agent import NodeAgent

SWEEPS = 5


def _sweep_cost(tasks: int, workdir: str) -> dict[str, Any]:
    context = zmq.Context()
    hub = context.socket(zmq.ROUTER)
    port = hub.bind_to_random_port("tcp://127.0.0.1")
    processes = [subprocess.Popen(["sleep", "600"]) for _ in range(tasks)]  # noqa: S607 - coreutils
    agent = NodeAgent(f"ipc://{workdir}/agent-{tasks}", interval=10)
    try:
        for i, proc in enumerate(processes):
            agent.handle(["start", "bench-run", i, 0, proc.pid, f"tcp://127.0.0.1:{port}", 10.0, "0"])
        agent.sample_all()  # warm-up: imports, first /proc walk
        costs = []
        for _ in range(SWEEPS):
            start = time.process_time()
            agent.sample_all()
            costs.append(time.process_time() - start)
        received = 0
        while hub.poll(200):
            hub.recv_multipart()
            received += 1
    finally:
        for proc in processes:
            proc.kill()
        for proc in processes:
            proc.wait()
        agent.close()
        close_channels()
        hub.close(linger=0)
        context.term()
    cost = statistics.median(costs)
    print(f"agent, {tasks:>5,} task processes: {cost * 1000:6.1f} ms CPU per sweep (median of {SWEEPS})", flush=True)
    return {"tasks": tasks, "cpu_s": costs, "median_cpu_s": cost, "frames": received}


def run(workdir: str, sizes: list[int]) -> list[dict[str, Any]]:
    return [_sweep_cost(tasks, workdir) for tasks in sizes]
