import sys

from parsl_monitor_hub.cli import main

sys.exit(main())
