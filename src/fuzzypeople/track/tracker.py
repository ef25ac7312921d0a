"""Follow people from frame to frame and predict where they are between sightings.

A small IoU tracker with constant-velocity motion (the matching idea of SORT /
ByteTrack without the Kalman filter): detections of one kind (body or face)
are matched greedily, best IoU first, to the boxes the live tracks predict for
that frame. It exists for *recall*, not for identities: a track is the memory
that keeps a person hidden on frames where the detector did not run or missed
them.

Boxes between sightings are interpolated; after the last sighting a track is
*held* for ``hold`` frames, moved with its velocity and grown with the
distance it may have covered (velocity-based expansion); before its first
sighting it is back-filled the same way for frames that were buffered.

>>> import numpy as np
>>> from fuzzypeople.people import People
>>> t = Tracker(hold=5)
>>> p = lambda x: People(np.array([[x, 0, x + 10, 20]]), [0.9], ["body"])
>>> t.update(p(0), 0).track_ids.tolist(), t.update(p(4), 2).track_ids.tolist()
([1], [1])
>>> t.predict(4).boxes.round().tolist()   # held: moved on at 2 px/frame, grown
[[6.0, -3.0, 20.0, 23.0]]
>>> len(t.predict(8))                      # hold over: forgotten
0
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..people import People, box_iou

MATCH_IOU = 0.2
GROW_PER_FRAME = 0.02  # uncertainty: box grows by this share of its size per frame unseen
MOTION_GROW = 0.5  # and by this share of the distance it moved since its last sighting
MAX_GROW = 1.0  # never more than this share of its size per side


def coverage(box: np.ndarray, others: np.ndarray) -> float:
    """Share of ``box`` (4,) inside the union of boxes ``others`` (M, 4) (upper bound: sum)."""
    if len(others) == 0:
        return 0.0
    area = max((box[2] - box[0]) * (box[3] - box[1]), 1e-9)
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return float(min(inter.sum() / area, 1.0))


def _grow(box: np.ndarray, share: float, pixels: float) -> np.ndarray:
    wh = box[2:] - box[:2]
    g = np.minimum(wh * share + pixels, wh * MAX_GROW + 1.0)
    return np.concatenate([box[:2] - g, box[2:] + g])


@dataclass
class Track:
    id: int
    kind: str
    frames: list[int] = field(default_factory=list)  # sightings, ascending
    boxes: list[np.ndarray] = field(default_factory=list)

    @property
    def last(self) -> int:
        return self.frames[-1]

    def velocity(self) -> np.ndarray:
        """Per-frame motion of the box corners from the last two sightings."""
        if len(self.frames) < 2:
            return np.zeros(4, np.float32)
        df = self.frames[-1] - self.frames[-2]
        return (self.boxes[-1] - self.boxes[-2]) / max(df, 1)

    def box_at(self, t: int) -> np.ndarray:
        """Best guess of the box on frame ``t``, grown by how unsure it is."""
        f, b = self.frames, self.boxes
        if t >= f[-1]:
            dt = t - f[-1]
            if dt == 0:
                return b[-1]
            v = self.velocity()
            moved = float(np.abs(v).max()) * dt
            return _grow(b[-1] + v * dt, GROW_PER_FRAME * dt, MOTION_GROW * moved)
        if t < f[0]:
            dt = f[0] - t
            v = np.zeros(4, np.float32)
            if len(f) >= 2:
                v = (b[1] - b[0]) / max(f[1] - f[0], 1)
            moved = float(np.abs(v).max()) * dt
            return _grow(b[0] - v * dt, GROW_PER_FRAME * dt, MOTION_GROW * moved)
        i = int(np.searchsorted(f, t, side="right"))  # f[i-1] <= t < f[i]
        if f[i - 1] == t:
            return b[i - 1]
        w = (t - f[i - 1]) / (f[i] - f[i - 1])
        box = b[i - 1] * (1 - w) + b[i] * w
        moved = float(np.abs(b[i] - b[i - 1]).max())
        return _grow(box, 0.02, MOTION_GROW * moved * min(w, 1 - w) + 2.0)


class Tracker:
    """Match each analysed frame's people to tracks; predict boxes for any frame.

    Args:
        hold: keep a track this many frames after its last sighting.
        history: sightings kept per track (for interpolation over buffered frames).
    """

    def __init__(self, hold: int = 10, history: int = 4):
        self.hold = int(hold)
        self.history = history
        self.tracks: list[Track] = []
        self._next = 1

    def alive(self, t: int) -> list[Track]:
        return [tr for tr in self.tracks if tr.frames[0] <= t + self.hold and t - tr.last <= self.hold]

    def update(self, people: People, t: int) -> People:
        """Record the people found on analysed frame ``t``; returns them with ``track_ids``."""
        self.tracks = [tr for tr in self.tracks if t - tr.last <= self.hold]
        ids = np.full(len(people), -1, np.int64)
        for kind in np.unique(people.kinds):
            idx = np.flatnonzero(people.kinds == kind)
            cands = [tr for tr in self.tracks if tr.kind == kind and tr.last < t]
            if cands:
                pred = np.stack([tr.box_at(t) for tr in cands])
                iou = box_iou(pred, people.boxes[idx])
                while iou.size and iou.max() >= MATCH_IOU:
                    ti, di = np.unravel_index(int(iou.argmax()), iou.shape)
                    ids[idx[di]] = cands[ti].id
                    self._sight(cands[ti], t, people.boxes[idx[di]])
                    iou[ti, :] = -1
                    iou[:, di] = -1
            for di in idx:
                if ids[di] == -1:
                    tr = Track(self._next, str(kind))
                    self._next += 1
                    self._sight(tr, t, people.boxes[di])
                    self.tracks.append(tr)
                    ids[di] = tr.id
        return People(people.boxes, people.scores, people.kinds, people.masks, ids, people.source)

    def _sight(self, tr: Track, t: int, box: np.ndarray) -> None:
        tr.frames.append(int(t))
        tr.boxes.append(np.asarray(box, np.float32).copy())
        del tr.frames[: -self.history], tr.boxes[: -self.history]

    def predict(self, t: int, exclude_seen: bool = False) -> People:
        """Boxes of every live track on frame ``t`` (interpolated, held or back-filled).

        With ``exclude_seen``, tracks sighted exactly on ``t`` are left out
        (their detection is already in that frame's mask).
        """
        tracks = [tr for tr in self.alive(t) if not (exclude_seen and t in tr.frames)]
        if not tracks:
            return People.empty()
        return People(
            np.stack([tr.box_at(t) for tr in tracks]),
            np.ones(len(tracks), np.float32),
            np.array([tr.kind for tr in tracks]),
            track_ids=np.array([tr.id for tr in tracks]),
            source=np.full(len(tracks), "track"),
        )
