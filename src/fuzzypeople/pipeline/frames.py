"""Where a frame is anonymised: :func:`anonymize_frames`, for a photo and for every video frame.

The stages are three calls on a *stages* object (a
:class:`fuzzypeople.Anonymizer`):

* ``stages.detect(rgb) -> People``             find the people (detect/)
* ``stages.mask(people, (h, w)) -> bool mask``  the pixels to hide (masks/)
* ``stages.hide(pixels, mask, params)``         hide them (obfuscate/)

A *masker* runs the first two, in order, over a stream: :class:`StillMasker`
on each frame alone (photos, arrays), or
:class:`fuzzypeople.track.TemporalMasker` for video (detection cadence,
tracking between analyses, gap filling). Both fail closed: a failed analysis
raises :class:`~fuzzypeople.track.AnalysisError`, or with ``fail_safe`` hides
the whole frame.

>>> import numpy as np
>>> from fuzzypeople import Anonymizer
>>> anon = Anonymizer("solid", color=(255, 0, 255), targets="faces")
>>> anon.detector = lambda rgb: People(np.array([[2, 2, 6, 6]]), [1.0], ["face"])  # a stand-in detector
>>> img = np.zeros((32, 32, 3), np.uint8)
>>> [(out[4, 4].tolist(), out[31, 31].tolist()) for _, out, _ in
...  anonymize_frames(anon, [("photo", img, img, 0)], StillMasker(anon))]
[([255, 0, 255], [0, 0, 0])]
"""

from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Iterable, Iterator

import numpy as np

from ..keep import with_ids
from ..people import People, standalone
from ..track import AnalysisError


STRIP_RATIO = 64  # detectors shrink to 416-ish windows: strips thinner than 1/64 of their length are padded
PAD_VALUE = 114  # neutral grey, as detectors' own letterboxes


