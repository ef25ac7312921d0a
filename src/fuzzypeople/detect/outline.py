"""Trace each person's outline inside their body box, so the scene around them is kept.

A box around a standing person is mostly background; filling it destroys the
street the seed idea wants to keep. For each body box tall enough, an
**undistorted square crop** centred on the box (``CROP`` times its longer
side, zero-padded at the image border) goes through two independent
segmenters, both MediaPipe models run by LiteRT (no TensorFlow):

* the selfie segmenter (a person-vs-background mask for the whole crop), and
* BlazePose's full landmark model, whose third output is a person mask.

A pixel belongs to the person when either says so with probability
``THRESHOLD`` or more (recall first). The mask stays inside the crop.

Fail closed: where the segmenters are unsure, the whole box is kept. That is
when the mask covers less than ``MIN_FILL`` of the box, its pixels' mean
probability is under ``MIN_CONFIDENCE``, or the two segmenters disagree
inside the box (their masks' intersection over union is under ``AGREEMENT``:
one of them has missed a limb, a held child, a person at the edge). Boxes
shorter than ``MIN_HEIGHT`` also stay boxes (segmentation is unreliable
there, and a small box costs little scene). The values were chosen on
coco-people and checked on held-out photos (``benchmarks/detection.py``,
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

from ..people import BODY, People, clip_boxes
from ._runtime import TFLiteSegmenter

MIN_HEIGHT = 48  # px: smaller body boxes stay boxes
CROP = 1.25  # square crop side, as a multiple of the box's longer side
SIZE = 256  # both segmenters take 256x256 RGB in [0, 1]
THRESHOLD = 0.3  # probability counted as person
MIN_FILL = 0.1  # mask covers less of its box than this: distrust it, keep the box
MIN_CONFIDENCE = 0.7  # mean probability over the mask below this: keep the box
AGREEMENT = 0.5  # the two segmenters' masks overlap less than this (IoU) inside the box: keep the box


def square_crop(box, side_scale: float = CROP) -> tuple[int, int, int]:
    """``(x0, y0, side)``: a square centred on ``box``, ``side_scale`` times its longer side.

    >>> square_crop([10, 20, 30, 60])
    (-5, 15, 50)
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(1, int(round(max(x2 - x1, y2 - y1) * side_scale)))
    return int(round((x1 + x2 - side) / 2)), int(round((y1 + y2 - side) / 2)), side


class Outliner:
    """Give body boxes instance masks traced by segmentation; faces and unsure bodies keep boxes."""

    def __init__(self, threshold: float = THRESHOLD):
        self.threshold = threshold
        self.segmenters = [
            TFLiteSegmenter("selfie_segmentation.tflite"),
            TFLiteSegmenter("pose_landmark_full.tflite", output=2, logits=True),
        ]

    def probabilities(self, crop: np.ndarray) -> list[np.ndarray]:
        """Each segmenter's person probability (SIZE x SIZE float32) for a square RGB crop."""
        x = TFLiteSegmenter.prepare(crop, SIZE)
        return [seg(x) for seg in self.segmenters]

    def trace(self, rgb: np.ndarray, box) -> np.ndarray | None:
        """The person's mask (HxW bool) for one body box, or None to keep the box."""
        h, w = rgb.shape[:2]
        x0, y0, side = square_crop(box)
        ix1, iy1, ix2, iy2 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
        crop = cv2.copyMakeBorder(rgb[iy1:iy2, ix1:ix2], iy1 - y0, y0 + side - iy2, ix1 - x0, x0 + side - ix2,
                                  cv2.BORDER_CONSTANT)
        probs = self.probabilities(crop)
        bx1, by1, bx2, by2 = clip_boxes(np.asarray(box, np.float32)[None], (h, w))[0]
        if len(probs) > 1:  # the segmenters must agree inside the box (SIZE x SIZE coordinates)
            s = SIZE / side
            sx1, sy1 = max(int((bx1 - x0) * s), 0), max(int((by1 - y0) * s), 0)
            sx2, sy2 = int(np.ceil((bx2 - x0) * s)), int(np.ceil((by2 - y0) * s))
            each = [p[sy1:sy2, sx1:sx2] >= self.threshold for p in probs]
            both, either = np.logical_and.reduce(each).sum(), np.logical_or.reduce(each).sum()
            if both < AGREEMENT * max(either, 1):
                return None
        prob = cv2.resize(np.maximum.reduce(probs), (side, side), interpolation=cv2.INTER_LINEAR)
        prob = prob[iy1 - y0 : iy2 - y0, ix1 - x0 : ix2 - x0]
        person = prob >= self.threshold
        inside = person[by1 - iy1 : by2 - iy1, bx1 - ix1 : bx2 - ix1]
        if inside.size == 0 or inside.mean() < MIN_FILL or prob[person].mean() < MIN_CONFIDENCE:
            return None
        mask = np.zeros((h, w), bool)
        mask[iy1:iy2, ix1:ix2] = person
        return mask

    def __call__(self, rgb: np.ndarray, people: People) -> People:
        """``people`` with instance masks: outlines for large bodies, boxes elsewhere."""
        people = people.with_masks(rgb.shape[:2])
        if len(people) == 0:
            return people
        masks = people.masks.copy()
        for i in np.flatnonzero(people.kinds == BODY):
            x1, y1, x2, y2 = people.boxes[i]
            if y2 - y1 < MIN_HEIGHT:
                continue
            traced = self.trace(rgb, people.boxes[i])
            if traced is not None:
                masks[i] = traced
        return replace(people, masks=masks)
