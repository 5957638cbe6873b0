"""The JSON API: the same data as the pages, documented at ``/schema/openapi.json``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Controller, get
from litestar.exceptions import NotFoundException

from parsl_visualize.live.failures import FailureReport  # noqa: TC001 - Litestar reads return types at runtime
from parsl_visualize.live.model import AppSummary, RunSummary, TaskFilter, TaskPage  # noqa: TC001
from parsl_visualize.queries.nodes import BlockRow, NodeRow, run_blocks, run_nodes
from parsl_visualize.queries.task_detail import TaskDetail, task_detail
from parsl_visualize.queries.workflows import WorkflowRow, list_workflows, sort_runs

if TYPE_CHECKING:
    from litestar.di import NamedDependency
    from sqlalchemy import Connection

    from parsl_visualize.db import Database
    from parsl_visualize.live.registry import ModelRegistry
    from parsl_visualize.pages._run import RunContext
    from parsl_visualize.pages.filters import TaskId

__all__ = ("MAX_FAILURE_GROUPS", "ApiController")

MAX_FAILURE_GROUPS = 1000
"""Failure groups the API lists (``more_groups`` counts the rest)."""


class ApiController(Controller):
    """Read-only JSON endpoints under ``/api``. Times are ISO 8601 in the database's zone."""

    path = "/api"
    tags = ["monitoring data"]  # noqa: RUF012 - Litestar's class attribute

    @get("/workflows", summary="Every workflow run", sync_to_thread=True)
    def workflows(
        self,
        *,
        db: NamedDependency[Database],
        conn: NamedDependency[Connection],
        models: NamedDependency[ModelRegistry],
    ) -> list[WorkflowRow]:
        """All runs, newest first, with status and task counts."""
        return sort_runs(
            [
                run
                if run.ended is not None
                else run.with_progress(models.model(conn, run.run_id, running=True).progress())
                for run in list_workflows(conn, db.now(), ledger=db.has_ledger)
            ]
        )

    @get("/workflow/{run_id:str}", summary="One run and its task statistics", sync_to_thread=True)
    def workflow(
        self,
        *,
        ctx: NamedDependency[RunContext],
    ) -> dict[str, WorkflowRow | RunSummary]:
        """The run and its counts per state and duration statistics."""
        return {"workflow": ctx.run, "summary": ctx.model.summary()}

    @get("/workflow/{run_id:str}/apps", summary="The App Summary of a run", sync_to_thread=True)
    def apps(
        self,
        *,
        ctx: NamedDependency[RunContext],
    ) -> list[AppSummary]:
        """Each app with task count, failures, running tasks and durations (seconds)."""
        return ctx.model.apps()

    @get("/workflow/{run_id:str}/failures", summary="Why a run's tasks failed, grouped", sync_to_thread=True)
    def failures(
        self,
        *,
        ctx: NamedDependency[RunContext],
    ) -> FailureReport:
        """Failed tries grouped by type and message (numbers and ids folded), most tries first.

        A group's ``group`` is the ``error`` filter of ``/tasks``.
        """
        return ctx.model.failures(limit=MAX_FAILURE_GROUPS)

    @get("/workflow/{run_id:str}/nodes", summary="Worker pools and blocks of a run", sync_to_thread=True)
    def nodes(
        self,
        *,
        ctx: NamedDependency[RunContext],
    ) -> dict[str, list[NodeRow] | list[BlockRow]]:
        """Each worker pool (host, block, cores, memory, workers, first and last times) and each block's states."""
        return {"nodes": run_nodes(ctx.conn, ctx.run.run_id), "blocks": run_blocks(ctx.conn, ctx.run.run_id)}

    @get("/workflow/{run_id:str}/tasks", summary="Tasks of a run, filtered and paginated", sync_to_thread=True)
    def tasks(
        self,
        *,
        ctx: NamedDependency[RunContext],
        spec: NamedDependency[TaskFilter],
    ) -> TaskPage:
        """Filters as on the task list page; ``per_page`` at most 1000."""
        return ctx.model.task_page(spec)

    @get(
        "/workflow/{run_id:str}/task/{task_id:int}",
        summary="One task with states, tries and resource samples",
        sync_to_thread=True,
    )
    def task(
        self,
        *,
        ctx: NamedDependency[RunContext],
        task_id: TaskId,
    ) -> TaskDetail:
        """Everything recorded about one task."""
        detail = task_detail(
            ctx.conn, ctx.run.run_id, task_id, ctx.model.dependents(task_id), ctx.model.root_failure(task_id)
        )
        if detail is None:
            raise NotFoundException(f"no task {task_id} in workflow run {ctx.run.run_id!r}")
        return detail
