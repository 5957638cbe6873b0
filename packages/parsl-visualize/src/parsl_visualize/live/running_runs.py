"""Running runs read as soon as the server starts, and kept current in the background.

Building a run's model costs several full passes over its rows (docs/benchmarks.md), and
the resource samples and the summary's timeline more again. Paid by the first view, that
is seconds at 100,000 tasks. People open a dashboard to watch a run that is going, so the
server reads the running runs when it starts and when they appear, and brings their
models up to date every few seconds: a page then only renders, and shows the run as the
last look left it (at most ``every`` + :data:`LEEWAY` seconds old). A run that no longer fits
the registry's bound is left to be read when opened; runs that ended are not followed.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from parsl_visualize.queries.workflows import open_workflows

if TYPE_CHECKING:
    from collections.abc import Callable

    from parsl_visualize.db import Database
    from parsl_visualize.live.registry import ModelRegistry

__all__ = ("FOLLOW_EVERY", "LEEWAY", "RunningRunReader")

FOLLOW_EVERY = 2.0
"""Seconds between two looks for new rows of the running runs (a look that finds nothing costs a few lookups)."""
LEEWAY = 1.0
"""Seconds a look may take (all running runs' reads) before pages look for new rows themselves."""


class RunningRunReader:
    """A daemon thread that keeps the models of the database's running runs built and current."""

    def __init__(
        self,
        db: Database,
        models: ModelRegistry,
        report: Callable[[str], None],
        every: float = FOLLOW_EVERY,
    ) -> None:
        self._db = db
        self._models = models
        self._report = report
        self._every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="running-run-reader", daemon=True)
        self._read: set[str] = set()
        self._too_big: set[str] = set()
        self._trouble: str | None = None

    def start(self) -> None:
        """Begin reading (the server's start-up hook)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop between two runs' reads (the server's shut-down hook); a build under way is not waited for."""
        self._stopping.set()
        self._thread.join(timeout=1.0)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.sweep()
                self._trouble = None
            except SQLAlchemyError as exc:  # the database went away or is locked: say so once, keep trying
                trouble = str(exc).splitlines()[0]
                if trouble != self._trouble:
                    self._report(f"cannot read the running runs in the background ({trouble}); trying again")
                self._trouble = trouble
            self._stopping.wait(self._every)  # after the look, not from its start: a page never waits for two in a row

    def sweep(self) -> None:
        """Build or bring up to date the model of every running run (one look)."""
        db = self._db
        with db.engine.connect() as conn:
            running = [run for run in open_workflows(conn, db.now(), ledger=db.has_ledger) if run.status == "running"]
            for run in running:
                if self._stopping.is_set():
                    return
                if run.run_id in self._too_big:
                    continue
                started = time.perf_counter()
                model = self._models.follow(conn, run, db.seconds_now(), fresh_for=self._every + LEEWAY)
                conn.rollback()  # end the read transaction: the next run's read sees newer rows
                if model is None:
                    self._too_big.add(run.run_id)
                    self._report(
                        f"running run {run.run_id} ({run.name}) is too big to keep in memory with the runs "
                        "already open: its pages read it when opened"
                    )
                elif run.run_id not in self._read:
                    self._read.add(run.run_id)
                    self._report(
                        f"read running run {run.run_id} ({run.name}): {len(model.tasks):,} tasks in "
                        f"{time.perf_counter() - started:.1f} s; its pages follow it from here"
                    )
