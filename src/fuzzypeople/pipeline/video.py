"""Videos, files and cameras: decode -> anonymise -> encode, in three threads.

:func:`anonymize_video` (a file) and :func:`record` (a camera or stream) open
a :class:`~fuzzypeople.io.video.VideoReader` and a
:class:`~fuzzypeople.io.video.VideoWriter` and run :func:`stream`: a decode
thread fills a short queue with frames and audio packets, the calling thread
anonymises the frames (:func:`~fuzzypeople.pipeline.frames.anonymize_frames`
with a :class:`~fuzzypeople.track.TemporalMasker`: detection on every
``every``-th frame, tracking in between) and passes audio on, and an encode
thread writes. Memory stays flat: the queues are short and at most
``every + lookahead`` frames wait for their masks. The same scramble field is
used on every frame (one seed per video, random unless given), so averaging
frames reveals nothing new. Any failure leaves no output file.
"""

from __future__ import annotations

import contextlib
import queue
import random
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import alloc
from ..errors import FuzzyError
from ..io.paths import check_distinct, default_output
from ..io.video import (Frame, VideoReader, VideoWriter, check_input, check_output, main_video, open_file,
                        parse_time)
from ..track import AnalysisError, MotionTiles, TemporalMasker, scaled
from .frames import analyse, anonymize_frames
from .result import Result
from .settings import Settings

# Frames waiting between threads (decode -> analysis, hiding -> encode). Each is a whole
# RGB frame (8 MiB at 1920x1440), and the decoder is faster than analysis, so its queue
# is always full: 8 -> 2 took peak RSS 1096 -> 1038 MiB on the 1920x1440 clip and
# 353 -> 342 MiB on vtest, for the same wall time (19.6 vs 20.0 s, three alternated runs each).
QUEUE = 2
HIDE_AHEAD = 2  # frames being hidden on their own thread while the next are analysed (anonymize_frames)


@dataclass
class Stream:
    """What :func:`stream` did."""

    frames: int  # frames written
    people: int  # distinct people (tracks) seen
    hidden_share: float  # mean share of each frame hidden
    kept: int | None = None  # with keep options: people (tracks) kept at least once
    hidden: int | None = None  # ... and the other people


def anonymize_video(stages, src: str | Path, dst: str | Path | None = None, settings: Settings | None = None, *,
                    quiet: bool = False, save_mask: str | Path | None = None, **changes) -> Result:
    """Anonymise one video file into ``dst`` (default ``NAME_anonymized.EXT``).

    ``stages`` is a :class:`fuzzypeople.Anonymizer`; ``settings`` default to
    its own, with any field given as a keyword changed (``every=2``,
    ``end="0:30"``...). ``quiet`` hides the progress bar. ``save_mask`` (a
    ``.mkv`` path) also writes the mask of every frame as a lossless greyscale
    video (white = hidden), frame for frame with the output. With
    ``segment_seconds`` the video is cut into segments anonymised by
    ``workers`` processes and joined (see :mod:`.segments`). Returns a
    :class:`~fuzzypeople.pipeline.result.Result`; raises :class:`FuzzyError`
    (one line, nothing written) when the input cannot be read or analysed.
    """
    settings = (settings or stages.settings).replace(**changes)
    t0 = time.perf_counter()
    src = Path(src)
    dst = Path(dst) if dst is not None else default_output(src)
    check_distinct(src, dst)
    try:
        start, end = parse_time(settings.start), parse_time(settings.end)
    except ValueError as exc:
        raise FuzzyError(src, str(exc)) from None
    if start is not None and end is not None and end <= start:
        raise FuzzyError(src, f"--end ({end:g} s) must be after --start ({start:g} s)")
    check_input(src)
    if settings.method == "none":
        raise FuzzyError(src, "--method none hides nothing, and videos get no mask file; choose a method")
    check_output(dst)
    if settings.segment_seconds:
        if save_mask is not None:
            raise FuzzyError(src, "--save-mask cannot be used with --segment-seconds (not implemented); "
                                  "nothing written")
        from .segments import anonymize_segmented

        res = anonymize_segmented(stages, src, dst, settings, start=start, end=end, stream=stream, quiet=quiet)
        if res is not None:
            return res  # else too short to cut: one piece
    if save_mask is not None:
        save_mask = Path(save_mask)
        check_distinct(src, save_mask)
        if save_mask.suffix.lower() != ".mkv":
            raise FuzzyError(save_mask, "a video's mask is written as a lossless .mkv (FFV1); name it NAME.mkv")
        check_output(save_mask)
    state = stages.method_state() if hasattr(stages, "method_state") else None
    if hasattr(state, "prime"):  # erase: learn the background from the whole clip first
        prime(stages, src, state, start, end)
    with VideoReader(open_file(src), src, start=start, end=end, audio=settings.audio) as reader:
        done = stream(stages, reader, dst, settings, quiet=quiet, save_mask=save_mask, state=state)
    return Result(src, dst, done.people, done.hidden_share, time.perf_counter() - t0, save_mask, kept=done.kept,
                  hidden=done.hidden)


