"""Indexes the dashboard's per-workflow and per-task queries need.

Parsl's primary keys mostly lead with ``task_id`` or ``try_id``, so "everything of run X"
would scan whole tables without these. Each index costs ingest time; keep the list short.
Rows of one task need no index of their own where the primary key leads with
``task_id`` (``task``, ``status``); for ``resource``, name the task's try ids (from
``try``) and its key ``(try_id, task_id, run_id, timestamp)`` serves the lookup.
"""

from __future__ import annotations

from sqlalchemy import Index

from parsl_monitor_core.schema.tables import Node, Resource, Status, Task, Try, table_of

__all__ = ("INDEXES",)

_t, _s, _y, _r, _n = (table_of(model) for model in (Task, Status, Try, Resource, Node))

INDEXES = (
    Index("pm_task_run_func", _t.c.run_id, _t.c.task_func_name),
    Index("pm_task_run_invoked", _t.c.run_id, _t.c.task_time_invoked),
    Index("pm_status_run_time", _s.c.run_id, _s.c.timestamp),
    Index("pm_try_run_task", _y.c.run_id, _y.c.task_id),
    Index("pm_resource_run_time", _r.c.run_id, _r.c.timestamp),
    Index("pm_node_run_host", _n.c.run_id, _n.c.hostname),
)
