import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "litestar")


def test_the_task_side_imports_nothing_heavy() -> None:
    # A fresh interpreter, as a task process is: what does importing our worker side pull in?
    code = (
        "import json, sys\n"
        "import parsl_monitor_worker, parsl_monitor_core.wire\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
    assert (
        "msgpack"
        in subprocess.run(
            [sys.executable, "-c", "import sys, parsl_monitor_core.wire; print(sorted(sys.modules))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
