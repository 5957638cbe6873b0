import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "litestar")


def heavy_modules_added(setup: str, imports: str) -> list[str]:
    """In a fresh interpreter (as a task process starts): heavy modules ``imports`` loads beyond ``setup``."""
    probe = (
        f"import json, sys\n{setup}\nbefore = set(sys.modules)\n{imports}\n"
        f"print(json.dumps(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in {HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return list(json.loads(out.strip().splitlines()[-1]))


def test_the_node_agent_and_the_wire_import_nothing_heavy() -> None:
    imports = "import parsl_monitor_worker.node_agent, parsl_monitor_worker.channel, parsl_monitor_core.wire"
    assert heavy_modules_added("", imports) == []


def test_the_task_side_adds_nothing_heavy_to_what_parsl_already_loads() -> None:
    # `import parsl` itself loads SQLAlchemy when it is installed (its monitoring package
    # tries db_manager), so a Parsl worker has it already; the radio must add none.
    imports = (
        "import parsl_monitor_worker.parsl.radio, parsl_monitor_worker.parsl.task_wrapper, "
        "parsl_monitor_worker.agent_link"
    )
    assert heavy_modules_added("import parsl", imports) == []
