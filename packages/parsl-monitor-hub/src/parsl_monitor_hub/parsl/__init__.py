"""The only modules of the hub package that import Parsl (a lint rule keeps it so).

``adapter`` is the ``MonitoringHub`` a Parsl ``Config`` takes; ``htex_launch`` and
``interchange`` let a HighThroughputExecutor's interchange send to the hub itself. Everything
they assume about Parsl's internals is checked when they are installed, and by
``tests/test_parsl_canary.py``.
"""
