"""A long video in parallel: cut into segments, anonymised by several processes, joined frame-exact.

``anonymize_video(..., segment_seconds=S)`` (``--segment-seconds S``) comes
here. :func:`plan` reads the file's packets (nothing decoded) and cuts its
frames into segments of about ``S`` seconds. Cuts fall on the detection
cadence (a multiple of ``every`` x ``tile_sweep`` frames from the first,
and of ``every`` x ``extra_every`` so MoveNet runs on the same analyses), so
a segment's first frame is one the detector analyses with every tile, in
one piece as in segments. They need not be at the source's keyframes: the
output is re-encoded anyway, and each worker's decoder seeks to the keyframe
before the frames it reads. Each segment is one task for a pool of
processes, each holding one :class:`~fuzzypeople.Anonymizer` (models loaded
once per process) and an equal share of the cores for inference (workers x
threads = cores).

A worker runs the ordinary video pipeline (:func:`.video.stream`) on its
segment plus an *overlap*: it starts at least ``max(hold, every +
lookahead) + every`` frames before the segment, on the same cadence as one
piece, so the tracker knows who was there and keeps hiding people the
detector misses at the seam as it would in one piece, and reads ``every +
lookahead`` frames past its end, so the last frames get the same look-ahead
as any other. Only the segment's own frames are written, with their
original timestamps; its first frame gets a fresh detection whatever the
cadence (:meth:`~fuzzypeople.track.TemporalMasker.analyse_next`). The
scramble uses one seed for the whole video, as in one piece.

The join copies the segments' encoded video packets (the output's encoder
and settings in every segment, each starting with a keyframe) into one
file, with the source's audio (copied or re-encoded as in one piece) and
timestamps; the frames of the result are counted with PyAV before it is
renamed into place. A failure anywhere (a segment, a worker process that
dies, the join) leaves no output and no segment files.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import multiprocessing
import os
import random
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FuzzyError
from ..io.atomic import write_failure
from ..io.video import (
    DEFAULT_VIDEO_CODEC,
    VIDEO_CODEC,
    VideoIndex,
    VideoReader,
    VideoWriter,
    open_file,
    video_index,
    why,
)
from .result import Result
from .settings import Settings

# The segments' own files: Matroska does not store the decoding timestamps of B-frames the join needs,
# and AVI stores a frame counter that restarts in each file, so .mkv and .avi outputs are made of MP4
# segments (the output's encoder and settings; MP4 keeps every timestamp).
PART_CONTAINER = {".mkv": ".mp4", ".avi": ".mp4"}


@dataclass(frozen=True)
class Segment:
    """One piece of a video: the frames it writes and the frames its worker reads."""

    index: int
    first: int  # index of its first frame among the video's frames
    frames: int  # frames it writes
    window: tuple[float, float]  # seconds: a frame is written if window[0] <= time < window[1]
    read: tuple[float | None, float | None]  # seconds: what its worker reads (overlap included)


def plan(index: VideoIndex, seconds: float, *, start: float | None = None, end: float | None = None,
         head: int = 0, tail: int = 0, align: int = 1) -> list[Segment]:
    """Segments of about ``seconds`` covering every frame in ``[start, end)`` exactly once.

    Cuts fall on multiples of ``align`` frames, counted from the first frame
    in range: give the detection cadence (``every`` x ``tile_sweep``) and a
    seam's first frame is one the detector analyses with every tile, in one
    piece as in segments; a segment is never shorter than ``align`` frames
    (a shorter ``seconds`` is rounded up to that). ``head`` and ``tail`` are the frames of overlap
    read before and after each segment; the head starts on a multiple of
    ``align`` too, so a worker's cadence falls on the same frames as one
    piece's.

    >>> idx = VideoIndex(np.arange(100) / 10, 100)
    >>> [(s.first, s.frames) for s in plan(idx, 3.0)]
    [(0, 30), (30, 30), (60, 40)]
    >>> [(s.first, s.frames) for s in plan(idx, 3.0, align=4)]
    [(0, 32), (32, 32), (64, 36)]
    >>> [(s.first, s.frames) for s in plan(idx, 1.0, align=24)]   # shorter than the cadence: one cadence each
    [(0, 24), (24, 24), (48, 24), (72, 28)]
    >>> s = plan(idx, 3.0, head=4, tail=2)[1]; s.window, s.read
    ((2.95, 5.95), (2.55, 6.15))
    >>> s = plan(idx, 3.0, head=4, tail=2, align=12)[1]     # cut at 36; read from frame 24, not 32
    >>> s.first, [round(t, 2) for t in s.read]
    (36, [2.35, 7.35])
    """
    times = index.times
    lo = 0 if start is None else int(np.searchsorted(times, start - 1e-6))
    hi = len(times) if end is None else int(np.searchsorted(times, end - 1e-6))
    times = times[lo:hi]
    n = len(times)
    if n == 0:
        return []
    cuts = [0]
    while True:
        i = int(np.argmin(np.abs(times - (times[cuts[-1]] + seconds))))
        i = max(int(np.floor(i / align + 0.5)) * align, cuts[-1] + align)  # at least one cadence long
        if i >= n or times[-1] - times[i] < (times[i] - times[cuts[-1]]) / 2:
            break  # a last piece under half a segment stays with the one before
        cuts.append(i)
    cuts.append(n)

    def between(i: int, outer: float | None) -> float | None:
        """The time halfway between frames i-1 and i (``outer`` at either end)."""
        if i <= 0 or i >= n:
            return outer
        return float((times[i - 1] + times[i]) / 2)

    out = []
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        window = (between(a, -math.inf), between(b, math.inf))
        r = (a - head) // align * align
        read = (between(r, start) if r > 0 else start, between(b + tail, end) if b + tail < n else end)
        out.append(Segment(k, lo + a, b - a, window, read))
    return out


def anonymize_segmented(stages, src: Path, dst: Path, settings: Settings, *, start: float | None,
                        end: float | None, stream, quiet: bool = False) -> Result | None:
    """Anonymise ``src`` into ``dst`` in segments (see the module); None if it is too short to cut.

    ``stream`` is :func:`.video.stream` (passed in: this module is below
    video.py). ``stages`` (an :class:`~fuzzypeople.Anonymizer`) is used as it is with one
    worker; with more, each process builds its own from ``settings``.
    """
    t0 = time.perf_counter()
    if settings.keep:
        raise FuzzyError(src, "--keep/--keep-main choose the most prominent people over the whole video; "
                              "they cannot be used with --segment-seconds")
    every, hold, lookahead = settings.every, settings.hold, settings.lookahead
    segments = plan(video_index(src), float(settings.segment_seconds), start=start, end=end,
                    head=max(hold, every + lookahead) + every, tail=every + lookahead,
                    align=every * math.lcm(max(settings.tile_sweep, 1), settings.extra_every or 1))
    if len(segments) < 2:
        return None
    seed = settings.seed if settings.seed is not None else random.SystemRandom().getrandbits(63)
    ext = dst.suffix.lower()
    codec = settings.codec or VIDEO_CODEC.get(ext, DEFAULT_VIDEO_CODEC)  # the output's encoder in every part
    part_settings = settings.replace(seed=int(seed), audio=False, start=None, end=None, segment_seconds=None,
                                     codec=codec)
    workers = min(settings.workers or os.cpu_count() or 1, len(segments))
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f".{dst.stem}.segments.", dir=dst.parent))
    except OSError as exc:
        raise write_failure(dst, exc) from None
    try:
        tasks = [(str(src), str(folder / f"{s.index:05d}{PART_CONTAINER.get(ext, ext)}"), s) for s in segments]
        done = _run(stages, part_settings, tasks, workers, quiet, stream)
        frames = sum(d["frames"] for d in done)
        _join(src, dst, [t[1] for t in tasks], settings, start, end, frames)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    kept = [d["kept"] for d in done if d["kept"] is not None]
    hidden = [d["hidden"] for d in done if d["hidden"] is not None]
    return Result(src, dst, sum(d["people"] for d in done), sum(d["share"] for d in done) / max(frames, 1),
                  time.perf_counter() - t0, kept=sum(kept) if kept else None, hidden=sum(hidden) if hidden else None)


# -- the workers ------------------------------------------------------------------------


def inference_threads(workers: int) -> int:
    """Threads for each worker's inference: FUZZYPEOPLE_THREADS if set, else the cores shared out."""
    return int(os.environ.get("FUZZYPEOPLE_THREADS", 0)) or max(1, (os.cpu_count() or 1) // workers)


def _run(stages, settings: Settings, tasks: list, workers: int, quiet: bool, stream) -> list[dict]:
    """Every segment anonymised into its file; their reports, in order. Raises the first failure."""
    total = sum(t[2].frames for t in tasks)
    with _progress(str(tasks[0][0]), total, quiet) as advance:
        if workers == 1:
            results = []
            for task in tasks:
                results.append(_segment(stream, stages, settings, *task))
                advance(task[2].frames)
            return results
        # spawn: no fork of a process holding inference threads. A worker that dies (killed, out of
        # memory) breaks the pool and fails the run, where multiprocessing.Pool would wait forever.
        ctx = multiprocessing.get_context("spawn")
        results = [None] * len(tasks)
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(type(stages), settings, inference_threads(workers), stream))
        try:
            futures = {pool.submit(_worker, item): item[0] for item in enumerate(tasks)}
            for future in as_completed(futures):
                try:
                    k, report = future.result()
                except BrokenProcessPool:
                    raise FuzzyError(tasks[0][0], "a worker process stopped (killed, out of memory, or its models "
                                                     "could not load); nothing written") from None
                if "error" in report:
                    raise FuzzyError(None, report["error"])
                results[k] = report
                advance(tasks[k][2].frames)
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown()
        return results


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the worker processes now (not after their segments)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(5)


