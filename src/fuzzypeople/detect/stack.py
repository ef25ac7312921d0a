"""The default recall-first detector stack: bodies and faces, combined.

No single model is trusted to find everyone:

* two independent body detectors run on every image (by default NanoDet-m,
  tiled for small people, and MoveNet MultiPose); what either finds counts,
  and boxes both found are merged into one person;
* a face detector runs beside them, so a person whose body is missed still
  has their face hidden, and
* **a face implies a body**: a face with no body box around it gets a body
  region below it in human proportions (:func:`bodies_below_faces`), so a
  missed body is never left with only its face hidden;
* with ``outline`` (the default in the API), each body box is traced by
  segmentation (:mod:`fuzzypeople.detect.outline`), falling back to the box
  where the segmenters are unsure; a body detector that also sees the things
  people hold (``find(rgb, held=True)``, NanoDet) passes their boxes to it.
"""

from __future__ import annotations

import numpy as np

from ..choices import parse_choices
from ..people import BODY, People, box_iou, centres_inside
from . import DETECTORS, load
from ._runtime import session_arena, session_threads

TARGETS = ("bodies", "faces")
DEFAULT_BODY = ("nanodet", "movenet")
DEFAULT_FACE = "centerface"
FACE_RULE = "face-rule"  # the source name of bodies inferred from faces
MERGE_IOU = 0.6  # body boxes from different detectors overlapping this much are one person

# A body below a face, in face-box units (the face box is about one head):
# 3 faces wide, from just above the face to 7.5 faces below its top.
BODY_WIDTH = 3.0
BODY_ABOVE = 0.2
BODY_HEIGHT = 7.5


