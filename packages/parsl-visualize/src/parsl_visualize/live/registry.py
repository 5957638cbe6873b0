"""The runs held in memory: built when first viewed (running runs before), refreshed when asked, evicted when too many.

A model costs memory in proportion to its run (docs/benchmarks.md measures it: about
0.5 GB for a million tasks, another 0.2 GB once their resource samples are read), so the
registry keeps models up to a total number of tasks and drops the least recently used
beyond it; a dropped run is built again if viewed again.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import TYPE_CHECKING

from parsl_visualize.live.model import RunModel

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from parsl_visualize.queries.workflows import WorkflowRow

__all__ = ("MAX_MODELS", "MAX_TASKS", "ModelRegistry")

MAX_MODELS = 16
MAX_TASKS = 3_000_000
"""Tasks held in memory across all models before the least recently viewed is dropped."""


class ModelRegistry:
    """Run id -> its model, least recently used first."""

    def __init__(self, max_models: int = MAX_MODELS, max_tasks: int = MAX_TASKS) -> None:
        self._max_models = max_models
        self._max_tasks = max_tasks
        self._models: collections.OrderedDict[str, RunModel] = collections.OrderedDict()
        self._checked: dict[str, float] = {}
        self._fresh_until: dict[str, float] = {}
        self._followed_runs: dict[str, WorkflowRow] = {}
        self._lock = threading.Lock()

    def model(self, conn: Connection, run_id: str, *, running: bool = False) -> RunModel:
        """The run's model, up to date as of this call (built on first use).

        Viewers polling together share one read: a request that waited while another
        refreshed the model takes that refresh, which began after it arrived. While the
        caller sees the run ``running`` (no end in its workflow row), a model the
        background reader keeps current is taken as it is until its next look is due (see
        :meth:`follow`): the page shows the run as of that look. Once the run has ended the
        model is brought up to date at once, so its last page is whole.
        """
        arrived = time.monotonic()
        with self._lock:
            model = self._models.get(run_id)
            if model is None:
                model = self._models[run_id] = RunModel(run_id)
            self._models.move_to_end(run_id)
        if not (running and arrived < self._fresh_until.get(run_id, 0.0)):
            with model.reading:
                if self._checked.get(run_id, -1.0) < arrived:
                    self._checked[run_id] = time.monotonic()
                    model.refresh(conn)
        self._evict(keep=run_id)
        return model

    def follow(self, conn: Connection, run: WorkflowRow, now: float, fresh_for: float) -> RunModel | None:
        """Build or bring up to date a run's model before anyone asks (the background reader).

        The model is read as a page's first view would read it (:meth:`RunModel.prepare`),
        but it never displaces a model someone looked at: a new one is put last in line
        for eviction, and None says that it did not fit and was dropped again. For
        ``fresh_for`` seconds, until the reader's next look, pages take the model as it is
        rather than look for new rows themselves: on PostgreSQL that look is a scan of the
        run's rows (reference/live-model.md), which every poll would otherwise pay again.
        They take the run's workflow row as the look read it too (:meth:`followed_run`),
        so a poll that finds nothing new answers without reading the database.
        """
        run_id = run.run_id
        with self._lock:
            model = self._models.get(run_id)
            if model is None:
                model = self._models[run_id] = RunModel(run_id)
                self._models.move_to_end(run_id, last=False)
        with model.reading:
            self._checked[run_id] = time.monotonic()
            model.refresh(conn)
            model.prepare(conn, now)
            self._followed_runs[run_id] = run
            self._fresh_until[run_id] = time.monotonic() + fresh_for
        self._evict(keep=None)
        return model if run_id in self._models else None

    def followed_run(self, run_id: str) -> WorkflowRow | None:
        """The run's workflow row as the background reader's last look read it; None once its next look is late."""
        if time.monotonic() < self._fresh_until.get(run_id, 0.0):
            return self._followed_runs.get(run_id)
        return None

    def _evict(self, keep: str | None) -> None:
        with self._lock:
            while self._models and (len(self._models) > 1 or keep is None):
                total = sum(len(model.tasks) for model in self._models.values())
                if len(self._models) <= self._max_models and total <= self._max_tasks:
                    return
                oldest = next(iter(self._models))
                if oldest == keep:
                    return
                del self._models[oldest]
                self._checked.pop(oldest, None)
                self._fresh_until.pop(oldest, None)
                self._followed_runs.pop(oldest, None)

    def __contains__(self, run_id: str) -> bool:
        return run_id in self._models