def quarter_turns(rotation: float | None) -> int:
    """Quarter turns (``np.rot90``) that make a frame shown rotated by ``rotation`` degrees upright.

    >>> quarter_turns(None), quarter_turns(90), quarter_turns(-90)
    (0, 1, 3)
    """
    return int(round((rotation or 0) / 90)) % 4


def prime(stages, src: Path, state, start: float | None = None, end: float | None = None) -> int:
    """Prime a method's per-video ``state`` (erase's background) with frames spread over the clip.

    ``state.samples`` frames, evenly spaced between ``start`` and ``end``
    (seconds; default the whole video), are decoded, analysed like any frame
    (:func:`~fuzzypeople.pipeline.frames.analyse`; every person found is
    left out, kept or not) and given to
    ``state.prime(pixels, mask)``. Returns the number of frames used: 0 when
    the video's length is unknown or it cannot be seeked (the state then
    learns from the frames as they come, as for a live stream).
    """
    import av

    used = 0
    try:
        with av.open(str(src)) as container:
            video = main_video(container)
            tb = video.time_base
            if video.duration is not None and tb:
                duration = float(video.duration * tb)
            elif container.duration:
                duration = container.duration / 1e6
            else:
                return 0
            first = float(video.start_time * tb) if video.start_time is not None and tb else 0.0
            a = first + (start or 0.0)
            b = first + min(end if end is not None else duration, duration)
            n = int(getattr(state, "samples", 15))
            for t in a + (np.arange(n) + 0.5) * (b - a) / n:
                container.seek(int(t / tb) if tb else int(t * 1e6), stream=video if tb else None, backward=True)
                frame = None
                for frame in container.decode(video):
                    if frame.time is None or frame.time >= t - 1e-6:
                        break
                if frame is None:
                    continue
                pixels = frame.to_ndarray(format="rgb24")
                turns = quarter_turns(frame.rotation)
                upright = np.ascontiguousarray(np.rot90(pixels, turns)) if turns else pixels
                _, mask = analyse(stages, upright)
                state.prime(pixels, np.ascontiguousarray(np.rot90(mask, -turns)) if turns else mask)
                used += 1
    except (av.FFmpegError, OSError, ValueError, StopIteration):
        return used  # the main pass reads the file again and reports what is wrong with it
    return used


def record(stages, container, source: str, dst: str | Path, settings: Settings | None = None, *,
           max_frames: int | None = None, max_seconds: float | None = None, quiet: bool = False) -> Stream:
    """Anonymise a live camera or stream (an open PyAV container) into ``dst``.

    Stops at ``max_frames``, ``max_seconds``, the end of the stream, or Ctrl-C
    after the first frame; the file is complete in every case.
    """
    settings = settings or stages.settings
    with VideoReader(container, source, audio=settings.audio, live=True, max_frames=max_frames,
                     max_seconds=max_seconds, no_video="no video in this stream") as reader:
        return stream(stages, reader, dst, settings, quiet=quiet)


def video_detector(stages, settings: Settings):
    """``stages.detect``, with the small-people tiles gated by motion (:class:`MotionTiles`) where it tiles."""
    stack = getattr(stages, "detector", None)
    if settings.tile_sweep > 1 and hasattr(stack, "gate_tiles"):
        return MotionTiles(stages.detect, stack, settings.tile_sweep)
    return stages.detect


