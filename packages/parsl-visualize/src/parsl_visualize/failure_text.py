r"""What a failed try's recorded error says, read back out of the ``repr`` Parsl stores.

Parsl writes each failed try's exception as ``repr(e)`` (``ValueError('bad input\n...')``):
quotes, escapes and, for some Parsl errors, the repr of a whole executor around the one
useful string. Users want the type and the message, with its line breaks, and failures
that differ only in numbers and ids counted as one. Nothing here evaluates the text: only
literals are read (``ast.literal_eval``) and tokens counted.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import io
import itertools
import re
import tokenize

from parsl_visualize.failure_messages import missing_outputs, python_message

__all__ = ("PROPAGATED_ERRORS", "FailureText", "RootFailure", "parse_failure")

MAX_PARSED = 64 * 1024
"""Longer texts are cut before they are read (a repr of that size is a dump, not a message)."""
MAX_HEADLINE = 400
_JOB_DETAILS = ("EXIT CODE:", "STDERR:")
MAX_NESTING = 3
"""Exceptions inside exceptions read (the message is seldom deeper)."""
PROPAGATED_ERRORS = {"DependencyError": "a dependency failed", "JoinError": "a joined task failed"}
"""Types Parsl records for a failure that is another task's, and how it reads: a task that did
not run because a task it depends on failed (dep_fail), and a join app whose joined task failed."""

_CALL = re.compile(r"\s*([A-Za-z_][\w.]*)\((.*)\)\s*\Z", re.DOTALL)
_TASK_NAME = re.compile(r"task (\d+)\Z")
_CAUSE_DEPTH = 2
"""Where a propagated error's causes are named: ``JoinError([(ValueError('x'), 'task 2')], 3)``."""
_FOLDED = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # uuid
    r"|0x[0-9a-fA-F]+"  # address
    r"|\b[0-9a-fA-F]{12,}\b"  # hash
    r"|\d+(?:\.\d+)?"  # number, also inside names: sample_17
)
_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")


@dataclasses.dataclass(frozen=True)
class FailureText:
    """A failure as a user reads it (its derived texts worked out once: a run holds many alike).

    Attributes:
        type: the exception's class name (``""`` when the text is not an exception's repr).
        message: its message, line breaks kept.
    """

    type: str
    message: str
    causes: tuple[int, ...] = ()
    """For a propagated failure, the failed tasks it names, in Parsl's order (nested causes aside)."""

    @functools.cached_property
    def headline(self) -> str:
        """What a list or a CSV cell shows: the first line, and a failed block's exit code and stderr.

        Parsl's message for a block whose workers never started opens with ``Error 1:``; the
        cause is on its ``STDERR:`` line.
        """
        lines = [line.strip() for line in self.message.splitlines() if line.strip()]
        if not lines:
            return ""
        return " ".join([lines[0], *(line for line in lines[1:] if line.startswith(_JOB_DETAILS))])[:MAX_HEADLINE]

    @property
    def last_line(self) -> str:
        """The message's last non-blank line (a traceback's conclusion)."""
        return next((line.strip() for line in reversed(self.message.splitlines()) if line.strip()), "")

    @property
    def summary(self) -> str:
        """``Type: first line``, as Python prints an exception's last line."""
        if not self.type:
            return self.headline
        return f"{self.type}: {self.headline}" if self.headline else self.type

    @functools.cached_property
    def pattern(self) -> str:
        """The headline with numbers, addresses and ids folded to ``#``: failures alike share it."""
        return _FOLDED.sub("#", self.headline)

    @functools.cached_property
    def group(self) -> str:
        """A short, stable id of the type and pattern (the task list's ``error`` filter)."""
        return hashlib.blake2b(f"{self.type}\0{self.pattern}".encode(), digest_size=6).hexdigest()

    @property
    def is_propagated(self) -> bool:
        """Whether Parsl recorded this because another task failed (a dependency, or a joined task)."""
        return self.type in PROPAGATED_ERRORS


@dataclasses.dataclass(frozen=True)
class RootFailure:
    """For a task failed by another's failure: the failed task at the root of its chain, and how it failed."""

    task_id: int
    app: str
    failure: FailureText | None


@functools.lru_cache(maxsize=4096)
def parse_failure(text: str) -> FailureText:
    """The type and message of a recorded failure (``repr(exception)``, or any text)."""
    return _parse(text[:MAX_PARSED], MAX_NESTING)


def _parse(text: str, nesting: int) -> FailureText:
    call = _CALL.match(text)
    if call is None:
        return FailureText("", text.strip())
    name, inner = call.groups()
    name = name.rsplit(".", 1)[-1]
    if name in PROPAGATED_ERRORS:
        named = (_TASK_NAME.match(label) for label in _strings(inner, _CAUSE_DEPTH)[0])
        causes = tuple(int(match.group(1)) for match in named if match)
        listed = ", ".join(f"task {task}" for task in causes)
        return FailureText(name, f"{PROPAGATED_ERRORS[name]}: {listed}" if causes else PROPAGATED_ERRORS[name], causes)
    args = _literal_args(inner)
    if args is not None:
        return FailureText(name, _message(name, args))
    strings, last = _strings(inner, 0)
    if strings:  # a bash_app's outputs not written: Parsl's (reason, [File, ...]), the files named
        return FailureText(name, missing_outputs(strings[0], inner) if name == "MissingOutputs" else strings[-1])
    nested = _CALL.match(last)
    if nested is not None and nesting:  # an exception inside, as Parsl's BadStateException holds one
        cause = _parse(last, nesting - 1)
        generic = cause.type in {"", "Exception"}
        return FailureText(name, cause.message if generic else f"{cause.type}: {cause.message}")
    return FailureText(name, inner.strip())


def _literal_args(inner: str) -> tuple[object, ...] | None:
    """The call's arguments when all are literals (strings, numbers, lists of them), else None."""
    if not inner.strip():
        return ()
    try:
        value = ast.literal_eval(f"({inner},)")
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, tuple) else None


def _message(name: str, args: tuple[object, ...]) -> str:
    """The message Python would print for these arguments (``str(exception)``), for the common cases."""
    known = python_message(name, args)
    if known is not None:
        return known
    if len(args) == 1:
        return repr(args[0]) if name == "KeyError" else str(args[0])
    return ", ".join(map(str, args))


def _strings(inner: str, depth_wanted: int) -> tuple[list[str], str]:
    """The string literals ``depth_wanted`` brackets deep in the call's arguments, and its last argument.

    At depth 0 they are the call's own arguments, not strings inside a nested repr.
    """
    strings: list[str] = []
    starts = [0, *itertools.accumulate(map(len, io.StringIO(inner).readlines()))]
    last = 0
    depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(inner).readline):
            if token.type == tokenize.OP:
                depth += (token.string in _OPEN) - (token.string in _CLOSE)
                if depth == 0 and token.string == ",":
                    row, column = token.end
                    last = starts[row - 1] + column
            elif token.type == tokenize.STRING and depth == depth_wanted:
                value = ast.literal_eval(token.string)
                if isinstance(value, str):
                    strings.append(value)
    except (tokenize.TokenError, SyntaxError, ValueError, MemoryError, RecursionError):
        pass  # what was read so far stands
    return strings, inner[last:].strip()
