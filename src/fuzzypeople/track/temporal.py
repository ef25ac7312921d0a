"""Masks for a stream of frames that do not blink: detection cadence, gap filling, fail-safe.

:class:`TemporalMasker` takes frames in order and hands them back, in order,
each with the boolean mask of pixels to hide. The detector runs on every
``every``-th frame (and on the last one); the frames in between wait in a
short buffer until the next analysed frame, so their people are
*interpolated* between two sightings rather than guessed from one. Every frame
also waits ``lookahead`` frames after it was analysed, so that a person the
detector missed on it but finds again soon after is interpolated over the gap,
and a person first found a little later is back-filled onto it. People missed
for longer are *held* by their track (see :mod:`fuzzypeople.track.tracker`)
for ``hold`` frames after their last sighting, moved and grown with their
motion. Masks only ever grow: each frame hides the union of everything any
analysis predicted for it.

Failure is closed. If the detector raises: with ``fail_safe`` the frames it
was responsible for are hidden whole, otherwise :class:`AnalysisError` is
raised. With ``fail_safe``, an analysed frame that finds nothing where a
confirmed person was *just seen* (matched on the previous analysed frame, and
predicted to be still mostly inside the picture) is hidden whole too, with the
buffered frames before it; the hold then covers them on the frames that follow.

>>> import numpy as np
>>> from fuzzypeople.people import People
>>> from fuzzypeople.masks import build_mask
>>> x = {0: 0, 1: 4, 4: 16, 5: 20}   # walks 4 px a frame; missed on frames 2 and 3
>>> def detect(rgb):
...     i = int(rgb[0, 0, 0])
...     return People([[x[i], 4, x[i] + 8, 20]], [1.0], ["body"]) if i in x else People.empty()
>>> m = TemporalMasker(detect, build_mask, every=1, hold=3, lookahead=2)
>>> out = [o for i in range(6) for o in m.push(i, np.full((24, 40, 3), i, np.uint8))] + m.flush()
>>> [bool(mask[12, 4 * i + 1 : 4 * i + 7].all()) for i, (_, mask) in enumerate(out)]
[True, True, True, True, True, True]
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..people import People, standalone
from .tracker import Tracker, coverage

DEFAULT_HOLD = 10  # frames a person stays hidden after their last sighting
# Frames each frame waits for later sightings to fill it in. 7, not 4: on vtest a walker
# coming out from behind a pillar (legs only, 11x14 px) was found first on a later analysis,
# too late for 4 frames of back-filling (benchmarks/video_recall.py --sweeps 3 --lookahead 4..8:
# with 7 every place left less than half hidden is an object; frame hidden 0.145 -> 0.155).
DEFAULT_LOOKAHEAD = 7
JUST_SEEN_MIN_SIGHTINGS = 2
INSIDE_SHARE = 0.5  # a lost track counts for fail_safe if at least this much of it is in frame
COVERED = 0.3  # ... and less than this much of it is covered by what was found


def scaled(detect: Callable[[np.ndarray], People], max_side: int | None) -> Callable[[np.ndarray], People]:
    """``detect`` run on the frame shrunk to ``max_side`` pixels, people mapped back.

    Detectors cost roughly their input's pixel count; video frames are analysed
    smaller to run faster (see ``benchmarks/video_recall.py`` for what it costs).

    >>> d = scaled(lambda rgb: People([[10, 10, 20, 20]], [1.0], ["face"]), 50)
    >>> d(np.zeros((100, 200, 3), np.uint8)).boxes.tolist()
    [[40.0, 40.0, 80.0, 80.0]]
    """
    if not max_side:
        return detect

    def run(rgb: np.ndarray) -> People:
        h, w = rgb.shape[:2]
        s = max_side / max(h, w)
        if s >= 1:
            return detect(rgb)
        import cv2

        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        people = detect(cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA))
        boxes = people.boxes * np.array([w / nw, h / nh, w / nw, h / nh], np.float32)
        masks = people.masks
        if masks is not None:
            masks = np.stack([cv2.resize(m.view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
                              for m in masks]) if len(masks) else np.zeros((0, h, w), bool)
        return People(boxes, people.scores, people.kinds, masks, people.track_ids, people.source)

    return run


def _inside(box: np.ndarray, mask: np.ndarray, pad: int, margin: float = 0.5) -> bool:
    """Is ``box``, grown by ``margin`` of its size and ``pad`` px per side, already all hidden?

    A shortcut only: ``build_mask`` grows boxes by a share of their size (25%
    for faces) and dilates by ``pad`` pixels at most, so if a region this much
    larger is already hidden, rebuilding would add nothing.
    """
    h, w = mask.shape
    wh = box[2:] - box[:2]
    g = wh * margin + pad
    x1, y1 = (np.floor(box[:2] - g)).astype(int)
    x2, y2 = (np.ceil(box[2:] + g)).astype(int)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    return x2 > x1 and y2 > y1 and bool(mask[y1:y2, x1:x2].all())


class AnalysisError(RuntimeError):
    """The detector failed on a frame (and fail_safe is off)."""

    def __init__(self, frame: int, cause: BaseException):
        self.frame = frame
        self.cause = cause
        super().__init__(f"analysis failed on frame {frame} ({type(cause).__name__}: {cause})")


class TemporalMasker:
    """Turn frames into (item, mask) pairs, in order, with tracking between analyses.

    Args:
        detect: ``rgb -> People`` (e.g. ``Anonymizer.detect``).
        build_mask: ``(People, (h, w)) -> bool mask`` (e.g. ``Anonymizer.mask``).
        every: run ``detect`` on every ``every``-th frame (1 = all).
        hold: frames a track is kept after its last sighting.
        lookahead: frames each frame waits after its analysis for later
            sightings to fill it in (memory: this many frames more).
        fail_safe: hide whole frames instead of raising or trusting a suspicious miss.
        pad: at most how many pixels ``build_mask`` adds around a grown box (its dilation).
        observe: optional ``(rgb, people) -> None``, told what each analysed
            frame holds once track ids are assigned, before any mask is built
            from it (the keeper, :class:`fuzzypeople.keep.Keeper`, decides there).
        last_detect: the detector for the analysis of the last frame, which no
            later analysis fills in (default ``detect``; video: every model).
    """

    def __init__(
        self,
        detect: Callable[[np.ndarray], People],
        build_mask: Callable[[People, tuple[int, int]], np.ndarray],
        *,
        every: int = 1,
        hold: int = DEFAULT_HOLD,
        lookahead: int = DEFAULT_LOOKAHEAD,
        fail_safe: bool = False,
        pad: int = 16,
        observe: Callable[[np.ndarray, People], None] | None = None,
        last_detect: Callable[[np.ndarray], People] | None = None,
    ):
        if every < 1 or hold < 0 or lookahead < 0:
            raise ValueError("every must be >= 1, hold and lookahead >= 0")
        self.detect = detect
        self.last_detect = last_detect
        self.build_mask = build_mask
        self.observe = observe
        self.every = int(every)
        self.lookahead = int(lookahead)
        self.fail_safe = fail_safe
        self.pad = int(pad) + 2
        # Frames between analyses are interpolated, so tracks live at least that long.
        self.tracker = Tracker(hold=max(int(hold), self.every + self.lookahead))
        # Waiting frames: [index, item, mask or None (not analysed yet), final?]
        self.pending: list[list] = []
        self._last_rgb: np.ndarray | None = None
        self._last_analysed: int | None = None
        self._t = 0
        self._due = 0  # the next frame the cadence analyses
        self._force = None  # the detector for an extra analysis of the next frame (analyse_next)
        self.shape: tuple[int, int] | None = None
        # Statistics for the report.
        self.frames = 0
        self.analysed = 0
        self.failed = 0
        self.whole_frames = 0
        self.track_ids: set[int] = set()
        self.uncounted: set[int] = set()  # tracks seen before count_from_now()

    @property
    def people(self) -> int:
        """Distinct people (tracks) seen so far: body tracks, and face tracks seen at least once
        outside every body's box (:func:`~fuzzypeople.people.standalone`); not those already
        seen when :meth:`count_from_now` was called."""
        return len(self.track_ids - self.uncounted)

    def count_from_now(self) -> None:
        """Leave the people seen so far out of :attr:`people` (they go on being tracked and hidden).

        A video segment's worker reads frames before its segment, which the segment
        before counts; someone crossing the seam is one person, not one per segment.
        """
        self.uncounted = set(self.track_ids)

    def push(self, item: Any, rgb: np.ndarray) -> list[tuple[Any, np.ndarray]]:
        """Add the next frame; returns the frames now ready, each with its mask."""
        t = self._t
        self._t += 1
        self.frames += 1
        shape = rgb.shape[:2]
        if self.shape is not None and shape != self.shape:
            raise ValueError(f"frame {t} is {shape}, earlier frames were {self.shape}")
        self.shape = shape
        self.pending.append([t, item, None, False])
        regular = t >= self._due
        if regular or self._force is not None:
            if regular:
                self._due = t + self.every
            detect, self._force = self._force, None
            self._analyse(t, rgb, None if regular else detect)
            return self._ready(t - self.lookahead)
        self._last_rgb = rgb
        return []

    def analyse_next(self, detect: Callable[[np.ndarray], People] | None = None) -> None:
        """Analyse the next frame pushed even if the cadence skips it, with ``detect`` (default: the masker's).

        A video cut into segments (:mod:`fuzzypeople.pipeline.segments`) calls
        this before each segment's first frame, so the frames at a seam get a
        fresh detection; the cadence is unchanged (every ``every``-th frame
        from the first), and a frame the cadence analyses anyway gets its
        usual detector.
        """
        self._force = detect or self.detect

    def flush(self) -> list[tuple[Any, np.ndarray]]:
        """Every frame still waiting (the last one is analysed first if it was not)."""
        if self.pending and self.pending[-1][2] is None:
            rgb, self._last_rgb = self._last_rgb, None
            self._analyse(self.pending[-1][0], rgb, self.last_detect)
        return self._ready(None)

    def _ready(self, upto: int | None):
        n = len(self.pending) if upto is None else sum(1 for p in self.pending if p[0] <= upto)
        done, self.pending = self.pending[:n], self.pending[n:]
        return [(item, mask) for _, item, mask, _ in done]

    def _analyse(self, t: int, rgb: np.ndarray, detect: Callable[[np.ndarray], People] | None = None) -> None:
        shape = rgb.shape[:2]
        self._last_rgb = None
        prev, self._last_analysed = self._last_analysed, t
        self.analysed += 1
        fresh = [p for p in self.pending if p[2] is None]  # frames no analysis has covered yet
        try:
            people = (detect or self.detect)(rgb)
        except Exception as exc:
            if not self.fail_safe:
                raise AnalysisError(t, exc) from exc
            self.failed += 1
            return self._whole(fresh, shape)
        just_seen = [
            tr for tr in self.tracker.tracks
            if prev is not None and tr.last == prev and len(tr.frames) >= JUST_SEEN_MIN_SIGHTINGS
        ]
        people = self.tracker.update(people, t)
        if self.observe is not None:
            try:
                self.observe(rgb, people)
            except Exception as exc:  # e.g. the face embedding failed: nobody is kept
                if not self.fail_safe:
                    raise AnalysisError(t, exc) from exc
                self.failed += 1
                self._whole(fresh, shape)
        seen_now = set(int(i) for i in people.track_ids)
        self.track_ids |= set(int(i) for i in people.track_ids[standalone(people)])
        if self.fail_safe and any(self._lost(tr, t, people, shape) for tr in just_seen):
            self._whole(fresh, shape)
        for p in self.pending:
            ti, _, mask, final = p
            if final:
                continue
            if ti == t:
                mask = self.build_mask(people, shape)
                extra = self.tracker.predict(t, exclude_seen=True)
            elif mask is None:  # buffered since the last analysis: everyone, interpolated
                mask = np.zeros(shape, bool)
                extra = self.tracker.predict(ti)
            else:  # analysed before: add whoever this sighting newly places there
                extra = self.tracker.predict(ti)
                if len(extra):
                    keep = [i for i, tid in enumerate(extra.track_ids) if int(tid) in seen_now
                            and self._new_reach(int(tid), ti) and not _inside(extra.boxes[i], mask, self.pad)]
                    extra = extra[np.asarray(keep, np.int64)]
            if len(extra):
                mask = mask | self.build_mask(extra, shape)
            p[2] = mask

    def _new_reach(self, tid: int, ti: int) -> bool:
        """Did the latest sighting of track ``tid`` change its box on frame ``ti``?"""
        tr = next(tr for tr in self.tracker.tracks if tr.id == tid)
        return len(tr.frames) < 2 or tr.frames[-2] < ti

    def _lost(self, tr, t: int, people: People, shape: tuple[int, int]) -> bool:
        if t in tr.frames:
            return False
        box = tr.box_at(t)
        h, w = shape
        frame = np.array([[0, 0, w, h]], np.float32)
        if coverage(box, frame) < INSIDE_SHARE:
            return False  # walked out of the picture
        return coverage(box, people.boxes) < COVERED

    def _whole(self, frames, shape) -> None:
        for p in frames:
            if not p[3]:
                self.whole_frames += 1
            p[2], p[3] = np.ones(shape, bool), True
