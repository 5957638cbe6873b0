"""One supported Parsl range, declared alike everywhere, and one warning outside it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import parsl
import pytest
import tomllib

from parsl_monitor_core.parsl_range import TESTED, untested_reason

ROOT = Path(__file__).resolve().parents[1]


def _extra(package: str) -> str:
    project = tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())["project"]
    (requirement,) = project["optional-dependencies"]["parsl"]
    return str(requirement)


def test_the_hub_and_the_worker_declare_the_tested_range_and_ci_runs_both_ends() -> None:
    floor, newest = TESTED
    assert _extra("parsl-monitor-hub") == f"parsl[monitoring]>={floor},<2027"
    assert _extra("parsl-monitor-worker") == f"parsl>={floor},<2027"
    envs = tomllib.loads((ROOT / "hatch.toml").read_text())["envs"]
    assert f"parsl[monitoring]=={newest}" in envs["hatch-test"]["extra-dependencies"]
    assert f"parsl[monitoring]=={floor}" in envs["floor"]["dependencies"]
    assert "hatch run floor:test" in (ROOT / "README.md").read_text()  # the suite's command runs the floor too


def test_this_parsl_is_inside_the_range() -> None:
    assert untested_reason(parsl.__version__) is None


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2025.06.30", None),
        ("2026.10.26", None),
        ("2025.06.23", "older than 2025.6.30"),
        ("2026.11.2", "newer than 2026.10.26"),
        ("1.3.0-dev", "older than 2025.6.30"),
        ("main", "not a release version"),
    ],
)
def test_versions_outside_the_range_are_named(version: str, expected: str | None) -> None:
    reason = untested_reason(version)
    assert reason is None if expected is None else expected in str(reason)


def test_a_newer_parsl_gets_one_warning_and_no_crash() -> None:
    # Parsl's version as a newer release would report it, then both packages' fenced modules
    program = (
        "import parsl; parsl.__version__ = '2026.11.02'\n"
        "from parsl_monitor_hub import MonitoringHub; from parsl_monitor_worker import ZMQRadio\n"
        "MonitoringHub(), ZMQRadio(); print('imported')"
    )
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", program], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"
    warned = [line for line in done.stderr.splitlines() if "UntestedParslWarning" in line]
    assert len(warned) == 1 and "Parsl 2026.11.02 is newer than 2026.10.26" in warned[0]
