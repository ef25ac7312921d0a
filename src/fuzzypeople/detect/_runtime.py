"""Shared plumbing for detectors: inference sessions, NMS, resizing."""

from __future__ import annotations

import contextlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # LiteRT: no INFO lines on stderr

import cv2
import numpy as np

from .. import models
from ..people import box_iou


_THREADS: list[int] = []  # set by session_threads() while a detector stack loads
_ARENA: list[bool] = []  # set by session_arena() while a detector stack loads
_SHARED_ARENA: list[bool] = []  # the process-wide onnxruntime arena, once registered


def cores() -> int:
    """CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads() -> int:
    """Threads per inference session: the :func:`session_threads` in force, else
    FUZZYPEOPLE_THREADS, else all cores."""
    if _THREADS:
        return _THREADS[-1]
    return int(os.environ.get("FUZZYPEOPLE_THREADS", 0)) or cores()


@contextlib.contextmanager
def session_threads(n: int | None):
    """Sessions and interpreters created inside get ``n`` threads each (None: :func:`threads`' default).

    Parallel workers split the cores between them this way
    (:mod:`fuzzypeople.batch`: workers x threads = cores).

    >>> with session_threads(1):
    ...     threads()
    1
    """
    if n is None:
        yield
        return
    if int(n) < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    _THREADS.append(int(n))
    try:
        yield
    finally:
        _THREADS.pop()


@contextlib.contextmanager
def session_arena(shared: bool):
    """onnxruntime sessions created inside (with ``shared``) draw their activations from one
    memory arena for the whole process, kept between runs.

    Without it (photos) each run's activations are allocated and returned to the
    system afterwards: one CenterFace pass over a 4096 px photo would otherwise
    keep hundreds of MiB for the life of the process (benchmarks/big_photo.py).
    But fresh memory is paid in page faults on every run: on video, where the
    detectors run on frames of one size thousands of times, the shared arena
    took about a third less CPU time per 100 vtest frames (13.0 -> 8.5 s, a
    run on a loaded machine) for some 30 MiB more peak memory. One arena for
    all the models, since they run one after the other, not one each.

    >>> with session_arena(True):
    ...     arena_shared()
    True
    >>> arena_shared()
    False
    """
    _ARENA.append(bool(shared))
    try:
        yield
    finally:
        _ARENA.pop()


def arena_shared() -> bool:
    """Do sessions created now share the process's arena (:func:`session_arena`)?"""
    return bool(_ARENA and _ARENA[-1])


def _register_shared_arena(ort) -> None:
    """Register the process-wide CPU arena with onnxruntime, once."""
    if not _SHARED_ARENA:
        info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        ort.create_and_register_allocator(info, ort.OrtArenaCfg({}))
        _SHARED_ARENA.append(True)


def onnx_session(name: str):
    """An onnxruntime CPU session for a shipped model file."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads()
    opts.inter_op_num_threads = 1
    # A session's own arena would keep its largest run's activations for the life of the
    # process, and grow with every new input shape: off. Video sessions share one arena
    # instead (session_arena). FUZZYPEOPLE_ORT_ARENA=1 gives every session its own again.
    opts.enable_cpu_mem_arena = os.environ.get("FUZZYPEOPLE_ORT_ARENA", "0") == "1"
    if arena_shared():
        _register_shared_arena(ort)
        opts.enable_cpu_mem_arena = True  # the arena the session would create is replaced by the shared one
        opts.add_session_config_entry("session.use_env_allocators", "1")
        # No memory pattern (one block planned per input shape, and motion-cropped windows
        # come in many shapes): tensors come from the arena as they live and die. Peak RSS of the
        # vtest command 427 -> 360 MiB (/usr/bin/time), 1.04x the wall time.
        opts.enable_mem_pattern = False
    opts.log_severity_level = 3
    # Do not spin-wait between ops: on 2 cores it steals time from the video
    # decode/encode threads that run beside inference.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(models.path(name)), opts, providers=["CPUExecutionProvider"])


def tflite_interpreter(name: str):
    """A LiteRT interpreter (no TensorFlow) for a shipped .tflite file."""
    from ai_edge_litert.interpreter import Interpreter

    with _quiet_stderr():  # LiteRT prints an INFO line from C++ on creation
        it = Interpreter(model_path=str(models.path(name)), num_threads=threads())
        it.allocate_tensors()
    return it


class TFLiteSegmenter:
    """A shipped LiteRT segmenter: square RGB in [0, 1] in, a person probability map out.

    ``output`` picks the model output holding the mask; ``logits`` says it
    needs a sigmoid (BlazePose's mask does, selfie segmentation's does not).
    """

    def __init__(self, name: str, output: int = 0, logits: bool = False):
        self.it = tflite_interpreter(name)
        self.inp = self.it.get_input_details()[0]["index"]
        self.out = self.it.get_output_details()[output]["index"]
        self.logits = logits

    @staticmethod
    def prepare(rgb: np.ndarray, size: int) -> np.ndarray:
        """``rgb`` (any size) as the ``size`` x ``size`` float32 [0, 1] input the segmenters take."""
        return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Probability map (size x size float32) for an input made by :meth:`prepare`."""
        self.it.set_tensor(self.inp, x[None])
        self.it.invoke()
        y = self.it.get_tensor(self.out)[0, :, :, 0]
        return sigmoid(y) if self.logits else y


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """The logistic function, clipped so that large logits (BlazePose's reach 1650) do not overflow.

    >>> sigmoid(np.array([-2000.0, 0.0, 2000.0])).round(6).tolist()
    [0.0, 0.5, 1.0]
    """
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))


