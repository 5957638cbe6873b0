"""The program's log names the command that shows its dashboard, and warns when Parsl's took the name."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from parsl_monitor_hub.dashboard_hint import dashboard_hint

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

OURS = "import sys\nfrom parsl_visualize.cli import main\nsys.exit(main())\n"
PARSLS = "import sys\nfrom parsl.monitoring.visualization.app import cli_run\nsys.exit(cli_run())\n"
DB = "sqlite:///runinfo/monitoring.db"


def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **scripts: str) -> None:
    for name, text in scripts.items():
        script = tmp_path / name.replace("_", "-")
        script.write_text(f"#!/usr/bin/python3\n{text}")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))


def test_our_parsl_visualize_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(tmp_path, monkeypatch, parsl_visualize=OURS, parsl_monitor_visualize=OURS)
    assert dashboard_hint(DB) == (logging.INFO, f"watch this workflow with: parsl-visualize {DB}")


def test_parsl_s_script_under_the_name_is_a_warning_naming_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path(tmp_path, monkeypatch, parsl_visualize=PARSLS, parsl_monitor_visualize=OURS)
    level, line = dashboard_hint(DB)
    assert level == logging.WARNING
    assert "is Parsl's own dashboard" in line and line.endswith(f"parsl-monitor-visualize {DB}")


def test_without_ours_installed_it_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(tmp_path, monkeypatch, parsl_visualize=PARSLS)
    level, line = dashboard_hint(DB)
    assert level == logging.WARNING and line.endswith("pip install --force-reinstall parsl-visualize")
    (tmp_path / "empty").mkdir()
    on_path(tmp_path / "empty", monkeypatch)  # neither command installed
    assert dashboard_hint(None) == (
        logging.INFO,
        "to watch this workflow: pip install parsl-visualize, then run parsl-visualize",
    )