def pad_for_detection(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` padded right/bottom with grey so no side is under 1/64 of the other.

    Thin strips (1x3000) and tiny images (1x1) would otherwise shrink to zero
    pixels inside the detectors. Boxes found keep their coordinates.

    >>> pad_for_detection(np.zeros((3000, 1, 3), np.uint8)).shape, pad_for_detection(np.zeros((64, 48, 3), np.uint8)).shape
    ((3000, 47, 3), (64, 48, 3))
    """
    h, w = rgb.shape[:2]
    need = -(-max(h, w) // STRIP_RATIO)
    if h >= need and w >= need:
        return rgb
    out = np.full((max(h, need), max(w, need), 3), PAD_VALUE, np.uint8)
    out[:h, :w] = rgb
    return out


def analyse(stages, rgb: np.ndarray, fail_safe: bool = False, keeper=None) -> tuple[People, np.ndarray]:
    """Detect and build the mask of one RGB frame; fail closed (raise, or hide all with ``fail_safe``).

    With a ``keeper`` (:class:`fuzzypeople.keep.Keeper`) the people it keeps
    are left out of the mask.
    """
    shape = rgb.shape[:2]
    try:
        padded = pad_for_detection(rgb)
        people = stages.detect(padded)
        if padded is not rgb and people.masks is not None:
            people = replace(people, masks=np.ascontiguousarray(people.masks[:, : shape[0], : shape[1]]))
        if keeper is None:
            return people, stages.mask(people, shape)
        people = with_ids(people)
        keeper.observe(rgb, people)
        return people, stages.mask(keeper.hidden(people), shape)
    except Exception:
        if not fail_safe:
            raise
        return People.empty(), np.ones(shape, bool)


class StillMasker:
    """Each frame analysed on its own, at once (photos): the same interface as ``TemporalMasker``.

    ``people`` counts the people found over all frames pushed (a face inside a body's
    box is that body's head: :func:`~fuzzypeople.people.standalone`). With a
    ``keeper`` (:class:`fuzzypeople.keep.Keeper`) the people it keeps are
    left out of the masks.
    """

    def __init__(self, stages, fail_safe: bool = False, keeper=None):
        self.stages = stages
        self.fail_safe = fail_safe
        self.keeper = keeper
        self.frames = 0
        self.people = 0

    def push(self, item: Any, rgb: np.ndarray) -> list[tuple[Any, np.ndarray]]:
        t = self.frames
        self.frames += 1
        try:
            people, mask = analyse(self.stages, rgb, self.fail_safe, self.keeper)
        except Exception as exc:
            raise AnalysisError(t, exc) from exc
        self.people += int(standalone(people).sum())
        return [(item, mask)]

    def flush(self) -> list[tuple[Any, np.ndarray]]:
        return []


def anonymize_frames(stages, frames: Iterable[tuple[Any, np.ndarray, np.ndarray, int]], masker, *,
                     params=None, hide: bool = True, state=None,
                     hide_ahead: int = 0) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
    """Anonymise a stream of frames, in order: detect -> track -> mask -> hide.

    This is the one place where a frame is anonymised: photos (one frame,
    :class:`StillMasker`), arrays (:meth:`fuzzypeople.Anonymizer.anonymize`)
    and every frame of a video, file or camera
    (:class:`~fuzzypeople.track.TemporalMasker`) all go through it.

    Args:
        stages: has ``detect``, ``mask`` and ``hide`` (an :class:`~fuzzypeople.Anonymizer`).
        frames: ``(item, pixels, rgb, turns)`` tuples: ``item`` is handed back
            untouched, ``pixels`` are hidden (any HxW[xC] uint8/uint16, as
            stored), ``rgb`` is the 8-bit RGB the detectors see, upright:
            ``pixels`` turned ``turns`` quarter turns (``np.rot90``).
        masker: ``push(item, rgb) -> [(item, mask)]`` and ``flush()``.
        params: the method's parameters (default: the stages').
        hide: False to detect only (``method="none"``): pixels come back as they are.
        hide_ahead: hide on a helper thread, up to this many frames behind
            the analysis (video: hiding one frame overlaps detecting the next
            on the other core); 0 hides on the calling thread. Frames still
            come out in order, and an error in hiding is raised here.

    A method that keeps state across frames (``erase``'s background model)
    gets one fresh state per call, from ``stages.method_state()`` when the
    stages have it: one per photo, one per video; or ``state``, made and
    prepared by the caller (a video's background model primed with frames
    from the whole clip, :func:`fuzzypeople.pipeline.video.prime`).

    Yields ``(item, hidden pixels, mask)`` for every frame, in order, as soon
    as its mask is final (a tracking masker holds frames back a little).
    Analysis failures raise :class:`~fuzzypeople.track.AnalysisError`.
    """

    make_state = getattr(stages, "method_state", None)
    if state is None and hide and make_state is not None:
        state = make_state()
    state = state if hide else None
    extra = {} if state is None else {"state": state}

    def upright_masks(ready):
        for (item, pixels, turns), mask in ready:
            yield item, pixels, (np.ascontiguousarray(np.rot90(mask, -turns)) if turns else mask)

    def masked():
        for item, pixels, rgb, turns in frames:
            yield from upright_masks(masker.push((item, pixels, turns), rgb))
        yield from upright_masks(masker.flush())

    if not hide:
        yield from masked()
    elif not hide_ahead:
        for item, pixels, mask in masked():
            yield item, stages.hide(pixels, mask, params, **extra), mask
    else:  # one helper thread: frames are hidden in order (erase's background model needs it)
        with ThreadPoolExecutor(1, thread_name_prefix="fuzzypeople-hide") as pool:
            pending: collections.deque = collections.deque()
            for item, pixels, mask in masked():
                pending.append((item, pool.submit(stages.hide, pixels, mask, params, **extra), mask))
                while len(pending) > hide_ahead:
                    item, job, mask = pending.popleft()
                    yield item, job.result(), mask
            while pending:
                item, job, mask = pending.popleft()
                yield item, job.result(), mask
