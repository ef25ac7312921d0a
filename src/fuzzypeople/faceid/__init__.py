"""Face identity models for the cloak: alignment and embedders that run (and differentiate) in onnxruntime.

* :func:`align_matrix` / :func:`align`: the ArcFace 5-point similarity
  alignment to a 112 x 112 crop (landmarks from CenterFace,
  :meth:`fuzzypeople.detect.centerface.CenterFace.with_landmarks`).
* :class:`Embedder`: a shipped ONNX face embedder (MobileFaceNet) with its
  gradient graph (:mod:`fuzzypeople.faceid.backward`): ``embed`` gives
  unit-length embeddings, ``grad`` the gradient of ``sum(embedding . target)``
  with respect to the crop's pixels.

dlib's ResNet (:mod:`fuzzypeople.audit.faces`) is deliberately *not* here:
it is the audit's independent judge and nothing is ever optimised against it.

>>> import numpy as np
>>> M = align_matrix(ARCFACE_112 * 2 + 10)      # landmarks at twice the size, shifted
>>> np.allclose(M, [[0.5, 0, -5], [0, 0.5, -5]], atol=1e-6)
True
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

SIZE = 112
# Where the five landmarks (eye, eye, nose tip, mouth corner, mouth corner; image-left first) go in a 112 crop.
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]], np.float64)


def align_matrix(points: np.ndarray, template: np.ndarray = ARCFACE_112) -> np.ndarray:
    """The 2x3 similarity transform (rotation, uniform scale, shift) taking ``points`` (5, 2)
    onto ``template`` in the least-squares sense (Umeyama, no reflection)."""
    src = np.asarray(points, np.float64).reshape(-1, 2)
    dst = np.asarray(template, np.float64).reshape(-1, 2)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    e = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        e[1] = -1
    r = u @ np.diag(e) @ vt
    scale = (sig * e).sum() / s.var(0).sum()
    t = md - scale * r @ ms
    return np.hstack([scale * r, t[:, None]])


def align(rgb: np.ndarray, points: np.ndarray, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``(crop, M)``: the aligned ``size`` x ``size`` RGB face crop and the 2x3 matrix image -> crop."""
    M = align_matrix(points, ARCFACE_112 * (size / SIZE))
    crop = cv2.warpAffine(rgb, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, M


def to_input(crops: np.ndarray) -> np.ndarray:
    """Float crops ``(N, 112, 112, 3)`` in 0-255 as the network's NCHW input, ``(x - 127.5) / 128``."""
    return ((np.asarray(crops, np.float32) - 127.5) / 128.0).transpose(0, 3, 1, 2).copy()


class Embedder:
    """A shipped ONNX face embedder, forward and backward, in onnxruntime.

    ``name`` is the model file; the input is ``(N, 3, 112, 112)`` float32
    (:func:`to_input`), the output ``(N, D)`` raw embeddings.
    """

    def __init__(self, name: str = "mobilefacenet.onnx"):
        self.name = name
        self._forward = None
        self._backward = None

    @property
    def forward_session(self):
        if self._forward is None:
            from ..detect._runtime import onnx_session  # noqa: PLC0415  (lazy: onnxruntime on first use)

            self._forward = onnx_session(self.name)
        return self._forward

    @property
    def backward_session(self):
        if self._backward is None:
            self._backward = _backward_session(self.name)
        return self._backward

    def raw(self, crops: np.ndarray) -> np.ndarray:
        """Raw embeddings ``(N, D)`` of float or uint8 crops ``(N, 112, 112, 3)``, 0-255 RGB."""
        s = self.forward_session
        return s.run(None, {s.get_inputs()[0].name: to_input(crops)})[0]

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """Unit-length embeddings ``(N, D)``."""
        e = self.raw(crops).astype(np.float64)
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)

    def cosine_and_grad(self, crops: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(cos (N,), grad (N, 112, 112, 3))``: the cosine similarity of each crop's
        embedding with its unit ``targets`` row, and its gradient with respect to
        the crop's 0-255 pixels (chain rule through the normalisation and :func:`to_input`).

        One run of the VJP graph, which computes the cosine and its
        cotangent itself (:func:`fuzzypeople.faceid.backward.vjp_model` with
        ``cosine=True``).
        """
        cos, g_x = self.backward_session.run(None, {"x": to_input(crops), "target": np.asarray(targets, np.float32)})
        return cos.astype(np.float64), g_x.transpose(0, 2, 3, 1) / 128.0


@lru_cache(maxsize=None)
def _backward_session(name: str):
    """An onnxruntime session computing the vector-Jacobian product of the model file ``name``."""
    import onnx
    import onnxruntime as ort

    from .. import models
    from ..detect._runtime import threads
    from .backward import vjp_model

    model = vjp_model(onnx.load(str(models.path(name))), cosine=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads()
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
