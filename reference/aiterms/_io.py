"""File input and output that never loses data: bounded reads and atomic writes (spec/security.md)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from aiterms.limits import MAX_INPUT_BYTES

DEFAULT_MAX_INPUT = MAX_INPUT_BYTES  # one source: the limits table of spec/security.md (aiterms.limits)


class InputTooLarge(Exception):
    def __init__(self, path: str, limit: int) -> None:
        super().__init__(f"{path}: larger than the {limit} byte input limit")
        self.path, self.limit = path, limit


def read_bytes(path: str | os.PathLike[str], *, limit: int = DEFAULT_MAX_INPUT, stdin: BinaryIO | None = None) -> bytes:
    """Read a whole input (``-`` is standard input) and refuse more than ``limit`` bytes.

    Raises OSError for unreadable input and InputTooLarge; the CLI turns both into exit code 2 with a message.
    """
    if str(path) == "-":
        import sys

        stream = stdin or sys.stdin.buffer
        data = stream.read(limit + 1)
    else:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(str(path), limit)
    return data


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same directory, fsync, then rename.

    An interrupted write leaves the previous file intact. A symlink at ``path`` is replaced by a regular file, never
    followed (so ``-o`` cannot write through a link to somewhere else).
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is None and target.exists() and not target.is_symlink():
            mode = target.stat().st_mode & 0o7777
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
