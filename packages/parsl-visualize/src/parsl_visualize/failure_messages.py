"""What ``str(exception)`` says, rebuilt from the arguments in its ``repr``, for exceptions users meet often.

Parsl records a failed try as ``repr(exception)``: the class and the constructor's
arguments. For most exceptions the message is the one string argument. For some it is
not: ``CalledProcessError(1, ['false'])`` prints ``Command '['false']' returned non-zero
exit status 1.``, ``WorkerLost(0, 'node7')`` (a worker killed, often by the out-of-memory
killer) prints ``Task failure due to loss of worker 0 on host node7``. Those are rebuilt
here as their own ``__str__`` builds them. Arguments of unexpected types give None: the
caller then shows the arguments as they are. A bash_app's ``MissingOutputs`` is read
differently from Parsl's ``str``, which prints whole ``File`` reprs: its files are listed
under its reason.
"""

from __future__ import annotations

import builtins
import re
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("missing_outputs", "python_message")

Args = tuple[object, ...]
_FILE_URL = re.compile(r"<\w*File at 0x[0-9a-fA-F]+ url=(.*?) scheme=")
"""A ``parsl.data_provider.files.File`` in a repr: ``<File at 0x7f... url=/out/a.txt scheme=file ...>``."""


def _bash_exit(args: Args) -> str | None:
    """Parsl's ``BashExitFailure(app name, exit code)``."""
    if len(args) != 2:  # noqa: PLR2004 - its two arguments
        return None
    return f"bash_app {args[0]} failed with unix exit code {args[1]}"


def _lost(what: str) -> Callable[[Args], str | None]:
    """Parsl's ``ManagerLost(manager id, host)`` and ``WorkerLost(worker id, host)``."""

    def message(args: Args) -> str | None:
        if len(args) != 2:  # noqa: PLR2004 - its two arguments
            return None
        who, host = args
        if isinstance(who, bytes):  # a manager's id
            who = who.decode(errors="replace")
        return f"Task failure due to loss of {what} {who} on host {host}"

    return message


def _one(template: str) -> Callable[[Args], str | None]:
    """Parsl's errors of one argument that their ``__str__`` puts in a sentence."""

    def message(args: Args) -> str | None:
        return template.format(args[0]) if len(args) == 1 else None

    return message


def _called_process(args: Args) -> str | None:
    """``subprocess.CalledProcessError(returncode, cmd, ...)``: ``run(..., check=True)`` failing."""
    if len(args) < 2 or not isinstance(args[0], int):  # noqa: PLR2004 - returncode and cmd at least
        return None
    code, command = args[0], args[1]
    if code >= 0:
        return f"Command '{command}' returned non-zero exit status {code}."
    try:
        return f"Command '{command}' died with {signal.Signals(-code)!r}."
    except ValueError:
        return f"Command '{command}' died with unknown signal {-code}."


def _timeout_expired(args: Args) -> str | None:
    """``subprocess.TimeoutExpired(cmd, timeout, ...)``."""
    if len(args) < 2:  # noqa: PLR2004 - cmd and timeout at least
        return None
    return f"Command '{args[0]}' timed out after {args[1]} seconds"


def _os_error(args: Args) -> str | None:
    """``OSError(errno, strerror)`` and its kind (``FileNotFoundError``...); the file name is not in the repr."""
    if len(args) != 2:  # noqa: PLR2004 - errno and strerror
        return None
    return f"[Errno {args[0]}] {args[1]}"


_BY_NAME: dict[str, Callable[[Args], str | None]] = {
    "BashExitFailure": _bash_exit,
    "ManagerLost": _lost("manager"),
    "WorkerLost": _lost("worker"),
    # An argument or a result Parsl could not pickle (a generator, an open file...): the
    # argument is the app's name.
    "SerializationError": _one(
        "Failed to serialize objects for an invocation of function {}. "
        "Refer https://parsl.readthedocs.io/en/latest/faq.html#addressing-serializationerror"
    ),
    "DeserializationError": _one("Failed to deserialize objects. Reason: {}"),
    "CalledProcessError": _called_process,
    "TimeoutExpired": _timeout_expired,
}


def _is_os_error(name: str) -> bool:
    """Whether ``name`` is a built-in ``OSError`` class (looked up by name, nothing evaluated)."""
    found = getattr(builtins, name, None)
    return isinstance(found, type) and issubclass(found, OSError)


def python_message(name: str, args: Args) -> str | None:
    """``str()`` of exception class ``name`` built with ``args``, where that is not its arguments; else None."""
    build = _BY_NAME.get(name) or (_os_error if _is_os_error(name) else None)
    return None if build is None else build(args)


def missing_outputs(reason: str, inner: str) -> str:
    """Parsl's ``MissingOutputs(reason, [File, ...])``: the reason, then each missing file on a line.

    Parsl's own ``str`` prints the files' reprs (addresses and all) before the reason. The
    reason stays the first line, so a bash_app's missing outputs form one group per app.
    """
    return "\n".join([reason, *_FILE_URL.findall(inner)])
