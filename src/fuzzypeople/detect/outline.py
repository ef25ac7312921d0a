"""Trace each person's outline inside their body box, so the scene around them is kept.

A box around a standing person is mostly background; filling it destroys the
street the seed idea wants to keep. For each body box tall enough, an
**undistorted square crop** centred on the box (``CROP`` times its longer
side, zero-padded at the image border) goes through two independent
segmenters, both MediaPipe models run by LiteRT (no TensorFlow):

* the selfie segmenter (a person-vs-background mask for the whole crop), and
* BlazePose's full landmark model, whose third output is a person mask, run
  on the crop MediaPipe itself would give it (:class:`AlignedPose`): a first
  pass on the square crop finds the hip centre and the full-body scale point
  (auxiliary landmarks 33 and 34), a second pass runs on a square centred on
  the hips, upright, ``ALIGN_SCALE`` times the body's radius either side,
  and its mask is warped back. On our square crop a close-up looks twice
  too big to BlazePose and it leaves limbs out; on the aligned one it covers
  more of the person for the same background (coco-people, BlazePose alone:
  0.72 -> 0.82 of people >= 90% hidden, background 0.064 -> 0.070).

A pixel belongs to the person when either says so with probability
``THRESHOLD`` or more (recall first), except that **the selfie mask only
counts near BlazePose's**: within ``GATE`` times the box's longer side of a
pixel BlazePose gives at least ``GATE_THRESHOLD``, or anywhere below one
within a cone that widens by ``GATE_SLOPE`` pixels sideways per pixel down,
where the selfie model must be at least ``CONE_THRESHOLD`` sure.
The selfie model fills the limbs and held things BlazePose misses next to
the body, but also spills onto skin- and red-coloured background (flags,
barrels, a teddy bear) beside it; the gate keeps the first and drops most of
the second. "Below" is open because a body goes on downwards, and BlazePose
fades out on the dark clothes of a portrait cut by the picture's edge (Grace
Hopper's uniform, a couple's shoulders) where the selfie model does not; it
widens because shoulders and arms reach out sideways below the head (a
straight-down column left a close-up's shoulders and sleeves visible in
held-out portraits). Those are pixels the selfie model is sure of; the
cone's outer reaches also took in its unsure fringe (0.3-0.5) on grass,
backdrops and tables, which ``CONE_THRESHOLD`` leaves out (coco-people
background 0.1086 -> 0.1065 at the same people; held-out pictures lose only
scene: the cameraman's grass and tripod, a portrait's backdrop).
The mask stays inside the crop.

Fail closed: where the segmenters are unsure, the whole box is kept. That is
when the mask covers less than ``MIN_FILL`` of the box, its pixels' mean
probability is under ``MIN_CONFIDENCE``, or the two segmenters disagree
inside the box (their masks' intersection over union, the selfie's before
the gate, is under ``AGREEMENT``: one of them has missed a limb, a held
child, a person at the edge), unless the mask reaches every body landmark
BlazePose's aligned pass sees (at least ``MIN_LANDMARKS`` of them): then the
limbs are where the mask is, and it is kept if it is smaller than the box
(:meth:`Outliner.covers`; coco-people background 0.119 -> 0.117 at the
same people hidden; the widening cone below BlazePose's mask then took it
to 0.121, and people >= 32 px 0.972 -> 0.979). Boxes shorter than
``MIN_HEIGHT`` also stay boxes (segmentation is unreliable there, and a
small box costs little scene).
The values were chosen on coco-people and checked on held-out photos
(``benchmarks/detection.py``, ``benchmarks/outline_headroom.py``,
``benchmarks/overlay.py``).

>>> import numpy as np
>>> from fuzzypeople.people import People
>>> outliner = Outliner()
>>> p = People([[10, 10, 90, 150]], [0.9], ["body"])
>>> m = outliner(np.zeros((160, 100, 3), np.uint8), p).masks   # nobody to trace: the box stays
>>> int(m.sum()) == 80 * 140
True
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..people import BODY, FACE, People, centres_inside, clip_boxes
from ._runtime import TFLiteSegmenter, sigmoid, tflite_interpreter

MIN_HEIGHT = 48  # px: smaller body boxes stay boxes
CROP = 1.25  # square crop side, as a multiple of the box's longer side
SIZE = 256  # both segmenters take 256x256 RGB in [0, 1]
THRESHOLD = 0.3  # probability counted as person
MIN_FILL = 0.1  # mask covers less of its box than this: distrust it, keep the box
MIN_CONFIDENCE = 0.7  # mean probability over the mask below this: keep the box
AGREEMENT = 0.5  # the two segmenters' masks overlap less than this (IoU) inside the box: keep the box
GATE = 0.1  # the selfie mask counts within this share of the box's longer side of BlazePose's mask
GATE_THRESHOLD = 0.05  # BlazePose probability that opens the gate around it
GATE_SLOPE = 0.5  # ... and below it, in a cone widening by this many pixels sideways per pixel down
CONE_THRESHOLD = 0.5  # ... where the selfie probability must be at least this (beyond the gate itself)
ALIGN_SCALE = 1.5  # aligned BlazePose square: half-side = this x the body radius (MediaPipe: 1.25)
ALIGN_MIN_PRESENCE = 0.5  # BlazePose's person presence on the first pass below this: keep its unaligned mask
HIP_CENTRE, SCALE_POINT = 33, 34  # BlazePose's auxiliary landmarks that define its region of interest
BODY_LANDMARKS = 33  # BlazePose's landmarks 0-32 are the body's (nose to feet); 33-38 are auxiliary
MIN_VISIBILITY = 0.5  # a landmark BlazePose sees (sigmoid of its visibility logit) at least this much
MIN_LANDMARKS = 6  # fewer seen landmarks than this: too little of a body to vouch for a mask
HELD_FACE = 0.25  # a held thing's box this much covered by a face in it is that person's head (NanoDet: "cat")
LANDMARK_SLACK = 0.03  # a landmark counts as covered within this share of the box's longer side of the mask


def square_crop(box, side_scale: float = CROP) -> tuple[int, int, int]:
    """``(x0, y0, side)``: a square centred on ``box``, ``side_scale`` times its longer side.

    >>> square_crop([10, 20, 30, 60])
    (-5, 15, 50)
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(1, int(round(max(x2 - x1, y2 - y1) * side_scale)))
    return int(round((x1 + x2 - side) / 2)), int(round((y1 + y2 - side) / 2)), side


