import json
import subprocess
import sys


def test_the_viewer_does_not_import_parsl_zmq_or_pandas() -> None:
    # `pip install parsl-visualize` alone must work: none of these are its dependencies.
    code = (
        "import json, sys\n"
        "import parsl_visualize\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('parsl', 'zmq', 'pandas'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
