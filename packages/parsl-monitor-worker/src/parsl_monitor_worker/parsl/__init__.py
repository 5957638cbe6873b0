"""The only modules of the worker package that import Parsl (a lint rule keeps it so).

``radio`` is ``ZMQRadio``; ``task_wrapper`` replaces Parsl's per-task monitoring wrapper for
its tasks, guarded against a Parsl whose wrapper has another shape. The node agent needs none
of this, so it runs where Parsl is not installed.
"""

from __future__ import annotations

import parsl

from parsl_monitor_core.parsl_range import warn_if_untested

warn_if_untested(parsl.__version__)  # one warning for a Parsl outside the tested range, never a crash
