"""Atomic file output: a reader (or a crash) never sees half a file, and nothing the user had is lost."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp"):
    """Yield a temp path beside `path`; on success it replaces `path` (mode 0666 less the umask), else it goes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a model or video is meant to be shared
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike, chunks: list[bytes]) -> None:
    """Write bytes to `path` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        for c in chunks:
            f.write(c)