@contextlib.contextmanager
def _quiet_stderr():
    """Silence native code writing to file descriptor 2 (Python's own stderr too)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.5) -> np.ndarray:
    """Indices kept by non-maximum suppression (OpenCV's, vectorised)."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]).astype(np.float32)
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.astype(np.float32).tolist(), 0.0, iou)
    return np.asarray(keep, np.int64).reshape(-1)


def fit_size(w: int, h: int, max_side: int, multiple: int = 1) -> tuple[int, int]:
    """Size that fits ``max_side`` (never upscaling), rounded up to ``multiple``."""
    s = min(1.0, max_side / max(w, h)) if max_side else 1.0
    nw = max(multiple, int(np.ceil(w * s / multiple) * multiple))
    nh = max(multiple, int(np.ceil(h * s / multiple) * multiple))
    return nw, nh


def tile_starts(length: int, tile: int, overlap: float) -> list[int]:
    """Start offsets of tiles covering ``[0, length)`` overlapping by at least ``overlap``.

    >>> tile_starts(1000, 416, 0.25)
    [0, 292, 584]
    """
    if length <= tile:
        return [0]
    n = int(np.ceil((length - tile) / (tile * (1 - overlap)))) + 1
    return np.linspace(0, length - tile, n).round().astype(int).tolist()


def windows(length: int, most: int, overlap: int, multiple: int = 1) -> tuple[int, list[int]]:
    """``(size, starts)``: the fewest windows of at most ``most`` px covering ``[0, length)``.

    Neighbours overlap by at least ``overlap`` px, the windows are as small as
    that allows (the same size each, a multiple of ``multiple`` where the
    length allows), so no pixel is seen more often than needed.

    >>> windows(768, 1280, 208, 32)
    (768, [0])
    >>> windows(1920, 1280, 208, 32)
    (1088, [0, 832])
    """
    if length <= most:
        return length, [0]
    n = int(np.ceil((length - overlap) / (most - overlap)))
    size = min(length, int(np.ceil((length + (n - 1) * overlap) / n / multiple)) * multiple)
    return size, np.linspace(0, length - size, n).round().astype(int).tolist()


