"""Shared plumbing for detectors: inference sessions, NMS, resizing."""

from __future__ import annotations

import contextlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # LiteRT: no INFO lines on stderr

import cv2
import numpy as np

from .. import models


def threads() -> int:
    """Threads per inference session: FUZZYPEOPLE_THREADS, else all cores."""
    return int(os.environ.get("FUZZYPEOPLE_THREADS", 0)) or (os.cpu_count() or 1)


def onnx_session(name: str):
    """An onnxruntime CPU session for a shipped model file."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads()
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(models.path(name)), opts, providers=["CPUExecutionProvider"])


def tflite_interpreter(name: str):
    """A LiteRT interpreter (no TensorFlow) for a shipped .tflite file."""
    from ai_edge_litert.interpreter import Interpreter

    with _quiet_stderr():  # LiteRT prints an INFO line from C++ on creation
        it = Interpreter(model_path=str(models.path(name)), num_threads=threads())
        it.allocate_tensors()
    return it


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
