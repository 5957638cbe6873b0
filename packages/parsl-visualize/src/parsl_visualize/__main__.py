"""``python -m parsl_visualize``: the same as the ``parsl-visualize`` command."""

import sys

from parsl_visualize.cli import main

sys.exit(main())
