"""The per-task monitoring wrapper, built once per app instead of once per task.

Parsl's DataFlowKernel wraps every task in ``parsl.monitoring.remote.monitor_wrapper``,
which returns a new closure per task: Parsl's serializer caches functions by identity, so
each task's closure is serialized again (about 1.2 ms measured here) and deserialized on
the worker, and a multiprocessing ``Event`` is made per task (0.3 ms) for the sampling
process it may fork. With ``ZMQRadio`` and node agents there is no such process, so this
wrapper is the same function object for every task of an app (serialized once) and only
sends the task's first and last messages (Parsl's fields), through the node agent when
one runs (see :mod:`parsl_monitor_worker.agent_link`).

``ZMQRadio`` installs it on the submit side when its receiver is created and removes it
when the executor shuts down; tasks of other radios keep Parsl's wrapper.

Parsl may change its private wrapper. The DataFlowKernel sets an exception raised here on
the task's future, so a mismatch would fail every task, not only monitoring. Hence two
guards: :func:`install` replaces Parsl's wrapper only if it has exactly the keywords this
module knows (else it logs one warning and leaves Parsl's in place), and :func:`monitored`
hands any call with other keywords to Parsl's wrapper untouched.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from parsl_monitor_worker.parsl.radio import ZMQRadio

__all__ = ("install", "monitored", "uninstall")

logger = logging.getLogger(__name__)

PARSL_KEYWORDS = frozenset(
    {
        "f",
        "args",
        "kwargs",
        "x_try_id",
        "x_task_id",
        "radio_config",
        "run_id",
        "logging_level",
        "sleep_dur",
        "monitor_resources",
        "run_dir",
    }
)
"""The keyword-only parameters of ``parsl.monitoring.remote.monitor_wrapper`` this module replaces."""
_TASK_KEY = "_parsl_monitoring_task_id"
_TRY_KEY = "_parsl_monitoring_try_id"
_lock = threading.Lock()
_wrappers: dict[tuple[Any, int, str, bool], Callable[..., Any]] = {}
_original: Callable[..., Any] | None = None
_installs = 0


def _build(f: Callable[..., Any], radio_config: ZMQRadio, run_id: str, *, sampled: bool) -> Callable[..., Any]:
    """``sampled``: Parsl's ``executor.monitor_resources()``, False where tasks share a process."""

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = (run_id, kwargs.pop(_TASK_KEY), kwargs.pop(_TRY_KEY))
        sender = radio_config.create_sender()
        try:
            sender.task_started(key, sampled=sampled)
        except Exception:  # monitoring never fails a task
            logger.exception("first monitoring message of task %s not sent", key)
        try:
            return f(*args, **kwargs)
        finally:
            try:
                sender.task_ended(key, sampled=sampled)
            except Exception:
                logger.exception("last monitoring message of task %s not sent", key)

    return wrapped


def monitored(**call: Any) -> tuple[Callable[..., Any], Sequence[Any], dict[str, Any]]:
    """Drop-in for Parsl's ``monitor_wrapper``: the cached wrapper for ZMQRadio tasks, Parsl's otherwise.

    A call with keywords other than :data:`PARSL_KEYWORDS` (a newer Parsl) goes to Parsl's
    wrapper as it is: monitoring as Parsl does it, never a failed task.
    """
    from parsl_monitor_worker.parsl.radio import ZMQRadio

    radio_config = call.get("radio_config")
    if call.keys() != PARSL_KEYWORDS or not isinstance(radio_config, ZMQRadio):
        assert _original is not None  # noqa: S101 - installed before any call
        return _original(**call)  # type: ignore[no-any-return]
    f, run_id, sampled = call["f"], call["run_id"], bool(call["monitor_resources"])
    key = (f, id(radio_config), run_id, sampled)
    wrapped = _wrappers.get(key)
    if wrapped is None:
        wrapped = _wrappers.setdefault(key, _build(f, radio_config, run_id, sampled=sampled))
    kwargs = {**call["kwargs"], _TASK_KEY: call["x_task_id"], _TRY_KEY: call["x_try_id"]}
    return wrapped, call["args"], kwargs


def _shape_differs(wrapper: object) -> str | None:
    """Why Parsl's wrapper is not the one this module replaces, or None when it is."""
    if not callable(wrapper):
        return "parsl.dataflow.dflow.monitor_wrapper is missing"
    try:
        parameters = inspect.signature(wrapper).parameters.values()
    except (TypeError, ValueError):
        return "its signature cannot be read"
    names = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
    if names != PARSL_KEYWORDS or len(names) != len(parameters):
        return f"its parameters are {sorted(p.name for p in parameters)}, not {sorted(PARSL_KEYWORDS)}"
    return None


def install() -> bool:
    """Make the DataFlowKernel use :func:`monitored` (counted: one uninstall per install).

    False when Parsl's wrapper has another shape: it stays in place, and ZMQRadio tasks
    are sampled by it, as with Parsl's own radios.
    """
    global _original, _installs  # noqa: PLW0603 - one patch per process, counted
    from parsl.dataflow import dflow

    with _lock:
        if _installs == 0:
            current = getattr(dflow, "monitor_wrapper", None)  # dflow imports it by name
            why = _shape_differs(current)
            if why is not None:
                logger.warning(
                    "Parsl's task monitoring wrapper has changed (%s): ZMQRadio tasks use Parsl's own wrapper, "
                    "which works but serializes a wrapper per task; a newer parsl-monitor-worker may know this Parsl",
                    why,
                )
                return False
            _original = current
            dflow.monitor_wrapper = monitored  # type: ignore[attr-defined]
        _installs += 1
        return True


def uninstall() -> None:
    """Give the DataFlowKernel Parsl's wrapper back once the last installer is done."""
    global _installs  # noqa: PLW0603 - see install()
    from parsl.dataflow import dflow

    with _lock:
        if _installs == 0:
            return
        _installs -= 1
        if _installs == 0 and _original is not None:
            dflow.monitor_wrapper = _original  # type: ignore[attr-defined]
            _wrappers.clear()
