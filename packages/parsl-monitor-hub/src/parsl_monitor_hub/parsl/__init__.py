"""The only modules of the hub package that import Parsl (a lint rule keeps it so).

``adapter`` is the ``MonitoringHub`` a Parsl ``Config`` takes; ``htex_launch`` and
``interchange`` let a HighThroughputExecutor's interchange send to the hub itself. Everything
they assume about Parsl's internals is checked when they are installed, and by
``tests/test_parsl_canary.py``.
"""

from __future__ import annotations

import parsl

from parsl_monitor_core.parsl_range import warn_if_untested

warn_if_untested(parsl.__version__)  # one warning for a Parsl outside the tested range, never a crash