def on_grid(box, x0: int, y0: int, side: int) -> tuple[int, int, int, int]:
    """``box`` (picture pixels) on the ``SIZE`` grid of the square crop at ``(x0, y0)``, ``side``
    pixels a side: ``(c1, r1, c2, r2)``, outwards to whole cells, the start at least 0 (the end may
    pass ``SIZE``; slicing clips it).

    >>> on_grid([10, 20, 30.5, 60], 0, 0, 512)
    (5, 10, 16, 30)
    """
    k = SIZE / side
    x1, y1, x2, y2 = box
    return (max(int((x1 - x0) * k), 0), max(int((y1 - y0) * k), 0),
            int(np.ceil((x2 - x0) * k)), int(np.ceil((y2 - y0) * k)))


def disk(radius: float) -> np.ndarray:
    """An elliptic structuring element of the given radius (rounded to whole pixels)."""
    r = max(int(round(radius)), 0)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def spread_down(mask: np.ndarray, slope: float) -> np.ndarray:
    """``mask`` and every pixel below one of its pixels within a cone opening downwards: row ``y``
    reaches ``floor(y * slope) - floor(y0 * slope)`` pixels to either side of a pixel on row ``y0``.

    ``slope`` 0 is a straight column down. Row by row (each row needs the one above), each row
    at once.

    >>> m = np.zeros((5, 7), bool); m[0, 3] = True
    >>> spread_down(m, 0.5).astype(int)
    array([[0, 0, 0, 1, 0, 0, 0],
           [0, 0, 0, 1, 0, 0, 0],
           [0, 0, 1, 1, 1, 0, 0],
           [0, 0, 1, 1, 1, 0, 0],
           [0, 1, 1, 1, 1, 1, 0]])
    """
    out = mask.astype(bool, copy=True)
    width = out.shape[1]
    x = np.arange(width)
    for y in range(1, out.shape[0]):
        k = int(np.floor(y * slope) - np.floor((y - 1) * slope))
        above = out[y - 1]
        if k:  # the row above, grown by k pixels to each side (a running window sum)
            run = np.concatenate([[0], np.cumsum(above)])
            above = run[np.minimum(x + k + 1, width)] - run[np.maximum(x - k, 0)] > 0
        out[y] |= above
    return out


