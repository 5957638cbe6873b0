"""Cuts in our monitoring's message path, for ``benchmarks.attribution`` only; never installed.

Python imports ``sitecustomize`` at start-up from the first directory on ``sys.path`` that
has one; ``benchmarks.attribution`` puts this directory first on ``PYTHONPATH`` of the runs
it cuts, so the Parsl program, the interchange and the hub all start with it.
``$PARSL_MONITOR_BENCH_CUT`` says where messages stop:

- ``dropped``: ``HubSender.put`` takes nothing (the Parsl program's and the interchange's
  messages): Parsl's monitoring hooks run, the hub runs idle;
- ``encoded``: the sending thread packs every message as usual and sends none;
- ``received``: sent as usual; the hub takes every frame off its socket and drops it
  unread, but for FLUSH frames (small, decoded to tell them apart), which it answers;
- ``recorded``: nothing is cut; every sending process also appends what it sends (the
  time, and the packed messages of each frame) to a file of its own in
  ``$PARSL_MONITOR_BENCH_RECORD``, for ``benchmarks.hub_replay``.

Modules are patched as they are imported, so processes that never import them pay nothing.
"""

from __future__ import annotations

import importlib.abc
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

_CUT = os.environ.get("PARSL_MONITOR_BENCH_CUT", "")
_SMALL_FRAME = 300
"""Bytes: a FLUSH frame is smaller than this, a frame of monitoring messages larger."""


def _cut_sender(module: Any) -> None:
    if _CUT == "dropped":
        module.HubSender.put = lambda self, obj, block=True, timeout=None: None  # noqa: ARG005
        module.HubSender.put_nowait = lambda self, obj: None  # noqa: ARG005
    elif _CUT == "encoded":
        module._Channel._send = lambda self, sock, packed: None  # noqa: ARG005
    elif _CUT == "recorded":
        send = module._Channel._send
        record = Path(os.environ["PARSL_MONITOR_BENCH_RECORD"]) / f"{os.getpid()}.frames"

        def _send_and_record(self: Any, sock: Any, packed: list[bytes]) -> None:
            if packed:
                with record.open("ab") as out:
                    pickle.dump((time.monotonic(), packed), out)
            send(self, sock, packed)

        module._Channel._send = _send_and_record


def _cut_receiver(module: Any) -> None:
    if _CUT != "received":
        return
    handle = module.Receiver._handle
    flush = int(module.MessageKind.FLUSH)

    def _handle_flushes_only(self: Any, parts: list[Any], on_message: Any, on_flush: Any) -> None:
        data = parts[-1].bytes
        if len(data) >= _SMALL_FRAME:
            return  # monitoring messages: dropped unread
        try:
            kinds = {item[0] for item in module.decode_frame(data).messages}
        except Exception:  # noqa: BLE001 - not a frame of ours: dropped too
            return
        if kinds == {flush}:
            handle(self, parts, on_message, on_flush)

    module.Receiver._handle = _handle_flushes_only


_CUTS = {"parsl_monitor_hub.sender": _cut_sender, "parsl_monitor_hub.receiver": _cut_receiver}


class _CutOnImport(importlib.abc.MetaPathFinder):
    """Finds the modules to cut with the other finders, and patches each once it has run."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        cut = _CUTS.get(name)
        if cut is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                run = spec.loader.exec_module

                def exec_and_cut(module: Any, run: Any = run, cut: Any = cut) -> None:
                    run(module)
                    cut(module)

                spec.loader.exec_module = exec_and_cut
                return spec
        return None


if _CUT:
    sys.meta_path.insert(0, _CutOnImport())