def parse_targets(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"bodies,faces"`` -> ``("bodies", "faces")``, checked.

    >>> parse_targets("faces")
    ('faces',)
    """
    return parse_choices(value, TARGETS, f"targets must be one or both of {', '.join(TARGETS)}")


def merge_overlapping(bodies: People, iou: float = MERGE_IOU) -> People:
    """Join boxes that overlap by more than ``iou`` into their enclosing box (max score).

    Two detectors finding the same person give one person, drawn as the union
    of both boxes (recall first: neither box's margin is lost).

    >>> b = People([[0, 0, 10, 20], [1, 0, 11, 21], [50, 50, 60, 60]], [0.5, 0.8, 0.9], ["body"] * 3)
    >>> m = merge_overlapping(b)
    >>> m.boxes.tolist(), [round(float(s), 1) for s in m.scores]
    ([[50.0, 50.0, 60.0, 60.0], [0.0, 0.0, 11.0, 21.0]], [0.9, 0.8])
    """
    if len(bodies) < 2:
        return bodies
    order = np.argsort(-bodies.scores, kind="stable")
    boxes, scores, source = bodies.boxes[order], bodies.scores[order], bodies.source[order]
    overlap = box_iou(boxes, boxes) > iou
    group = np.full(len(boxes), -1)
    for i in range(len(boxes)):  # per box, not per pixel: a handful of people
        if group[i] < 0:
            group[(group < 0) & overlap[i]] = i
    leaders = np.unique(group)
    merged = np.array([[boxes[group == g, 0].min(), boxes[group == g, 1].min(),
                        boxes[group == g, 2].max(), boxes[group == g, 3].max()] for g in leaders])
    return People(merged, scores[leaders], np.full(len(leaders), BODY), source=source[leaders])


def bodies_below_faces(faces: People, bodies: People, shape: tuple[int, int]) -> People:
    """A body region for every face whose centre lies in no body box.

    The region is ``BODY_WIDTH`` faces wide, centred on the face, from
    ``BODY_ABOVE`` faces above its top to ``BODY_HEIGHT`` faces below it,
    clipped to the image: human proportions, so a body the detectors missed is
    still hidden with its face.

    >>> faces = People([[40, 10, 60, 30]], [0.9], ["face"])
    >>> bodies_below_faces(faces, People.empty(), (100, 200)).boxes.tolist()
    [[20.0, 6.0, 80.0, 100.0]]
    >>> body = People([[20, 0, 80, 100]], [0.9], ["body"])
    >>> len(bodies_below_faces(faces, body, (100, 200)))   # the face has a body
    0
    """
    if len(faces) == 0:
        return People.empty()
    lone = faces[~centres_inside(faces.boxes, bodies.boxes).any(axis=1)]
    if len(lone) == 0:
        return People.empty()
    x1, y1, x2, y2 = lone.boxes.T
    fw, fh = x2 - x1, y2 - y1
    mid = (x1 + x2) / 2
    h, w = shape
    boxes = np.column_stack([mid - fw * BODY_WIDTH / 2, y1 - fh * BODY_ABOVE,
                             mid + fw * BODY_WIDTH / 2, y1 + fh * BODY_HEIGHT])
    boxes = np.clip(boxes, 0, [w, h, w, h])
    return People(boxes, lone.scores, np.full(len(lone), BODY), source=np.full(len(lone), FACE_RULE))


class Stack:
    """Run the body and/or face detectors and join what they find.

    Args:
        targets: ``("bodies", "faces")`` or one of them.
        threshold: one confidence threshold for every detector (None = each one's own).
        body: a body detector name, or several (their finds are joined).
        face: the face detector name.
        outline: trace body outlines by segmentation instead of keeping boxes.
        tile_scale: for body detectors that tile (``TILED = True`` in their
            module): also look in tiles of the image enlarged this much
            (0 = whole image only; None = the detector's default).
        tile_windows: for those that can (``WINDOWED = True``): see the
            enlarged image in a few large windows instead of 416 px tiles.
        face_rule: add a body below every face that has none (needs both targets).
        face_scale: the face detector sees the image at this scale (video: 0.5).
        threads: inference threads of each model session (None: all cores,
            or FUZZYPEOPLE_THREADS); parallel workers give each a share.
        shared_arena: the model sessions draw their memory from one arena kept
            between runs (video; see :func:`fuzzypeople.detect._runtime.session_arena`).
        int8: body detectors that have one (``QUANTIZED = True``) load their
            int8 model (video; see ``tools/quantize_nanodet.py`` and ``tools/quantize_movenet.py``).
        extra_every: the body detectors after the first run on every
            ``extra_every``-th call only (video, where tracks cover the
            analyses in between); the first, the face detector and the face
            rule run on every call, and :meth:`everyone` runs them all.
    """

    def __init__(
        self,
        targets=TARGETS,
        threshold: float | None = None,
        body: str | tuple[str, ...] = DEFAULT_BODY,
        face: str = DEFAULT_FACE,
        outline: bool = False,
        tile_scale: float | None = None,
        face_rule: bool = True,
        tile_windows: bool = False,
        threads: int | None = None,
        face_scale: float = 1.0,
        shared_arena: bool = False,
        int8: bool = False,
        extra_every: int = 1,
    ):
        if int(extra_every) < 1:
            raise ValueError(f"extra_every must be >= 1, got {extra_every}")
        self.extra_every, self.calls = int(extra_every), 0
        with session_threads(threads), session_arena(shared_arena):
            self._load(targets, threshold, body, face, outline, tile_scale, face_rule, tile_windows, face_scale,
                       int8)

    def _load(self, targets, threshold, body, face, outline, tile_scale, face_rule, tile_windows,
              face_scale, int8) -> None:
        """Load the detectors (their sessions get the threads in force)."""
        self.targets = parse_targets(targets)
        names = (body,) if isinstance(body, str) else tuple(body)
        self.bodies = []
        if "bodies" in self.targets:
            for name in names:
                module = DETECTORS.get(name)
                tiles = {"upscale": tile_scale} if tile_scale is not None and getattr(module, "TILED", False) else {}
                if tile_windows and getattr(module, "WINDOWED", False):
                    tiles["windows"] = True
                if int8 and getattr(module, "QUANTIZED", False):
                    tiles["int8"] = True
                self.bodies.append(load(name, threshold=threshold, **tiles))
        self.face = None
        if "faces" in self.targets:
            self.face = load(face, threshold=threshold, **({"scale": face_scale} if face_scale != 1 else {}))
        self.face_rule = face_rule and self.bodies and self.face is not None
        self.outliner = None
        if outline and self.bodies:
            from .outline import Outliner

            self.outliner = Outliner()

    def gate_tiles(self, keep_tile) -> bool:
        """Let ``keep_tile(x1, y1, x2, y2)`` choose the tiles of the tiled body detectors (None: all).

        Returns whether any detector tiles (and so will use it).
        """
        gated = [d for d in self.bodies if hasattr(d, "tile_gate")]
        for d in gated:
            d.tile_gate = keep_tile
        return bool(gated)

    def everyone(self, rgb: np.ndarray) -> People:
        """Like calling the stack, with every body detector whatever ``extra_every`` says."""
        return self(rgb, every_detector=True)

    def __call__(self, rgb: np.ndarray, every_detector: bool = False) -> People:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"detectors take HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
        shape = rgb.shape[:2]
        extras = every_detector or self.calls % self.extra_every == 0  # the first call runs every detector
        self.calls += 1
        each, held = [], []
        for k, d in enumerate(self.bodies):
            if k == 0 or extras:
                if self.outliner is not None and hasattr(d, "find"):  # the things people hold, from the same run
                    people, things = d.find(rgb, held=True)
                    each.append(people)
                    held.append(things)
                else:
                    each.append(d(rgb))
        bodies = People.concat(each)
        if len(self.bodies) > 1:
            bodies = merge_overlapping(bodies)
        faces = self.face(rgb) if self.face is not None else People.empty()
        if self.face_rule:
            bodies = People.concat([bodies, bodies_below_faces(faces, bodies, shape)])
        found = People.concat([bodies, faces])
        if self.outliner is not None:
            found = self.outliner(rgb, found, held=np.concatenate(held) if held else None)
        return found