def tiled(detect_window, rgb: np.ndarray, tile: int, upscale: float, iou: float = 0.5,
          overlap: float = 0.25, max_tile_box: float = 0.5, detect_tile=None,
          keep_tile=None, window: int | None = None, multiple: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Whole-image detections plus detections in overlapping tiles of the upscaled image.

    ``detect_window(rgb) -> (boxes, scores)`` runs a detector on one window;
    ``detect_tile`` (default: the same) on each tile. Tiles are ``tile``
    squares, or, for a detector that takes any input size, the fewest windows
    of at most ``window`` px a side (sides a multiple of ``multiple``): a
    768x576 video frame is one window instead of six overlapping tiles.
    ``keep_tile(x1, y1, x2, y2)`` (a region in pixels of ``rgb``), when given,
    says which tiles to run: True (all of it), False or None (skip it), or a
    box ``(x1, y1, x2, y2)`` in pixels of ``rgb``: run only that part of it
    (video: only where something moved or someone was found, see
    :class:`fuzzypeople.track.MotionTiles`).
    Small people get ``upscale * max(h, w) / tile`` times more pixels in a tile
    than in the whole-image pass. Two rules keep tiling from adding false
    alarms: tile boxes bigger than ``max_tile_box`` x ``tile`` are dropped
    (close-up texture makes tile-sized ghosts; big people are found whole),
    and a tile box overlapping a whole-image box is dropped (so a person cut
    by a tile edge never replaces their complete box).
    """
    h, w = rgb.shape[:2]
    boxes, scores = detect_window(rgb)
    keep = nms(boxes, scores, iou)
    boxes, scores = boxes[keep], scores[keep]
    sw, sh = round(w * upscale), round(h * upscale)
    if max(sw, sh) <= tile:
        return boxes, scores
    scaled = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_LINEAR) if upscale != 1 else rgb
    to_image = np.array([w / sw, h / sh, w / sw, h / sh], np.float32)
    biggest = max_tile_box * tile
    if window:  # windows overlap by the biggest box a tile may keep: every such person is whole in one
        (tw, xs), (th, ys) = (windows(sw, window, int(biggest), multiple), windows(sh, window, int(biggest), multiple))
    else:
        (tw, xs), (th, ys) = (tile, tile_starts(sw, tile, overlap)), (tile, tile_starts(sh, tile, overlap))
    tb, ts = [boxes[:0]], [scores[:0]]
    detect_tile = detect_tile or detect_window
    for y0 in ys:
        for x0 in xs:
            x1, y1, x2, y2 = x0, y0, x0 + tw, y0 + th
            if keep_tile is not None:
                part = keep_tile(*(np.array([x1, y1, x2, y2]) * to_image))
                if part is None or part is False:
                    continue
                if part is not True:  # run only this part of the tile (pixels of rgb), grown to whole multiples
                    x1, y1, x2, y2 = _crop(part / to_image, (x1, y1, x2, y2), multiple)
            b, s = detect_tile(scaled[y1:y2, x1:x2])
            small = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) <= biggest
            tb.append((b[small] + [x1, y1, x1, y1]) * to_image)
            ts.append(s[small])
    tb, ts = np.concatenate(tb).astype(np.float32), np.concatenate(ts).astype(np.float32)
    keep = nms(tb, ts, iou)
    tb, ts = tb[keep], ts[keep]
    if len(boxes) and len(tb):
        novel = box_iou(tb, boxes).max(axis=1) <= iou
        tb, ts = tb[novel], ts[novel]
    return np.concatenate([boxes, tb]), np.concatenate([scores, ts])


def _crop(part, tile, multiple: int = 1) -> tuple[int, int, int, int]:
    """``part`` (a box) inside ``tile`` (a box), outward to whole pixels and sides that are multiples.

    >>> _crop([10.5, 20, 50, 40], (0, 0, 416, 416), 32)
    (10, 20, 74, 52)
    >>> _crop([400, 400, 416, 416], (0, 0, 416, 416), 32)
    (384, 384, 416, 416)
    """
    tx1, ty1, tx2, ty2 = tile
    x1, y1 = max(tx1, int(np.floor(part[0]))), max(ty1, int(np.floor(part[1])))
    x2, y2 = min(tx2, int(np.ceil(part[2]))), min(ty2, int(np.ceil(part[3])))
    w = min(tx2 - tx1, -(-max(x2 - x1, 1) // multiple) * multiple)
    h = min(ty2 - ty1, -(-max(y2 - y1, 1) // multiple) * multiple)
    x1, y1 = min(x1, tx2 - w), min(y1, ty2 - h)  # grown to the right and down, or back inside the tile
    return x1, y1, x1 + w, y1 + h
