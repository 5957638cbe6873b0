"""Run the benchmarks and print their results.

python -m benchmarks.run            # full sizes (several minutes)
python -m benchmarks.run --quick    # tiny sizes: checks the benchmarks still work
python -m benchmarks.run --only ingest backlog workflow
python -m benchmarks.run --only resources --rounds 5 --without-parsl   # interleaved none / ours only
python -m benchmarks.run --only startup     # what a user waits for: the hub's start, parsl.load(), the close
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import (
    bench_agent,
    bench_backlog,
    bench_ingest,
    bench_node_load,
    bench_startup,
    bench_viewer,
    bench_workflow,
)

FULL = {
    "ingest": 1_000_000,
    "backlog": 1_000_000,
    "workflow": 10_000,
    "rounds": 3,
    "deadline": 300,
    "viewer": [1_000, 20_000, 100_000],
    "viewer_parsl_up_to": 20_000,
    "viewer_deadline": 180,
    "agent": [100, 1_000],
    "resource_rounds": 1,  # Parsl's per-task monitoring processes make one round of 10,000 tasks take minutes
    "node_load": [50_000, 100_000, 200_000, 400_000],
    "node_interval": 10.0,
    "node_intervals": 3,
    "starts": 10,
    "startup_rounds": 5,
}
QUICK = {
    "ingest": 2_000,
    "backlog": 5_000,
    "workflow": 100,
    "rounds": 1,
    "deadline": 120,
    "viewer": [200],
    "viewer_parsl_up_to": 200,
    "viewer_deadline": 60,
    "agent": [20],
    "resource_rounds": 1,
    "node_load": [500],
    "node_interval": 1.0,
    "node_intervals": 2,
    "starts": 2,
    "startup_rounds": 1,
}
BENCHMARKS = ["ingest", "backlog", "workflow", "resources", "startup", "viewer", "agent", "node-load"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=BENCHMARKS)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--rounds", type=int, help="rounds of the workflow benchmarks (default: 3, resources 1)")
    parser.add_argument(
        "--without-parsl", action="store_true", help="workflow benchmarks: leave Parsl's monitoring out (it is slow)"
    )
    args = parser.parse_args()
    sizes: dict[str, Any] = dict(QUICK if args.quick else FULL)
    if args.rounds:
        sizes["rounds"] = sizes["resource_rounds"] = args.rounds
    print(
        f"machine: {platform.node()}, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="parsl-monitor-bench-") as tmp:
        workdir = Path(tmp)
        if "ingest" in args.only:
            results["ingest"] = bench_ingest.run(workdir, sizes["ingest"], sizes["rounds"])
        if "backlog" in args.only:
            results["backlog"] = bench_backlog.run(workdir, sizes["backlog"], deadline=sizes["deadline"])
        if "workflow" in args.only:
            results["workflow"] = bench_workflow.run(
                workdir, sizes["workflow"], sizes["rounds"], with_parsl=not args.without_parsl
            )
        if "resources" in args.only:
            results["resources"] = bench_workflow.run(
                workdir, sizes["workflow"], sizes["resource_rounds"], interval=10.0, with_parsl=not args.without_parsl
            )
        if "startup" in args.only:
            results["startup"] = bench_startup.run(
                workdir, sizes["starts"], sizes["startup_rounds"], 100, with_parsl=not args.without_parsl
            )
        if "viewer" in args.only:
            results["viewer"] = bench_viewer.run(
                workdir, sizes["viewer"], parsl_up_to=sizes["viewer_parsl_up_to"], deadline=sizes["viewer_deadline"]
            )
        if "node-load" in args.only:
            results["node_load"] = bench_node_load.run(
                workdir, sizes["node_load"], sizes["node_interval"], sizes["node_intervals"]
            )
        if "agent" in args.only:
            results["agent"] = bench_agent.run(str(workdir), sizes["agent"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
