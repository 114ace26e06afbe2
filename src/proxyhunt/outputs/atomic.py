"""Write an output file through a temporary file and a rename.

An interrupted run (Ctrl-C, a crash, a full disk) then leaves either the previous file or no
file, never a truncated one that looks complete. A symbolic link is written through (the file
it points at is replaced, the link stays); a FIFO, a terminal or ``/dev/stdout`` cannot be
replaced by a rename, so they are written directly.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from proxyhunt.errors import UsageError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_special(path: Path) -> bool:
    """An existing path that is not a regular file (FIFO, device, socket)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_writable(path: str | Path, inputs: Sequence[str] = ()) -> None:
    """Refuse, before any work is done, an output that cannot or must not be written."""
    if _is_special(Path(path)):
        if not os.access(path, os.W_OK):
            raise UsageError(f"cannot write {path}: permission denied")
        return
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; name a file")
    if not target.parent.is_dir():
        raise UsageError(f"cannot write {path}: folder {target.parent} does not exist")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: folder {target.parent} is not writable")
    for name in inputs:
        if name != "-" and target.exists() and _same(target, name):
            raise UsageError(f"refusing to write {path}: it is one of the inputs")


def _same(target: Path, name: str) -> bool:
    try:
        return target.samefile(name)
    except OSError:
        return False


@contextlib.contextmanager
def atomic_text(path: str | Path, newline: str | None = None) -> Iterator[TextIO]:
    if _is_special(Path(path)):
        with open(path, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
        return
    target = Path(os.path.realpath(path))

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    # mkstemp makes the file private (0600); give it the mode an ordinary open() would.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
