"""Across runs: one workflow's runs over time, and two runs side by side."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from parsl_visualize.charts.history import history_chart
from parsl_visualize.links import from_segment
from parsl_visualize.live.compare import compare_apps
from parsl_visualize.queries.workflows import find_workflow, list_workflows

if TYPE_CHECKING:
    from litestar.di import NamedDependency
    from litestar.params import FromPath, FromQuery
    from sqlalchemy import Connection

    from parsl_visualize.db import Database
    from parsl_visualize.live.registry import ModelRegistry

__all__ = ("HistoryController",)


class HistoryController(Controller):
    """``/history/<workflow name>`` and ``/compare?a=<run_id>&b=<run_id>``."""

    include_in_schema = False

    @get("/history/{workflow_name:str}", name="history", sync_to_thread=True)
    def history(
        self,
        *,
        db: NamedDependency[Database],
        conn: NamedDependency[Connection],
        workflow_name: FromPath[str],
    ) -> Template:
        """Every run of one workflow name: duration, tasks and failures over time, oldest first in the chart."""
        name = from_segment(workflow_name)  # a path value called ``name`` would clash with route_reverse's own argument
        runs = sorted(
            (r for r in list_workflows(conn, db.now(), ledger=db.has_ledger) if r.name == name), key=lambda r: r.began
        )
        if not runs:
            raise NotFoundException(f"no workflow named {name!r} in this database")
        previous = {run.run_id: before.run_id for before, run in itertools.pairwise(runs)}
        context = {
            "name": name,
            "runs": runs[::-1],
            "previous": previous,
            "history": history_chart(runs),
            "zone": db.zone_label,
            "utc": db.utc,
        }
        return Template(template_name="pages/history.html.j2", context=context)

    @get("/compare", name="compare", sync_to_thread=True)
    def compare(
        self,
        *,
        db: NamedDependency[Database],
        conn: NamedDependency[Connection],
        models: NamedDependency[ModelRegistry],
        a: FromQuery[str],
        b: FromQuery[str],
    ) -> Template:
        """Two runs side by side: per app, tasks, failures and where the time went, with the changes marked."""
        runs = []
        for run_id in (a, b):
            run = find_workflow(conn, run_id, db.now(), ledger=db.has_ledger)
            if run is None:
                raise NotFoundException(f"no workflow run {run_id!r} in this database")
            runs.append(run)
        first, second = (models.model(conn, run.run_id) for run in runs)
        context: dict[str, Any] = {
            "a": runs[0].with_progress(first.progress()),
            "b": runs[1].with_progress(second.progress()),
            "summaries": (first.summary(), second.summary()),
            "apps": compare_apps(first.apps(), second.apps()),
            "zone": db.zone_label,
            "utc": db.utc,
        }
        return Template(template_name="pages/compare.html.j2", context=context)
