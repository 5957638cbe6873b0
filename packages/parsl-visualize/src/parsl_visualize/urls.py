"""The dashboard's URLs, at the paths of Parsl's own parsl-visualize (links and tunnels keep working)."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlencode

__all__ = (
    "URLS",
    "app_url",
    "compare_url",
    "dag_url",
    "from_segment",
    "history_url",
    "nodes_url",
    "resource_url",
    "segment",
    "task_list_url",
    "task_url",
    "tasks_csv_url",
    "workflow_url",
)


def segment(value: str) -> str:
    """``value`` as one path segment, whatever it holds ("/" included), read back by :func:`from_segment`.

    Quoted twice: servers decode a path once before routing, so a single ``%2F`` would
    become a "/" and split the segment. Parsl's run ids (UUIDs) look the same either way.
    """
    return quote(quote(value, safe=""), safe="")


def from_segment(value: str) -> str:
    """The value :func:`segment` encoded, from the path parameter the router gives (decoded once)."""
    return unquote(value)


def workflow_url(run_id: str) -> str:
    """The run's summary page."""
    return f"/workflow/{segment(run_id)}/"


def task_url(run_id: str, task_id: int | str) -> str:
    """A task's page; ``task_id`` may be the placeholder ``{task_id}`` for chart links."""
    return f"{workflow_url(run_id)}task/{task_id}"


def task_list_url(run_id: str, **filters: object) -> str:
    """The task list, with filters as query parameters (empty ones left out)."""
    query = urlencode({key: value for key, value in filters.items() if value not in (None, "", False)})
    return f"{workflow_url(run_id)}task/" + (f"?{query}" if query else "")


def app_url(run_id: str, app: str) -> str:
    """An app's page: its tasks and figures."""
    return f"{workflow_url(run_id)}app/{segment(app)}"


def dag_url(run_id: str, color_by: str, every_node: bool = False) -> str:
    """The DAG coloured by ``apps`` or ``states``."""
    return f"{workflow_url(run_id)}dag_group_by_{color_by}" + ("?all=1" if every_node else "")


def resource_url(run_id: str) -> str:
    """The run's resource usage page."""
    return f"{workflow_url(run_id)}resource_usage"


def nodes_url(run_id: str) -> str:
    """The run's nodes and blocks page."""
    return f"{workflow_url(run_id)}nodes"


def history_url(name: str) -> str:
    """The runs of one workflow name over time."""
    return f"/history/{segment(name)}"


def compare_url(a: str, b: str) -> str:
    """Two runs side by side."""
    return "/compare?" + urlencode({"a": a, "b": b})


def tasks_csv_url(run_id: str) -> str:
    """All tasks of the run as CSV."""
    return f"{workflow_url(run_id)}tasks.csv"


URLS = {
    "workflow_url": workflow_url,
    "task_url": task_url,
    "task_list_url": task_list_url,
    "app_url": app_url,
    "dag_url": dag_url,
    "resource_url": resource_url,
    "nodes_url": nodes_url,
    "history_url": history_url,
    "compare_url": compare_url,
    "tasks_csv_url": tasks_csv_url,
}
