"""The four wheels, installed as a user installs them: from the files alone plus the public index.

Each part goes into a fresh virtual environment of its own: the dashboard alone (no Parsl,
pyzmq or pandas may come with it), and the hub and the worker beside the oldest Parsl we
support, running a real workflow with ZMQRadio and a node agent.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from parsl_monitor_core.parsl_range import TESTED

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import ViewerProcess

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("parsl-monitor-core", "parsl-monitor-hub", "parsl-monitor-worker", "parsl-visualize")
INSTALL_TIMEOUT = 900


def _run(*command: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _venv(path: Path) -> Path:
    """A fresh virtual environment with pip (the base interpreter's, not this test's)."""
    base = getattr(sys, "_base_executable", sys.executable)
    _run(base, "-m", "venv", path)
    return path / "bin"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The four wheels, built from the checkout by pip (hatchling from the index)."""
    root = tmp_path_factory.mktemp("wheels")
    pip = _venv(root / "builder") / "pip"
    _run(pip, "wheel", "--no-deps", "--wheel-dir", root / "dist", *(ROOT / "packages" / p for p in PACKAGES))
    built = {p: next((root / "dist").glob(f"{p.replace('-', '_')}-*.whl")) for p in PACKAGES}
    assert len(list((root / "dist").glob("*.whl"))) == len(PACKAGES)
    return built


def _installed(python: Path, *names: str) -> dict[str, str | None]:
    program = (
        "import json, sys, importlib.metadata as m\n"
        "def version(n):\n"
        "    try: return m.version(n)\n"
        "    except m.PackageNotFoundError: return None\n"
        "print(json.dumps({n: version(n) for n in sys.argv[1:]}))"
    )
    return json.loads(_run(python, "-c", program, *names))  # type: ignore[no-any-return]


def test_the_dashboard_alone_installs_without_parsl_pyzmq_or_pandas_and_serves(
    wheels: dict[str, Path],
    tmp_path: Path,
    mixed_runs: dict[str, tuple[Path, dict[str, Any]]],
    start_viewer: Callable[..., ViewerProcess],
) -> None:
    bin_dir = _venv(tmp_path / "viewer")
    _run(bin_dir / "pip", "install", wheels["parsl-visualize"], wheels["parsl-monitor-core"])
    present = _installed(bin_dir / "python", "parsl-visualize", "parsl", "pyzmq", "pandas")
    assert present["parsl-visualize"] is not None
    assert {name: present[name] for name in ("parsl", "pyzmq", "pandas")} == dict.fromkeys(("parsl", "pyzmq", "pandas"))
    run_dir, summary = mixed_runs["ours"]
    viewer = start_viewer(str(run_dir / "monitoring.db"), (str(bin_dir / "parsl-visualize"),))
    with urllib.request.urlopen(f"{viewer.url}/api/workflows", timeout=30) as answer:  # noqa: S310 - loopback
        workflows = json.load(answer)
    assert summary["run_id"] in json.dumps(workflows)


def test_the_hub_and_the_worker_install_beside_the_oldest_parsl_and_monitor_a_workflow(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    floor = TESTED[0]
    bin_dir = _venv(tmp_path / "program")
    _run(
        bin_dir / "pip",
        "install",
        f"parsl=={floor}",  # the user's Parsl first: our declared range must keep it
        wheels["parsl-monitor-core"],
        f"{wheels['parsl-monitor-hub']}[parsl]",
        f"{wheels['parsl-monitor-worker']}[parsl]",
    )
    _run(bin_dir / "pip", "check")
    installed = str(_installed(bin_dir / "python", "parsl")["parsl"])
    assert [int(part) for part in installed.split(".")] == [int(part) for part in floor.split(".")]
    run_dir = tmp_path / "run" / "runinfo"
    run_dir.parent.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}  # the workers' shell finds our tools
    workflow = ROOT / "integration-tests" / "workflows" / "mixed.py"
    out = _run(
        bin_dir / "python",
        workflow,
        "--monitoring",
        "ours",
        "--zmqradio",
        "--run-dir",
        run_dir,
        "--noop",
        "5",
        env=env,
        cwd=run_dir.parent,
    )
    summary = json.loads(out.strip().splitlines()[-1])
    with sqlite3.connect(run_dir / "monitoring.db") as db:
        ((launched,),) = db.execute("select count(*) from status where task_status_name = 'launched'")
        ((running,),) = db.execute("select count(task_try_time_running) from try")
        ((samples,),) = db.execute("select count(*) from resource")
    assert summary["noops"] == 5
    assert running == launched > 5  # the program launched them (its own records); each worker said it ran one
    assert samples > 0  # the node agent sampled
