"""``python -m parsl_monitor_worker``: the same as the ``parsl-monitor-worker`` command."""

import sys

from parsl_monitor_worker.cli import main

sys.exit(main())
