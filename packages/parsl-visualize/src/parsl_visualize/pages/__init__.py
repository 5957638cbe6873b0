"""Litestar controllers: parse the request, call queries and chart builders, render. No SQL here."""

from parsl_visualize.pages.api import ApiController
from parsl_visualize.pages.dag import DagController
from parsl_visualize.pages.history import HistoryController
from parsl_visualize.pages.nodes import NodeController
from parsl_visualize.pages.resources import ResourceController
from parsl_visualize.pages.tasks import TaskController
from parsl_visualize.pages.workflows import WorkflowController

__all__ = (
    "ApiController",
    "DagController",
    "HistoryController",
    "NodeController",
    "ResourceController",
    "TaskController",
    "WorkflowController",
)
