"""Write a file so that it either appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None):
    """Yield a temporary path beside ``target``; on success rename it into place.

    On any exception the temporary file is removed and ``target`` is untouched.
    The temporary name keeps ``target``'s extension so writers that choose a
    format by extension (ffmpeg, Pillow) see the right one.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=suffix or target.suffix or ".tmp", dir=target.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
