from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from collections.abc import Callable

import pytest

HERE = Path(__file__).parent
WORKFLOW = HERE / "workflows" / "mixed.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def parsl_env() -> dict[str, str]:
    """LocalProvider starts process_worker_pool.py through the shell: our interpreter's bin must be on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_workflow(run_dir: Path, monitoring: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    """Run workflows/mixed.py in a fresh interpreter (as a user would) and return its JSON summary."""
    result = subprocess.run(
        [sys.executable, str(WORKFLOW), "--monitoring", monitoring, "--run-dir", str(run_dir), *args],
        cwd=run_dir.parent, env=parsl_env(), capture_output=True, text=True, timeout=timeout, check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


RunWorkflow = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def run_mixed() -> RunWorkflow:
    """``run_mixed(run_dir, "ours" | "parsl" | "none", *extra_args)``: run workflows/mixed.py to completion."""
    return run_workflow
