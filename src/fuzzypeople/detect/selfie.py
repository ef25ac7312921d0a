"""MediaPipe selfie segmentation (LiteRT, no TensorFlow): who-is-a-person per pixel.

Used inside person boxes to trace the body outline (``person_probability``)
and, as a stand-alone body detector, tiled over the whole image. It has no
notion of instances and hallucinates on empty scenes, so on its own it is a
weak default; see ``benchmarks/detection.py``.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..people import BODY, People
from ._runtime import TFLiteSegmenter

NAME = "selfie"
KIND = BODY
HELP = "MediaPipe selfie segmentation tiled over the image (Apache-2.0)"
THRESHOLD = 0.5
SIZE = 256


class SelfieSegmenter:
    def __init__(self):
        self.seg = TFLiteSegmenter("selfie_segmentation.tflite")

    def probability(self, rgb: np.ndarray) -> np.ndarray:
        """Person probability ``(H, W)`` float32 for an RGB crop of any size."""
        h, w = rgb.shape[:2]
        prob = self.seg(TFLiteSegmenter.prepare(rgb, SIZE))
        return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)


class TiledSelfie:
    """Whole-image pass plus 50%-overlapping square tiles, max-combined."""

    def __init__(self, threshold: float | None = None, tile: int = 256):
        self.threshold = THRESHOLD if threshold is None else threshold
        self.tile = tile
        self.seg = SelfieSegmenter()

    def __call__(self, rgb: np.ndarray) -> People:
        h, w = rgb.shape[:2]
        prob = self.seg.probability(rgb)
        t, step = self.tile, self.tile // 2
        for y in range(0, max(h - step, 1), step):
            for x in range(0, max(w - step, 1), step):
                y1, x1 = min(y + t, h), min(x + t, w)
                np.maximum(prob[y:y1, x:x1], self.seg.probability(rgb[y:y1, x:x1]), out=prob[y:y1, x:x1])
        return components(prob >= self.threshold, prob, NAME)


def components(mask: np.ndarray, prob: np.ndarray, source: str, min_area: int = 16) -> People:
    """Split a semantic person mask into one instance per connected blob."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    ids = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_area]
    if not ids:
        return People.empty()
    ids = np.asarray(ids)
    x, y, bw, bh = (stats[ids, k] for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
    boxes = np.column_stack([x, y, x + bw, y + bh]).astype(np.float32)
    masks = labels[None] == ids[:, None, None]
    scores = np.array([prob[m].mean() for m in masks], np.float32)
    return People(boxes, scores, np.full(len(ids), BODY), masks=masks, source=np.full(len(ids), source))


def load(threshold: float | None = None, **options) -> TiledSelfie:
    return TiledSelfie(threshold, **options)