def _every_model(stages, settings: Settings):
    """The detector for a video's last analysed frame: every model of the stack (MoveNet too,
    whatever ``extra_every`` says), since no later analysis fills that frame in."""
    everyone = getattr(getattr(stages, "detector", None), "everyone", None)
    return scaled(everyone, settings.detect_size) if everyone is not None else None


def stream(stages, reader: VideoReader, dst: str | Path, settings: Settings, *, quiet: bool = False,
           save_mask: str | Path | None = None, state=None, window: tuple[float, float] | None = None) -> Stream:
    """Read ``reader``, anonymise every frame, write ``dst`` (and the masks to ``save_mask``) atomically, in three threads.

    With a ``window`` (seconds, ``[start, end)``), only the frames shown in it
    are written, with their timestamps unchanged; the frames read before and
    after it are analysed too (the overlap of a segment, see
    :mod:`.segments`), and the window's first frame gets a fresh detection.
    """
    seed = settings.seed if settings.seed is not None else random.SystemRandom().getrandbits(63)
    params = replace(settings.params, seed=int(seed))
    # Keeping: the keeper decides per track id on each analysed frame; masks leave its people out.
    keeper = stages.keeper() if settings.keeps else None
    build = stages.mask if keeper is None else (lambda people, shape: stages.mask(keeper.hidden(people), shape))
    masker = TemporalMasker(scaled(video_detector(stages, settings), settings.detect_size), build, every=settings.every,
                            hold=settings.hold, lookahead=settings.lookahead, fail_safe=settings.fail_safe,
                            pad=settings.mask_dilate + settings.feather,
                            observe=keeper.observe if keeper is not None else None,
                            last_detect=_every_model(stages, settings))
    writer = VideoWriter(dst, reader, codec=settings.codec, crf=settings.crf,
                         keep_metadata=settings.keep_metadata, keep_gps=settings.keep_gps)
    masks = VideoWriter(save_mask, reader, mask=True) if save_mask is not None else contextlib.nullcontext()
    frames: queue.Queue = queue.Queue(QUEUE)
    hidden: queue.Queue = queue.Queue(QUEUE)
    errors: list[BaseException] = []
    stop = reader.stopped
    with writer, masks, alloc.tuned("video"):
        writers = (writer, masks) if save_mask is not None else (writer,)
        decode = threading.Thread(target=_guard, args=(_decode, frames, errors, reader, stop, True), daemon=True)
        encode = threading.Thread(target=_guard, args=(_encode, hidden, errors, writers, None, False), daemon=True)
        decode.start()
        encode.start()
        try:
            with _progress(reader) if not quiet else _no_progress() as advance:
                share = _anonymise(stages, masker, params, settings.method != "none", reader, decode,
                                   frames, hidden, errors, advance, state, window,
                                   scaled(stages.detect, settings.detect_size))
        except BaseException:
            stop.set()
            _drain(frames)
            _put(hidden, ("abort", None), errors)
            encode.join(10)
            decode.join(10)
            raise
        _put(hidden, ("end", None), errors)
        encode.join()
        decode.join()
        if errors:
            raise errors[0]
    kept, hid = keeper.counts() if keeper is not None else (None, None)
    return Stream(writer.written, masker.people, share / max(writer.written, 1), kept, hid)


