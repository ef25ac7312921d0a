"""The one currency between pipeline stages: the people found in one frame.

Every detector returns a :class:`People`; masks are built from it; the tracker
carries it across frames; the audit reads it. It is deliberately small and
numpy-only (modelled on ``supervision.Detections``).

>>> import numpy as np
>>> p = People(boxes=np.array([[10, 20, 50, 90]], np.float32),
...            scores=np.array([0.9], np.float32), kinds=np.array(["body"]))
>>> len(p), p.kinds.tolist()
(1, ['body'])
>>> len(People.concat([p, People.empty()]))
1
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BODY = "body"
FACE = "face"
KINDS = (BODY, FACE)


@dataclass
class People:
    """People found in one frame.

    Attributes:
        boxes: ``(N, 4)`` float32, ``x1, y1, x2, y2`` in pixels of the frame.
        scores: ``(N,)`` float32 confidences in ``[0, 1]``.
        kinds: ``(N,)`` str array, each ``"body"`` or ``"face"``.
        masks: optional ``(N, H, W)`` bool instance masks (a person's pixels);
            where absent, the box stands for the person.
        track_ids: optional ``(N,)`` int array, ``-1`` where untracked.
        source: ``(N,)`` str array naming the detector that found each one.
    """

    boxes: np.ndarray
    scores: np.ndarray
    kinds: np.ndarray
    masks: np.ndarray | None = None
    track_ids: np.ndarray | None = None
    source: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        n = len(self.boxes)
        self.scores = np.asarray(self.scores, np.float32).reshape(n)
        self.kinds = np.asarray(self.kinds, dtype="<U4").reshape(n)
        if self.source is None:
            self.source = np.full(n, "", dtype="<U16")
        self.source = np.asarray(self.source, dtype="<U16").reshape(n)
        if self.masks is not None:
            self.masks = np.asarray(self.masks, bool)
            if self.masks.ndim != 3 or len(self.masks) != n:
                raise ValueError(f"masks must be (N, H, W) with N={n}, got {self.masks.shape}")
        if self.track_ids is not None:
            self.track_ids = np.asarray(self.track_ids, np.int64).reshape(n)
        bad = set(self.kinds.tolist()) - set(KINDS)
        if bad:
            raise ValueError(f"unknown kind(s) {sorted(bad)}; expected {KINDS}")

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> "People":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, "<U4"))

    def __getitem__(self, index) -> "People":
        """Select people with a boolean mask, an index array or a slice."""
        if isinstance(index, (int, np.integer)):
            index = [index]
        return People(
            boxes=self.boxes[index],
            scores=self.scores[index],
            kinds=self.kinds[index],
            masks=None if self.masks is None else self.masks[index],
            track_ids=None if self.track_ids is None else self.track_ids[index],
            source=self.source[index],
        )

    def of_kind(self, kind: str) -> "People":
        return self[self.kinds == kind]

    def with_masks(self, shape: tuple[int, int]) -> "People":
        """Return a copy whose ``masks`` are filled, boxes standing in where none."""
        if self.masks is not None:
            return self
        h, w = shape
        masks = np.zeros((len(self), h, w), bool)
        for i, (x1, y1, x2, y2) in enumerate(clip_boxes(self.boxes, shape)):
            masks[i, y1:y2, x1:x2] = True
        return People(self.boxes, self.scores, self.kinds, masks, self.track_ids, self.source)

    @classmethod
    def concat(cls, parts: list["People"]) -> "People":
        """Join several results for the same frame into one."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        shapes = {p.masks.shape[1:] for p in parts if p.masks is not None}
        masks = None
        if shapes:
            if len(shapes) > 1:
                raise ValueError(f"cannot join masks of different frame sizes {shapes}")
            shape = shapes.pop()
            masks = np.concatenate([p.with_masks(shape).masks for p in parts])
        tracks = None
        if any(p.track_ids is not None for p in parts):
            tracks = np.concatenate(
                [p.track_ids if p.track_ids is not None else np.full(len(p), -1) for p in parts]
            )
        return cls(
            boxes=np.concatenate([p.boxes for p in parts]),
            scores=np.concatenate([p.scores for p in parts]),
            kinds=np.concatenate([p.kinds for p in parts]),
            masks=masks,
            track_ids=tracks,
            source=np.concatenate([p.source for p in parts]),
        )


def clip_boxes(boxes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boxes as integer pixel ranges clipped to the frame, rounded outwards.

    >>> clip_boxes(np.array([[-3.5, 1.2, 7.1, 99.0]]), (10, 10)).tolist()
    [[0, 1, 8, 10]]
    """
    h, w = shape
    out = np.empty((len(boxes), 4), np.int64)
    out[:, 0] = np.clip(np.floor(boxes[:, 0]), 0, w)
    out[:, 1] = np.clip(np.floor(boxes[:, 1]), 0, h)
    out[:, 2] = np.clip(np.ceil(boxes[:, 2]), 0, w)
    out[:, 3] = np.clip(np.ceil(boxes[:, 3]), 0, h)
    return out



def box_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection area of every box in ``a`` (N, 4) with every box in ``b`` (M, 4).

    >>> box_intersection(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [20, 20, 30, 30]])).tolist()
    [[50.0, 0.0]]
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    return np.prod(np.clip(rb - lt, 0, None), axis=2)


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Area of each box (N, 4); inverted boxes count 0."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` (N, 4) with every box in ``b`` (M, 4).

    >>> box_iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])).round(3).tolist()
    [[1.0, 0.333, 0.0]]
    """
    inter = box_intersection(a, b)
    union = box_area(a)[:, None] + box_area(b)[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def centres_inside(boxes: np.ndarray, containers: np.ndarray) -> np.ndarray:
    """(N, M) bool: does the centre of ``boxes[i]`` lie in ``containers[j]`` (edges included)?

    >>> centres_inside(np.array([[10, 10, 20, 20]]), np.array([[0, 0, 15, 15], [16, 0, 30, 30]])).tolist()
    [[True, False]]
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    c = np.asarray(containers, np.float64).reshape(-1, 4)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    return ((cx[:, None] >= c[None, :, 0]) & (cx[:, None] <= c[None, :, 2])
            & (cy[:, None] >= c[None, :, 1]) & (cy[:, None] <= c[None, :, 3]))


def standalone(people: People) -> np.ndarray:
    """``(N,)`` bool: which of ``people`` stand for a person of their own, for counting people.

    Every body does; a face does only when its centre lies in no body box (a face
    inside a body box is that body's head, found by the face detector too).

    >>> p = People([[0, 0, 50, 100], [10, 5, 30, 25], [80, 10, 90, 20]], [1, 1, 1], [BODY, FACE, FACE])
    >>> standalone(p).tolist()
    [True, False, True]
    """
    alone = people.kinds == BODY
    faces = ~alone
    if faces.any():
        alone[faces] = ~centres_inside(people.boxes[faces], people.boxes[alone]).any(axis=1)
    return alone