_WORKER: tuple = ()  # in a worker process: (its Anonymizer, video.stream)


def _init_worker(make, settings: Settings, threads: int, stream) -> None:
    """In each worker process: its share of the cores, then the models, once."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.environ["FUZZYPEOPLE_THREADS"] = str(threads)
    import cv2

    cv2.setNumThreads(threads)
    global _WORKER
    _WORKER = (make(settings=settings), stream)  # make: the caller's Anonymizer class


def _worker(item) -> tuple[int, dict]:
    """One segment in a worker process; a failure comes back as a one-line message."""
    k, task = item
    try:
        stages, stream = _WORKER
        return k, _segment(stream, stages, stages.settings, *task)
    except FuzzyError as exc:
        return k, {"error": str(exc)}
    except Exception as exc:  # fail closed, with a reason the parent can print
        return k, {"error": f"{task[0]}: segment {k + 1}: unexpected {type(exc).__name__}: {exc}; nothing written"}


def _segment(stream, stages, settings: Settings, src: str, part: str, seg: Segment) -> dict:
    """Anonymise one segment (with its overlap) into ``part`` with ``stream``; checks it wrote exactly its frames."""
    start, end = seg.read
    with VideoReader(open_file(src), src, start=start, end=end, audio=False) as reader:
        done = stream(stages, reader, part, settings, quiet=True, window=seg.window)
    if done.frames != seg.frames:
        raise FuzzyError(src, f"segment {seg.index + 1} gave {done.frames} frames where the file's index has "
                              f"{seg.frames}; nothing written (try without --segment-seconds)")
    return dict(frames=done.frames, people=done.people, share=done.hidden_share * done.frames,
                kept=done.kept, hidden=done.hidden)


# -- the join ------------------------------------------------------------------------------


def _join(src: Path, dst: Path, parts: list[str], settings: Settings, start: float | None, end: float | None,
          frames: int) -> None:
    """Copy the parts' video packets and the source's audio into ``dst`` (atomically); check the frame count."""
    import av

    rotation, first = _first_frame(src, start, end)
    with VideoReader(open_file(src), src, start=start, end=end, audio=settings.audio) as reader:
        with VideoWriter(dst, reader, codec=settings.codec, crf=settings.crf, keep_metadata=settings.keep_metadata,
                         keep_gps=settings.keep_gps) as writer:
            with av.open(parts[0]) as c:
                writer.begin_copy(c.streams.video[0], rotation, first if start is not None else 0.0)
            video = ((_when(p), 0, i, p) for i, p in enumerate(_packets(parts)))
            audio = ((_when(p), 1, i, p) for i, p in enumerate(_audio(reader)))
            for _, kind, _, packet in heapq.merge(video, audio, key=lambda x: x[:3]):
                if kind == 0:
                    writer.copy(packet)
                else:
                    writer.audio(packet)
            writer.finish()
            written = _count(writer.tmp)
            if written != frames or writer.written != frames:
                raise FuzzyError(src, f"joining the segments gave {written} frames, not {frames}; nothing written")


def _first_frame(src: Path, start: float | None, end: float | None) -> tuple[float, float]:
    """The rotation and time of the first frame in ``[start, end)`` (one frame decoded)."""
    with VideoReader(open_file(src), src, start=start, end=end, audio=False) as reader:
        for frame in reader:
            return frame.rotation or 0, frame.time
    raise FuzzyError(src, "no video frames could be decoded; nothing written")


def _when(packet) -> float:
    ts = packet.dts if packet.dts is not None else packet.pts
    return float(ts * packet.time_base) if ts is not None else 0.0


def _packets(parts: list[str]):
    """The encoded video packets of every part, in order."""
    import av

    for path in parts:
        with av.open(path) as c:
            for packet in c.demux(c.streams.video[0]):
                if packet.size:
                    yield packet


def _audio(reader: VideoReader):
    """The source's audio packets in the reader's range, demuxed alone (no video decoded)."""
    if not reader.audio_streams:
        return
    try:
        for packet in reader.container.demux(*reader.audio_streams):
            if packet.size and packet.pts is not None:
                if reader.end is None or float(packet.pts * packet.time_base) < reader.end:
                    yield packet
    except Exception as exc:
        raise FuzzyError(reader.label, f"cannot read the audio ({why(exc)}); nothing written") from None


def _count(path: Path) -> int:
    """Video packets (frames) in a written file, counted with PyAV."""
    import av

    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(c.streams.video[0]) if p.size)


@contextlib.contextmanager
def _progress(label: str, total: int, quiet: bool):
    if quiet:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn(f"{Path(label).name} (segments)"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("frames", total=total)
        yield lambda n: bar.advance(task, n)
