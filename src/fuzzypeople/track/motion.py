"""Spend the expensive small-people tiles where people can be: video only.

The tiled pass (NanoDet on overlapping enlarged tiles) is most of the
detector's time, and in a street video most tiles hold only a still
background. :class:`MotionTiles` wraps a video's detector: on every
``sweep``-th analysed frame every tile runs whole (a full sweep finds
newcomers and people standing still); on the others each tile runs only over
the rectangle where the picture changed since the last analysed frame, or
where somebody was found last time, and not at all where neither happened.
The whole-image pass, MoveNet and the face detector always run on the whole
frame. A person found once keeps their tiles in play while they are found
again, and the tracker holds them through a miss; a still newcomer waits at
most ``sweep`` analyses for the next full sweep (see
``benchmarks/video_recall.py --sweeps`` for what it costs in recall).

>>> import numpy as np
>>> from fuzzypeople.people import People
>>> class Stack:                      # a stand-in for detect.stack.Stack
...     keep = used = None
...     def gate_tiles(self, keep): self.keep = keep; return True
...     def __call__(self, rgb): self.used = self.keep; return People.empty()
>>> stack = Stack()
>>> gate = MotionTiles(stack, stack, sweep=2)
>>> still = np.zeros((256, 256, 3), np.uint8)
>>> _ = gate(still); stack.used is None           # first call: full sweep
True
>>> _ = gate(still); stack.used(0, 0, 64, 64) is None   # nothing moved, nobody found: skip
True
>>> moved = still.copy(); moved[200:210, 200:210] = 255
>>> _ = gate(moved); stack.used is None           # third call: full sweep again
True
>>> _ = gate(still); stack.used(128, 128, 256, 256)      # only around the change
(176, 176, 236, 236)
>>> stack.keep is None                            # the gate is lifted after each call
True
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from ..people import People

STEP = 4  # motion is measured on frames shrunk this much
CHANGE = 12  # grey levels (0-255) that count as a change
MARGIN = 24  # px around a change or a person whose tiles also run
DEFAULT_SWEEP = 3  # a full sweep every 3rd analysed frame


class MotionTiles:
    """``detect(rgb) -> People`` for a video, with the tiled pass gated by motion and last finds.

    Args:
        detect: the detector to call (e.g. ``Anonymizer.detect``).
        stack: the object whose ``gate_tiles(keep_tile)`` chooses the tiles
            (e.g. ``Anonymizer.detector``).
        sweep: run every tile on every ``sweep``-th call (1 = always: no gating).
    """

    def __init__(self, detect: Callable[[np.ndarray], People], stack, sweep: int = DEFAULT_SWEEP):
        if sweep < 1:
            raise ValueError("sweep must be >= 1")
        self.detect = detect
        self.stack = stack
        self.sweep = sweep
        self.calls = 0
        self.previous: np.ndarray | None = None
        self.found = np.zeros((0, 4), np.float32)
        self.gated = 0  # statistics: calls with gated tiles, tile area asked about and area run on them
        self.area_seen = 0.0
        self.area_run = 0.0

    def _active(self, small: np.ndarray) -> np.ndarray:
        """Where tiles must run, on the shrunk grid: changed pixels and last finds, grown by MARGIN."""
        active = cv2.absdiff(small, self.previous) > CHANGE
        h, w = active.shape
        for x1, y1, x2, y2 in np.round(self.found / STEP).astype(int):  # a handful of people
            active[max(y1, 0) : min(y2 + 1, h), max(x1, 0) : min(x2 + 1, w)] = True
        r = max(1, MARGIN // STEP)
        return cv2.dilate(active.view(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)).astype(bool)

    def __call__(self, rgb: np.ndarray) -> People:
        h, w = rgb.shape[:2]
        small = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (max(1, w // STEP), max(1, h // STEP)),
                           interpolation=cv2.INTER_AREA)
        full = self.previous is None or self.previous.shape != small.shape or self.calls % self.sweep == 0
        if full:
            self.stack.gate_tiles(None)
        else:
            active = self._active(small)


            def keep_tile(x1, y1, x2, y2):
                """The part of this tile where something moved or someone was found (pixels), or None."""
                sh, sw = active.shape
                a, b = int(np.clip(x1 // STEP, 0, sw)), int(np.clip(y1 // STEP, 0, sh))
                c, d = int(np.clip(np.ceil(x2 / STEP), 0, sw)), int(np.clip(np.ceil(y2 / STEP), 0, sh))
                self.area_seen += (x2 - x1) * (y2 - y1)
                # the tile's active part: first and last active rows and columns inside it
                ys = b + np.flatnonzero(active[b:d, a:c].any(axis=1))
                if not len(ys):
                    return None
                xs = a + np.flatnonzero(active[b:d, a:c].any(axis=0))
                part = (max(x1, int(xs[0]) * STEP), max(y1, int(ys[0]) * STEP),
                        min(x2, (int(xs[-1]) + 1) * STEP), min(y2, (int(ys[-1]) + 1) * STEP))
                self.area_run += (part[2] - part[0]) * (part[3] - part[1])
                return part

            self.stack.gate_tiles(keep_tile)
            self.gated += 1
        try:
            people = self.detect(rgb)
        finally:
            self.stack.gate_tiles(None)
        self.calls += 1
        self.previous = small
        self.found = people.boxes.copy()
        return people
