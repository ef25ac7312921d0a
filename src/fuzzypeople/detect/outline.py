"""Trace body outlines inside person boxes, so the scene around people is kept.

A box around a standing person is mostly background; filling it destroys the
street the seed idea wants to keep. For each large enough body box, the
MediaPipe selfie segmenter is run on the box crop and the person mask is its
confident pixels, grown by a share of the box height. Recall first: where the
segmenter sees too little of a person in their box, the whole box is kept.
Small people keep their boxes (segmentation is unreliable there and a small
box costs little scene).
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..people import BODY, People, _clip_boxes

MIN_HEIGHT = 64  # px: smaller boxes stay boxes
THRESHOLD = 0.1  # segmenter probability counted as person
GROW = 0.08  # mask grown by this share of the box height
MIN_FILL = 0.2  # below this share of the box, distrust the segmenter: keep the box
MARGIN = 0.1  # crop margin around the box, as a share of its size


class Outliner:
    def __init__(self):
        from .selfie import SelfieSegmenter

        self.seg = SelfieSegmenter()

    def __call__(self, rgb: np.ndarray, people: People) -> People:
        """``people`` with instance masks: outlines for large bodies, boxes elsewhere."""
        shape = rgb.shape[:2]
        people = people.with_masks(shape)
        if len(people) == 0:
            return people
        masks = people.masks.copy()
        h, w = shape
        for i in np.flatnonzero(people.kinds == BODY):
            x1, y1, x2, y2 = people.boxes[i]
            bh, bw = y2 - y1, x2 - x1
            if bh < MIN_HEIGHT:
                continue
            grown = np.array([[x1 - bw * MARGIN, y1 - bh * MARGIN, x2 + bw * MARGIN, y2 + bh * MARGIN]])
            cx1, cy1, cx2, cy2 = _clip_boxes(grown, shape)[0]
            prob = self.seg.probability(rgb[cy1:cy2, cx1:cx2])
            person = prob >= THRESHOLD
            bx1, by1, bx2, by2 = _clip_boxes(people.boxes[i : i + 1], shape)[0]
            inside = person[by1 - cy1 : by2 - cy1, bx1 - cx1 : bx2 - cx1]
            if inside.size == 0 or inside.mean() < MIN_FILL:
                continue  # the segmenter does not see this person: keep the box
            r = max(1, int(round(bh * GROW)))
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
            person = cv2.dilate(person.view(np.uint8), kernel).astype(bool)
            m = np.zeros((h, w), bool)
            m[cy1:cy2, cx1:cx2] = person
            masks[i] = m
        return replace(people, masks=masks)