def roi_affine(centre: np.ndarray, scale_point: np.ndarray, size: int = SIZE,
               scale: float = ALIGN_SCALE) -> tuple[np.ndarray, float]:
    """``(A, side)``: the 2x3 affine map from a picture to BlazePose's ``size`` square region of interest.

    As MediaPipe's ``pose_landmarks_to_roi``: a square centred on ``centre`` (the
    hip centre), of side ``2 * scale`` times the distance to ``scale_point``,
    rotated so that the hips-to-scale-point direction points up; ``side`` is
    that square's side in the picture's pixels.

    A body lying to the right (scale point right of the hips) is turned upright:

    >>> A, side = roi_affine(np.array([50.0, 50.0]), np.array([90.0, 50.0]), size=100, scale=1.25)
    >>> side, (A @ [50, 50, 1]).round(6).tolist(), (A @ [90, 50, 1]).round(6).tolist()
    (100.0, [50.0, 50.0], [50.0, 10.0])
    """
    d = np.asarray(scale_point, np.float64) - np.asarray(centre, np.float64)
    side = 2 * scale * float(np.hypot(*d))
    turn = -np.pi / 2 - np.arctan2(d[1], d[0])  # rotate the direction onto "up" (image y points down)
    c, s = np.cos(turn), np.sin(turn)
    rot = size / side * np.array([[c, -s], [s, c]])
    shift = np.array([size / 2, size / 2]) - rot @ np.asarray(centre, np.float64)
    return np.hstack([rot, shift[:, None]]), side


