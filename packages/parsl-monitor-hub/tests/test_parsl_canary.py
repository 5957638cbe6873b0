"""The Parsl internals the hub's adapter relies on, checked against the installed Parsl.

When a Parsl release renames or adds one, this test names it; the adapter's guards then
keep the workflow running on Parsl's own path (see ``htex_launch.install``).
"""

from __future__ import annotations

import re
from pathlib import Path

import parsl

from parsl_monitor_hub import MonitoringHub
from parsl_monitor_hub.parsl import htex_launch

PARSL = Path(parsl.__file__).parent
_READ = re.compile(r"\bself\.monitoring\.([a-z_]+)\b")


def test_every_name_the_htex_redirection_uses_exists_in_this_parsl() -> None:
    assert htex_launch.missing_parsl_names() == []


def test_our_monitoring_hub_has_every_attribute_the_data_flow_kernel_reads() -> None:
    source = (PARSL / "dataflow" / "dflow.py").read_text()
    read = set(_READ.findall(source))
    assert {"start", "close", "resource_msgs"} <= read  # the reading still works on this Parsl's source
    hub = MonitoringHub()
    missing = sorted(name for name in read if name != "resource_msgs" and not hasattr(hub, name))
    assert missing == [], f"the DataFlowKernel reads MonitoringHub.{missing} that ours lacks"
    assert hasattr(MonitoringHub, "resource_msgs") or "resource_msgs" in MonitoringHub.start.__code__.co_names