def _anonymise(stages, masker, params, hide, reader: VideoReader, decode: threading.Thread,
               frames: queue.Queue, hidden: queue.Queue, errors: list, advance, state=None,
               window: tuple[float, float] | None = None, fresh=None) -> float:
    """On the calling thread: frames from ``frames`` through anonymize_frames into ``hidden``; audio passed on.

    With a ``window``, frames outside it are anonymised (so the tracker sees them) but not passed on, and
    the window's first frame is analysed by ``fresh`` (the detector with every tile, not gated by motion).
    """
    first: list[float] = []  # the time subtracted from the frames written, once the first is seen
    rot: list[int] = []  # the first frame's quarter turns

    def written(frame: Frame) -> bool:
        return window is None or window[0] <= frame.time < window[1]

    def inputs():
        while True:
            try:
                try:
                    kind, payload = frames.get(timeout=0.5)
                except queue.Empty:
                    if decode.is_alive() or not frames.empty():
                        continue
                    if errors:  # the decoder died and could not say so
                        raise errors[0] from None
                    kind, payload = "end", None
            except KeyboardInterrupt:
                if not reader.live or not first:
                    raise
                reader.stop()  # a live recording stops on Ctrl-C and keeps what it has
                break
            if kind == "error":
                raise payload
            if kind == "end":
                break
            if kind == "a":
                _put(hidden, ("a", payload), errors)
                continue
            frame: Frame = payload
            if not rot:
                rot.append(quarter_turns(frame.rotation))
            rot_k = rot[0]
            if not first and written(frame):
                if window is not None:  # a segment: timestamps kept, a fresh detection at its start
                    first.append(0.0)
                    masker.analyse_next(fresh)
                    masker.count_from_now()  # the people of the overlap before it are the last segment's
                else:
                    first.append(frame.time if reader.start is not None or reader.live else 0.0)
                _put(hidden, ("start", (frame.rgb.shape, frame.rotation or 0, first[0])), errors)
            upright = np.ascontiguousarray(np.rot90(frame.rgb, rot_k)) if rot_k else frame.rgb
            yield frame, frame.rgb, upright, rot_k
            if errors:
                break
        if errors:
            raise errors[0]

    share = 0.0
    try:
        for frame, out, mask in anonymize_frames(stages, inputs(), masker, params=params, hide=hide, state=state,
                                                 hide_ahead=HIDE_AHEAD):
            if not written(frame):
                continue
            share += float(mask.mean())
            _put(hidden, ("v", (out, mask, frame.pts, frame.time - first[0])), errors)
            advance()
    except AnalysisError as exc:
        raise FuzzyError(reader.label, f"{exc}; nothing written (use --fail-safe to hide such frames whole)") from None
    return share


# -- the two other threads ----------------------------------------------------------


class _Stop(Exception):
    """The consumer has gone: stop producing."""


def _guard(fn, q: queue.Queue, errors: list, obj, stop, report: bool) -> None:
    """Run a thread's body; its exception goes to ``errors`` (and, if ``report``, down ``q``)."""
    try:
        fn(q, errors, obj, stop)
    except _Stop:
        pass
    except BaseException as exc:  # handed to the main thread
        errors.append(exc)
        if report:
            with contextlib.suppress(queue.Full):
                q.put(("error", exc), timeout=1)


def _decode(out: queue.Queue, errors: list, reader: VideoReader, stop: threading.Event) -> None:
    """Frames (as RGB) and audio packets go to ``out`` in order, then ``("end", n)``."""
    for item in reader:
        _put(out, ("v" if isinstance(item, Frame) else "a", item), errors, stop)
    _put(out, ("end", reader.frames), errors, stop)


def _encode(inq: queue.Queue, errors: list, writers: tuple[VideoWriter, ...], stop=None) -> None:
    """Encode frames and mux them with the audio (and, with a second writer, encode the masks)."""
    writer, *masks = writers
    while True:
        kind, payload = inq.get()
        if kind == "abort":
            return
        if kind == "start":
            for w in writers:
                w.begin(*payload)
        elif kind == "a":
            writer.audio(payload)
        elif kind == "v":
            out, mask, pts, t = payload
            writer.write(out, pts, t)
            for m in masks:
                m.write(mask, pts, t)
        elif kind == "end":
            break
    for w in writers:
        w.finish()


def _put(q: queue.Queue, item, errors: list, stop: threading.Event | None = None, block: bool = True) -> None:
    """Put without deadlocking when the other side has died."""
    while True:
        try:
            q.put(item, timeout=0.2)
            return
        except queue.Full:
            if not block or errors or (stop is not None and stop.is_set()):
                if stop is not None and stop.is_set() and block:
                    raise _Stop
                return


def _drain(q: queue.Queue) -> None:
    with contextlib.suppress(queue.Empty):
        while True:
            q.get_nowait()


# -- progress -----------------------------------------------------------------------


@contextlib.contextmanager
def _no_progress():
    yield lambda: None


@contextlib.contextmanager
def _progress(reader: VideoReader):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    class Fps(ProgressColumn):
        def render(self, task):
            return Text(f"{task.speed:5.1f} frames/s" if task.speed else "  ... frames/s")

    with Progress(TextColumn(f"{Path(str(reader.label)).name}"), BarColumn(), MofNCompleteColumn(), Fps(),
                  TimeRemainingColumn(), transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("frames", total=reader.estimated_frames())
        yield lambda: bar.advance(task)
