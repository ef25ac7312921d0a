"""What the audit reads: photo pairs, folder pairs and video pairs.

Folders are matched by relative path; the anonymised side may carry the
``_anonymized`` suffix and another extension (``clip.avi`` ->
``clip_anonymized.mp4``). Videos are sampled at ``frames`` evenly spaced
frames, decoded with PyAV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FuzzyError
from ..io.image import EXTENSIONS as IMAGE_EXTENSIONS
from ..io.image import read_image
from ..io.paths import SUFFIX
from ..io.video import main_video
from .core import LOSSLESS_TOLERANCE, LOSSY_TOLERANCE, VIDEO_TOLERANCE

_VIDEO_FALLBACK = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"}
LOSSY_FORMATS = {"JPEG", "WEBP"}


def video_extensions() -> set[str]:
    try:
        from ..io.video import EXTENSIONS
    except ImportError:
        return set(_VIDEO_FALLBACK)
    return set(EXTENSIONS) | _VIDEO_FALLBACK


def is_video(path: Path) -> bool:
    return path.suffix.lower() in video_extensions()


@dataclass
class Pair:
    original: Path
    anonymised: Path | None
    problem: str | None = None  # why it cannot be audited, if so


def pairs(original: str | Path, anonymised: str | Path) -> list[Pair]:
    """The (original, anonymised) files to audit, from two files or two folders."""
    original, anonymised = Path(original), Path(anonymised)
    for p in (original, anonymised):
        if not p.exists():
            raise FuzzyError(p, "no such file or folder")
    if original.is_dir() != anonymised.is_dir():
        raise FuzzyError(anonymised, "give two files or two folders, not one of each")
    if not original.is_dir():
        return [Pair(original, anonymised)]
    exts = IMAGE_EXTENSIONS | video_extensions()
    found = []
    for f in sorted(original.rglob("*")):
        if not f.is_file() or f.suffix.lower() not in exts or f.stem.endswith(SUFFIX):
            continue
        rel = f.relative_to(original)
        match = counterpart(anonymised, rel, exts)
        found.append(Pair(f, match, None if match else f"no anonymised counterpart under {anonymised}"))
    if not found:
        raise FuzzyError(original, "no photos or videos found in this folder")
    return found


def counterpart(folder: Path, rel: Path, exts: set[str]) -> Path | None:
    """``folder/rel``, else ``folder/rel`` with the ``_anonymized`` suffix and/or another extension."""
    exact = folder / rel
    if exact.is_file():
        return exact
    parent = (folder / rel).parent
    for stem in (rel.stem + SUFFIX, rel.stem):
        p = parent / (stem + rel.suffix)
        if p.is_file():
            return p
        if parent.is_dir():
            for q in sorted(parent.glob(f"{stem}.*")):
                if q.is_file() and q.suffix.lower() in exts:
                    return q
    return None


@dataclass
class Frames:
    """Matching pictures of an original and its output, ready to audit."""

    media: str  # "image" or "video"
    originals: list[np.ndarray]
    outputs: list[np.ndarray]
    indices: list[int | None]
    times: list[float | None]
    tolerance: int
    notes: list[str] = field(default_factory=list)


def load(pair: Pair, frames: int = 8, tolerance: int | None = None) -> Frames:
    """Decode a pair; raises :class:`FuzzyError` naming the file at fault."""
    if pair.anonymised is None:
        raise FuzzyError(pair.original, pair.problem or "no anonymised counterpart")
    if is_video(pair.original) or is_video(pair.anonymised):
        if not (is_video(pair.original) and is_video(pair.anonymised)):
            raise FuzzyError(pair.anonymised, "one file is a video and the other is not")
        return _load_videos(pair, frames, tolerance)
    a, b = read_image(pair.original), read_image(pair.anonymised)
    ra, rb = a.rgb, b.rgb
    if ra.shape != rb.shape:
        raise FuzzyError(pair.anonymised, f"size mismatch: original is {ra.shape[1]}x{ra.shape[0]}, "
                                          f"anonymised is {rb.shape[1]}x{rb.shape[0]}")
    if tolerance is None:
        lossy = a.format in LOSSY_FORMATS or b.format in LOSSY_FORMATS
        tolerance = LOSSY_TOLERANCE if lossy else LOSSLESS_TOLERANCE
    return Frames("image", [ra], [rb], [None], [None], tolerance)


def _count(path: Path) -> int:
    """Frames in a video: the container's count, else a decoding pass."""
    import av

    with av.open(str(path)) as c:
        stream = main_video(c)
        if stream.frames:
            return int(stream.frames)
        return sum(1 for _ in c.decode(stream))


def read_video_frames(path: Path, indices: list[int]) -> dict[int, tuple[np.ndarray, float]]:
    """``{index: (rgb, seconds)}`` for the frames at ``indices`` of a video, in one pass.

    Indices past the real end (container counts can be off by a frame or
    two) are simply absent.
    """
    import av

    want = set(indices)
    found = {}
    try:
        with av.open(str(path)) as c:
            stream = main_video(c)
            stream.thread_type = "AUTO"
            rate = float(stream.average_rate or 25)
            for i, frame in enumerate(c.decode(stream)):
                if i in want:
                    t = float(frame.time) if frame.time is not None else i / rate
                    found[i] = (frame.to_ndarray(format="rgb24"), t)
                    if len(found) == len(want):
                        break
    except (av.error.FFmpegError, IndexError) as exc:
        raise FuzzyError(path, f"cannot decode video: {exc}") from None
    return found


def _load_videos(pair: Pair, n: int, tolerance: int | None) -> Frames:
    import av

    counts = []
    for p in (pair.original, pair.anonymised):
        try:
            counts.append(_count(p))
        except (av.error.FFmpegError, IndexError) as exc:
            raise FuzzyError(p, f"not a readable video ({exc})") from None
    notes = []
    if counts[0] != counts[1]:
        notes.append(f"frame counts differ (original {counts[0]}, anonymised {counts[1]}); sampled the first {min(counts)}")
    total = min(counts)
    if total == 0:
        raise FuzzyError(pair.anonymised if counts[1] == 0 else pair.original, "video has no frames")
    idx = sorted(set(np.linspace(0, total - 1, max(1, min(n, total))).round().astype(int).tolist()))
    a = read_video_frames(pair.original, idx)
    b = read_video_frames(pair.anonymised, idx)
    both = [i for i in idx if i in a and i in b]
    if not both:
        raise FuzzyError(pair.anonymised, "no frame could be decoded from both videos")
    if len(both) < len(idx):
        notes.append(f"{len(idx) - len(both)} sampled frame(s) past the end of a video were skipped")
    sa, sb = a[both[0]][0].shape, b[both[0]][0].shape
    if sa != sb:
        raise FuzzyError(pair.anonymised, f"size mismatch: original is {sa[1]}x{sa[0]}, anonymised is {sb[1]}x{sb[0]}")
    return Frames("video", [a[i][0] for i in both], [b[i][0] for i in both], both, [a[i][1] for i in both],
                  VIDEO_TOLERANCE if tolerance is None else tolerance, notes)
