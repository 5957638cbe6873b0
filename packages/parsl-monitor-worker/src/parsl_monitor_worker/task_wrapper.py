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
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from parsl.monitoring.radios.base import RadioConfig

    from parsl_monitor_worker.radio import ZMQRadio

__all__ = ("install", "monitored", "uninstall")

logger = logging.getLogger(__name__)

_TASK_KEY = "_parsl_monitoring_task_id"
_TRY_KEY = "_parsl_monitoring_try_id"
_lock = threading.Lock()
_wrappers: dict[tuple[Any, int, str], Callable[..., Any]] = {}
_original: Callable[..., Any] | None = None
_installs = 0


def _build(f: Callable[..., Any], radio_config: ZMQRadio, run_id: str) -> Callable[..., Any]:
    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = (run_id, kwargs.pop(_TASK_KEY), kwargs.pop(_TRY_KEY))
        sender = radio_config.create_sender()
        try:
            sender.task_started(key)
        except Exception:  # monitoring never fails a task
            logger.exception("first monitoring message of task %s not sent", key)
        try:
            return f(*args, **kwargs)
        finally:
            try:
                sender.task_ended(key)
            except Exception:
                logger.exception("last monitoring message of task %s not sent", key)

    return wrapped


def monitored(
    *,
    f: Callable[..., Any],
    args: Sequence[Any],
    kwargs: dict[str, Any],
    x_try_id: int,
    x_task_id: int,
    radio_config: RadioConfig,
    run_id: str,
    logging_level: int,
    sleep_dur: float,
    monitor_resources: bool,
    run_dir: str,
) -> tuple[Callable[..., Any], Sequence[Any], dict[str, Any]]:
    """Drop-in for Parsl's ``monitor_wrapper``: the cached wrapper for ZMQRadio tasks, Parsl's otherwise."""
    from parsl_monitor_worker.radio import ZMQRadio

    if not isinstance(radio_config, ZMQRadio) or (monitor_resources and sleep_dur > 0):
        assert _original is not None  # noqa: S101 - installed before any call
        return _original(  # type: ignore[no-any-return]
            f=f,
            args=args,
            kwargs=kwargs,
            x_try_id=x_try_id,
            x_task_id=x_task_id,
            radio_config=radio_config,
            run_id=run_id,
            logging_level=logging_level,
            sleep_dur=sleep_dur,
            monitor_resources=monitor_resources,
            run_dir=run_dir,
        )
    key = (f, id(radio_config), run_id)
    wrapped = _wrappers.get(key)
    if wrapped is None:
        wrapped = _wrappers.setdefault(key, _build(f, radio_config, run_id))
    return wrapped, args, {**kwargs, _TASK_KEY: x_task_id, _TRY_KEY: x_try_id}


def install() -> None:
    """Make the DataFlowKernel use :func:`monitored` (counted: one uninstall per install)."""
    global _original, _installs  # noqa: PLW0603 - one patch per process, counted
    from parsl.dataflow import dflow

    with _lock:
        if _installs == 0:
            _original = dflow.monitor_wrapper  # type: ignore[attr-defined]  # dflow imports it by name
            dflow.monitor_wrapper = monitored  # type: ignore[attr-defined]
        _installs += 1


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
