"""Write a file so that it either appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from ..errors import FuzzyError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_failure(target: str | Path, exc: OSError) -> FuzzyError:
    """A one-line error for a failed write, naming the user's path (not a temporary name).

    >>> import errno
    >>> str(write_failure("out/a.jpg", OSError(errno.EROFS, "Read-only file system")))
    'out/a.jpg: cannot write to out/: read-only file system'
    """
    target = Path(target)
    reason = (exc.strerror or str(exc)).strip().rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    folder = str(target.parent) if str(target.parent) != "" else "."
    return FuzzyError(target, f"cannot write to {folder}/: {reason}")


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None):
    """Yield a temporary path beside ``target``; on success rename it into place.

    On any exception the temporary file is removed and ``target`` is untouched.
    The temporary name keeps ``target``'s extension so writers that choose a
    format by extension (ffmpeg, Pillow) see the right one. The file gets the
    permissions a plain ``open()`` would give (0666 less the umask), not the
    temporary file's 0600. Failures of the file system (read-only, full, no
    permission) are :class:`FuzzyError` naming ``target``.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=suffix or target.suffix or ".tmp", dir=target.parent
        )
        try:
            os.fchmod(fd, 0o666 & ~_umask())
        finally:
            os.close(fd)
    except OSError as exc:
        raise write_failure(target, exc) from None
    try:
        yield Path(tmp)
        try:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise write_failure(target, exc) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def leftovers(target: str | Path) -> list[Path]:
    """Temporary files that :func:`atomic_path` for ``target`` left behind because its process was killed.

    A killed process (SIGKILL, out of memory) runs no clean-up; whoever
    started it can remove these. Only names :func:`atomic_path` makes for
    this very target match (``.STEM.`` + 8 random characters + an extension).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in [".a.k2j_9xq0.jpg", ".a.b.k2j_9xq0.jpg", "a.jpg", ".a.toolong12.jpg"]:
    ...     _ = (folder / name).write_bytes(b"")
    >>> [p.name for p in leftovers(folder / "a.jpg")]
    ['.a.k2j_9xq0.jpg']
    """
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.stem)}\.[a-z0-9_]{{8}}(\.[^.]+)?")
    try:
        names = os.listdir(target.parent if str(target.parent) else ".")
    except OSError:
        return []
    return sorted(target.parent / n for n in names if pattern.fullmatch(n))
