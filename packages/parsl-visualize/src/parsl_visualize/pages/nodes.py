"""A run's nodes and blocks: where its workers ran, what they had, and what became of each batch job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, get

from parsl_visualize.failure_text import FailureText
from parsl_visualize.pages._run import live_page
from parsl_visualize.queries.nodes import run_blocks, run_nodes

if TYPE_CHECKING:
    from litestar.di import NamedDependency
    from litestar.params import FromQuery
    from litestar.plugins.htmx import HTMXRequest
    from litestar.response import Response

    from parsl_visualize.pages._run import RunContext
    from parsl_visualize.queries.nodes import NodeRow

__all__ = ("NodeController", "executor_failures")

EXECUTOR_ERRORS = frozenset({"BadStateException", "TooManyJobFailuresError", "ExecutorError"})
"""Failures Parsl gives tasks when their executor gave up (its blocks failed), not the tasks themselves."""


def executor_failures(ctx: RunContext) -> list[FailureText]:
    """How the run's executors failed, as their tasks recorded it (Parsl keeps no reason with a block's state)."""
    return [FailureText(g.type, g.message) for g in ctx.model.failures().groups if g.type in EXECUTOR_ERRORS]


def _largest_per_host(nodes: list[NodeRow]) -> dict[str, int]:
    """Cores per host: pools on one host share its cores, so its largest pool counts."""
    cores: dict[str, int] = {}
    for node in nodes:
        cores[node.hostname] = max(cores.get(node.hostname, 0), node.cores)
    return cores


def _context(ctx: RunContext) -> dict[str, Any]:
    nodes = run_nodes(ctx.conn, ctx.run.run_id)
    return {
        "nodes": nodes,
        "blocks": run_blocks(ctx.conn, ctx.run.run_id),
        "hosts": len({node.hostname for node in nodes}),
        "cores": sum(_largest_per_host(nodes).values()),
        "executor_failures": executor_failures(ctx),
    }


class NodeController(Controller):
    """``/workflow/<run_id>/nodes``."""

    include_in_schema = False

    @get("/workflow/{run_id:str}/nodes", name="nodes", sync_to_thread=True)
    def nodes(
        self,
        *,
        request: HTMXRequest,
        ctx: NamedDependency[RunContext],
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Worker pools (host, cores, memory, workers, first and last heartbeat) and blocks with their states."""

        def context() -> dict[str, Any]:
            return ctx.cached("nodes", lambda: _context(ctx))

        return live_page(request, ctx, ("pages/nodes.html.j2", "fragments/nodes.html.j2"), context, since)
