"""glibc's malloc tuned for the work at hand: big photos return memory, video reuses it.

Two settings of the same two knobs (``mallopt``), measured:

* **photos** (:data:`PHOTO`): every allocation over 1 MiB is its own mmap,
  returned to the system when freed. By default glibc raises that threshold
  after each large free, and later bands of a huge photo land in the heap,
  where fragmentation keeps them: the peak RSS of the same 144 MP photo
  varied from 1.3 to 3.7 GiB between runs; fixed at 1 MiB it stays at
  815 MiB, at 32 MiB it was 1068 MiB (``benchmarks/big_photo.py``).
* **video** (:data:`VIDEO`): frames (1.3 MB for SD, 8 MB at 1920x1440) and
  the detectors' inputs are allocated and freed thousands of times; as fresh
  mmaps each costs page faults, which took a quarter of the CPU time on
  vtest (10.5 s of 68 s was system time). Served from a heap that is not
  trimmed, the same run took 1.9 s of system time and 0.78x the wall time
  (``benchmarks/video_speed.py``).

And for both, one malloc arena for all threads (:data:`ARENAS`). By default
glibc gives each thread that allocates its own arena (the video's decoder,
encoder and hiding threads, onnxruntime's workers), and each keeps its own
free memory, which the others cannot reuse. With one arena the vtest
command peaked at 307, 300 and 290 MiB instead of 312, 312 and 310 (three
alternated runs, ``/usr/bin/time``), in the same time. glibc fixes the arena limit the first time a thread needs
an arena, so it is set once, by :func:`enable`, before any thread starts.

The command line turns tuning on (:func:`enable`); the video pipeline
switches to :data:`VIDEO` while a video streams (:func:`tuned`) and back to
:data:`PHOTO` after. A program that only imports the library keeps glibc's
own adaptive behaviour: nothing here runs unless enabled. Elsewhere than
glibc (musl, macOS) nothing happens.

>>> PHOTO["mmap"] < VIDEO["mmap"] and PHOTO["trim"] < VIDEO["trim"]
True
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
ARENAS = 1  # malloc arenas for the whole process, from enable() on
DEFAULT_TRIM = 128 << 10  # glibc's own
PHOTO = {"mmap": 1 << 20, "trim": DEFAULT_TRIM}
VIDEO = {"mmap": 32 << 20, "trim": 64 << 20}
_STATE: dict = {"libc": None, "mode": None}


def _libc():
    if _STATE["libc"] is None and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt  # noqa: B018 - not glibc (e.g. musl) raises here
            _STATE["libc"] = libc
        except (OSError, AttributeError):
            _STATE["libc"] = False
    return _STATE["libc"] or None


def _set(mode: str) -> None:
    libc = _libc()
    if libc is None:
        return
    values = PHOTO if mode == "photo" else VIDEO
    libc.mallopt(M_MMAP_THRESHOLD, values["mmap"])  # fixed: glibc stops adjusting both thresholds
    libc.mallopt(M_TRIM_THRESHOLD, values["trim"])
    _STATE["mode"] = mode


def enable() -> None:
    """Tune malloc from now on (the command line calls this first, before any thread starts):
    one arena (:data:`ARENAS`), and :data:`PHOTO` settings."""
    libc = _libc()
    if libc is not None and _STATE["mode"] is None:
        libc.mallopt(M_ARENA_MAX, ARENAS)
    _set("photo")


def current() -> str | None:
    """``"photo"``, ``"video"``, or None when tuning is off (or not glibc)."""
    return _STATE["mode"]


@contextlib.contextmanager
def tuned(mode: str):
    """While inside, malloc is set for ``mode`` (``"photo"`` or ``"video"``), if tuning is on."""
    before = _STATE["mode"]
    if before is None or before == mode:
        yield
        return
    _set(mode)
    try:
        yield
    finally:
        _set(before)