class AlignedPose:
    """BlazePose full's person mask for a square crop, from the region of interest MediaPipe would use.

    Called with a prepared ``SIZE`` input it is a plain segmenter (the mask of
    one pass, as :class:`TFLiteSegmenter`); :meth:`aligned_pass` makes the second,
    aligned pass (see the module's docstring) and returns its mask on the
    crop's ``SIZE`` grid. When the first pass sees no person
    (presence under ``ALIGN_MIN_PRESENCE``) its landmarks mean nothing, and
    its own mask is returned.
    """

    def __init__(self, name: str = "pose_landmark_full.tflite"):
        self.it = tflite_interpreter(name)
        self.inp = self.it.get_input_details()[0]["index"]
        outputs = {tuple(d["shape"][1:]): d["index"] for d in self.it.get_output_details()}
        self.landmarks, self.presence, self.mask = outputs[(195,)], outputs[(1,)], outputs[(SIZE, SIZE, 1)]

    def run(self, x: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """``(landmarks, presence, mask)`` for a ``SIZE`` input: 39 x (x, y, z, visibility, presence)
        in input pixels, the person presence (0-1) and the person probability map."""
        self.it.set_tensor(self.inp, x[None])
        self.it.invoke()
        landmarks = self.it.get_tensor(self.landmarks).reshape(39, 5)
        presence = float(self.it.get_tensor(self.presence).ravel()[0])
        logits = self.it.get_tensor(self.mask)[0, :, :, 0]
        return landmarks, presence, sigmoid(logits)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Person probability (SIZE x SIZE) of one pass on a prepared input."""
        return self.run(x)[2]

    def aligned_pass(self, crop: np.ndarray, x: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """``(probability, seen)``: the person probability (SIZE x SIZE, on the grid of ``crop``)
        from the aligned second pass, and the body landmarks that pass sees (visibility >=
        ``MIN_VISIBILITY``), as (x, y) on the same grid; ``seen`` is None when there was no
        aligned pass or it found no person (presence < ``ALIGN_MIN_PRESENCE``).

        ``x``: ``crop`` already prepared (:meth:`TFLiteSegmenter.prepare`), if at hand.
        """
        x = TFLiteSegmenter.prepare(crop, SIZE) if x is None else x
        landmarks, presence, mask = self.run(x)
        k = crop.shape[0] / SIZE  # crop pixels per input pixel
        centre, scale_point = landmarks[HIP_CENTRE, :2] * k, landmarks[SCALE_POINT, :2] * k
        if presence < ALIGN_MIN_PRESENCE or not np.isfinite([*centre, *scale_point]).all() \
                or np.hypot(*(scale_point - centre)) < 4:
            return mask, None
        to_roi, side = roi_affine(centre, scale_point)
        src, warp = crop, to_roi
        shrink = 2 * SIZE / side  # shrink a big region first so that the warp does not alias
        if shrink < 1:
            src = cv2.resize(crop, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
            warp = np.hstack([to_roi[:, :2] / shrink, to_roi[:, 2:]])
        roi = cv2.warpAffine(src, warp, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        roi_landmarks, roi_presence, roi_mask = self.run(roi.astype(np.float32) / 255.0)
        grid_to_roi = np.hstack([to_roi[:, :2] * k, to_roi[:, 2:]])  # from the crop's SIZE grid
        mask = cv2.warpAffine(roi_mask, grid_to_roi, (SIZE, SIZE), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if roi_presence < ALIGN_MIN_PRESENCE:
            return mask, None
        body = roi_landmarks[:BODY_LANDMARKS]
        visible = sigmoid(body[:, 3]) >= MIN_VISIBILITY
        back = cv2.invertAffineTransform(grid_to_roi)
        return mask, np.hstack([body[visible, :2], np.ones((int(visible.sum()), 1))]) @ back.T


class Outliner:
    """Give body boxes instance masks traced by segmentation; faces and unsure bodies keep boxes."""

    def __init__(self, threshold: float = THRESHOLD):
        self.threshold = threshold
        self.segmenters = [TFLiteSegmenter("selfie_segmentation.tflite"), AlignedPose()]

    def analyse(self, crop: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
        """Each segmenter's person probability (SIZE x SIZE float32) for a square RGB crop
        (BlazePose's from its aligned pass), and the body landmarks that pass sees on the same
        grid (:meth:`AlignedPose.aligned_pass`; None without one)."""
        x = TFLiteSegmenter.prepare(crop, SIZE)
        probs, seen = [], None
        for seg in self.segmenters:
            if hasattr(seg, "aligned_pass"):
                prob, seen = seg.aligned_pass(crop, x)
            else:
                prob = seg(x)
            probs.append(prob)
        return probs, seen

    @staticmethod
    def covers(person: np.ndarray, seen: np.ndarray | None) -> bool:
        """Does the SIZE x SIZE ``person`` mask reach every landmark in ``seen`` that lies in the crop
        (within ``LANDMARK_SLACK`` box sides), with at least ``MIN_LANDMARKS`` of them?

        >>> person = np.zeros((SIZE, SIZE), bool); person[50:200, 100:150] = True
        >>> body = np.array([[120.0, 60.0 + 20 * i] for i in range(7)])
        >>> Outliner.covers(person, body), Outliner.covers(person, np.vstack([body, [[30.0, 100.0]]]))
        (True, False)
        """
        if seen is None:
            return False
        seen = seen[(seen >= 0).all(axis=1) & (seen < SIZE).all(axis=1)].astype(int)
        if len(seen) < MIN_LANDMARKS:
            return False
        near = cv2.dilate(person.astype(np.uint8), disk(LANDMARK_SLACK * SIZE / CROP)) > 0
        return bool(near[seen[:, 1], seen[:, 0]].all())

    def gated(self, selfie: np.ndarray, others: np.ndarray, bottom: int | None = None) -> np.ndarray:
        """The selfie probability, capped just under the threshold (so it marks nothing by itself)
        farther than ``GATE`` times the box's longer side from where ``others`` (BlazePose) is at
        least ``GATE_THRESHOLD``, except below such pixels (:func:`spread_down` by ``GATE_SLOPE``)
        down to row ``bottom`` (the body box's bottom edge: its feet), where it must be at least
        ``CONE_THRESHOLD``. SIZE x SIZE maps of the square crop, whose side is ``CROP`` box sides.

        >>> o = Outliner.__new__(Outliner); o.threshold = 0.3
        >>> selfie, pose = np.ones((SIZE, SIZE), np.float32), np.zeros((SIZE, SIZE), np.float32)
        >>> pose[100:110, 100:110] = 1
        >>> selfie[190, 106] = 0.4   # unsure, down in the cone
        >>> g = o.gated(selfie, pose, bottom=200)
        >>> bool(g[105, 105] == 1), bool(g[190, 105] == 1), bool(g[190, 106] < 0.3), bool(g[210, 105] < 0.3)
        (True, True, True, True)
        >>> bool(g[105, 200] < 0.3)  # beside, beyond the gate
        True
        """
        seed = cv2.dilate((others >= GATE_THRESHOLD).astype(np.uint8), disk(GATE * SIZE / CROP)) > 0
        near = spread_down(seed, GATE_SLOPE)  # and below it: the body goes on down, shoulders and arms outwards
        if bottom is not None:
            near[bottom:] = seed[bottom:]  # ... to its box's bottom edge, not onto the floor or a seat
        near &= seed | (selfie >= CONE_THRESHOLD)  # ... where the selfie model is sure
        return np.where(near, selfie, np.minimum(selfie, self.threshold * 0.999))

    def without_held(self, selfie: np.ndarray, pose: np.ndarray, held: np.ndarray | None, x0: int, y0: int,
                     side: int) -> np.ndarray:
        """The (gated) selfie probability, capped just under the threshold inside the boxes of things
        people hold (``held``, ``N x 4`` in picture pixels) wherever BlazePose (``pose``) is under
        the threshold: there only BlazePose's mask counts. SIZE x SIZE maps of the square crop at
        ``(x0, y0)``, ``side`` picture pixels a side.

        >>> o = Outliner.__new__(Outliner); o.threshold = 0.3
        >>> selfie, pose = np.ones((SIZE, SIZE), np.float32), np.zeros((SIZE, SIZE), np.float32)
        >>> pose[:, :10] = 1
        >>> capped = o.without_held(selfie, pose, np.array([[0.0, 0.0, 100.0, 512.0]]), 0, 0, 512)
        >>> bool(capped[0, 5] == 1), bool(capped[0, 20] < 0.3), bool(capped[0, 60] == 1)
        (True, True, True)
        """
        if held is None or len(held) == 0:
            return selfie
        inside = np.zeros(selfie.shape, bool)
        for thing in held:
            c1, r1, c2, r2 = on_grid(thing, x0, y0, side)
            inside[r1:r2, c1:c2] = True
        return np.where(inside & (pose < self.threshold), np.minimum(selfie, self.threshold * 0.999), selfie)

    @staticmethod
    def face_of(faces: np.ndarray, held: np.ndarray) -> np.ndarray:
        """Per held box: is it mostly a face (the centre of a face box at least ``HELD_FACE`` of
        its area lies in it)? Then it is a close-up head NanoDet took for a cat or a TV, not a thing.

        >>> Outliner.face_of(np.array([[10, 10, 90, 90], [0, 0, 10, 10]]),
        ...                  np.array([[0, 0, 100, 100], [0, 0, 200, 200], [300, 0, 400, 100]])).tolist()
        [True, False, False]
        """
        if len(faces) == 0 or len(held) == 0:
            return np.zeros(len(held), bool)
        area = lambda b: np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
        big = area(faces)[:, None] >= HELD_FACE * area(held)[None, :]
        return (centres_inside(faces, held) & big).any(axis=0)

    def trace(self, rgb: np.ndarray, box, held: np.ndarray | None = None) -> np.ndarray | None:
        """The person's mask (HxW bool) for one body box, or None to keep the box.

        ``held``: boxes (``N x 4``, picture pixels) of things people hold, where the selfie mask
        does not count (:meth:`without_held`)."""
        h, w = rgb.shape[:2]
        x0, y0, side = square_crop(box)
        ix1, iy1, ix2, iy2 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
        crop = cv2.copyMakeBorder(rgb[iy1:iy2, ix1:ix2], iy1 - y0, y0 + side - iy2, ix1 - x0, x0 + side - ix2,
                                  cv2.BORDER_CONSTANT)
        probs, seen = self.analyse(crop)
        bx1, by1, bx2, by2 = clip_boxes(np.asarray(box, np.float32)[None], (h, w))[0]
        agree = True
        if len(probs) > 1:  # the segmenters must agree inside the box (SIZE x SIZE coordinates)
            sx1, sy1, sx2, sy2 = on_grid((bx1, by1, bx2, by2), x0, y0, side)
            each = [p[sy1:sy2, sx1:sx2] >= self.threshold for p in probs]
            agree = np.logical_and.reduce(each).sum() >= AGREEMENT * max(np.logical_or.reduce(each).sum(), 1)
            pose = np.maximum.reduce(probs[1:])
            probs = [self.without_held(self.gated(probs[0], pose, sy2), pose, held, x0, y0, side), *probs[1:]]
        combined = np.maximum.reduce(probs)  # a pixel is the person's where either segmenter says so
        if not agree:  # they disagree: keep the box, unless the trace reaches every landmark seen
            person = combined >= self.threshold  # (and paints less than the box would)
            if not self.covers(person, seen) or person.sum() > (min(sx2, SIZE) - sx1) * (min(sy2, SIZE) - sy1):
                return None
        prob = cv2.resize(combined, (side, side), interpolation=cv2.INTER_LINEAR)
        prob = prob[iy1 - y0 : iy2 - y0, ix1 - x0 : ix2 - x0]
        person = prob >= self.threshold
        inside = person[by1 - iy1 : by2 - iy1, bx1 - ix1 : bx2 - ix1]
        if inside.size == 0 or inside.mean() < MIN_FILL or prob[person].mean() < MIN_CONFIDENCE:
            return None
        mask = np.zeros((h, w), bool)
        mask[iy1:iy2, ix1:ix2] = person
        return mask

    def __call__(self, rgb: np.ndarray, people: People, held: np.ndarray | None = None) -> People:
        """``people`` with instance masks: outlines for large bodies, boxes elsewhere.

        ``held``: boxes (``N x 4``, pixels) of things people hold (NanoDet's, see :meth:`without_held`)."""
        people = people.with_masks(rgb.shape[:2])
        if len(people) == 0:
            return people
        masks = people.masks.copy()
        if held is not None and len(held):
            held = held[~self.face_of(people.boxes[people.kinds == FACE], held)]
        for i in np.flatnonzero(people.kinds == BODY):
            x1, y1, x2, y2 = people.boxes[i]
            if y2 - y1 < MIN_HEIGHT:
                continue
            traced = self.trace(rgb, people.boxes[i], held)
            if traced is not None:
                masks[i] = traced
        return replace(people, masks=masks)
