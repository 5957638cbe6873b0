"""A task's stdout and stderr files, read only inside the directories the user allowed.

The paths come from the database, which the viewer does not trust (it may be someone
else's, or crafted), and anyone who can reach the dashboard sees what it reads. So nothing
is read unless ``--allow-files DIR`` was given, and then only a regular file whose real
path, symbolic links resolved, lies inside one of those directories. The check is made on
the file as opened (``/proc/self/fd``), so swapping a path component for a link between
the check and the read gains nothing. A FIFO or a device is never opened for reading.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ("TAIL_BYTES", "FileAccess", "OutputTail", "recorded_path")

TAIL_BYTES = 64 * 1024
CHUNK = 64 * 1024


@dataclasses.dataclass(frozen=True)
class OutputTail:
    """The end of an output file as shown on the task page, or why it is not shown.

    Attributes:
        text: its last :data:`TAIL_BYTES` as text (None: not shown, see ``reason``).
        size: its size in bytes.
        cut: whether the start of the file is left out.
        reason: one line saying why nothing is shown.
    """

    text: str | None
    size: int = 0
    cut: bool = False
    reason: str | None = None


def recorded_path(value: str | None) -> str | None:
    """The file name Parsl recorded: a path, or the repr of a ``(path, mode)`` tuple."""
    if not value or value == "None":
        return None
    if value.startswith("("):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
        return parsed[0] if isinstance(parsed, tuple) and parsed and isinstance(parsed[0], str) else None
    return value


class FileAccess:
    """Where the viewer may read task output files: the ``--allow-files`` directories (none: nowhere)."""

    def __init__(self, roots: Sequence[str | Path] = ()) -> None:
        self.roots = tuple(Path(root).resolve(strict=True) for root in roots)

    @property
    def enabled(self) -> bool:
        """Whether any directory was allowed."""
        return bool(self.roots)

    def _inside(self, path: Path) -> bool:
        return any(path == root or path.is_relative_to(root) for root in self.roots)

    def _candidates(self, recorded: str) -> Iterator[Path]:
        """The recorded path; a relative one is looked for in each allowed directory."""
        path = Path(recorded)
        if path.is_absolute():
            yield path
        else:
            for root in self.roots:
                yield root / path

    def open(self, value: str | None) -> tuple[int, int] | str:
        """An open descriptor and the file's size, or one line saying why the file cannot be read.

        The caller closes the descriptor.
        """
        recorded = recorded_path(value)
        if recorded is None:
            return "no file recorded"
        if not self.enabled:
            return "reading output files is off: start parsl-visualize with --allow-files DIR"
        if "\0" in recorded:
            return "not a file name"
        for candidate in self._candidates(recorded):
            try:
                real = candidate.resolve(strict=True)
            except (OSError, RuntimeError):
                continue
            if not self._inside(real):
                return "outside the directories allowed with --allow-files"
            return self._open_inside(real)
        return "not found (or not readable) by the viewer"

    def _open_inside(self, real: Path) -> tuple[int, int] | str:
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            return f"cannot open it: {exc.strerror}"
        try:
            info = os.fstat(fd)
            link = Path(f"/proc/self/fd/{fd}")
            opened = link.readlink() if link.parent.is_dir() else real
        except OSError as exc:
            os.close(fd)
            return f"cannot read it: {exc.strerror}"
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return "not a regular file"
        if not self._inside(opened):  # a link swapped in after the check
            os.close(fd)
            return "outside the directories allowed with --allow-files"
        return fd, info.st_size

    def tail(self, value: str | None, limit: int = TAIL_BYTES) -> OutputTail:
        """The last ``limit`` bytes of the file as text (undecodable bytes replaced), from a whole line on."""
        opened = self.open(value)
        if isinstance(opened, str):
            return OutputTail(None, reason=opened)
        fd, size = opened
        try:
            start = max(0, size - limit)
            data = os.pread(fd, limit, start)
        except OSError as exc:
            return OutputTail(None, reason=f"cannot read it: {exc.strerror}")
        finally:
            os.close(fd)
        if start and b"\n" in data:
            data = data[data.index(b"\n") + 1 :]  # a whole first line
        return OutputTail(data.decode("utf-8", errors="replace"), size=size, cut=start > 0)

    def chunks(self, fd: int) -> Iterator[bytes]:
        """The whole open file, a chunk at a time, then closed (a download)."""
        try:
            offset = 0
            while chunk := os.pread(fd, CHUNK, offset):
                offset += len(chunk)
                yield chunk
        finally:
            os.close(fd)
