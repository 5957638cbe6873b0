"""``python -m parsl_monitor_hub.writing``: the writer process (see :mod:`.process`)."""

from parsl_monitor_hub.writing.process import main

main()
