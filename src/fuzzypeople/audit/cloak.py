"""The cloak's stress test: does a cloaked photo still match the person's other, clean photos?

Fawkes' measure (Shan et al., 2020), per face-recognition model ("judge"):
the cloaked photo stands for what a tracker collected of the person; each
of the person's *other*, clean photos is compared with it, and the share
still matched (same person by the model's own threshold) is reported. Lower
is better protection. Each comparison is made three ways, as a posted photo
would be seen: the cloaked photo re-read and its face re-detected, after a
JPEG round trip at quality 85, and after a 0.5x resize.

Judges (:func:`judges`):

* ``mobilefacenet`` -- the model the cloak is optimised against (cosine >=
  :data:`MFN_MATCH`);
* ``dlib`` -- dlib's ResNet (the audit's face recogniser), **never**
  optimised against: the independent test (distance < 0.6, dlib's own
  calibration);
* ``faceres`` -- HSE faceres (a MobileNet, 1024-d descriptor), also never
  optimised against, when built (``python tools/vendor_models.py --user
  faceres.onnx``: its weights carry no licence, so it is not shipped).
  Input: the CenterFace box grown 1.2x, squared, 224 px, 0-255 RGB; same
  person at cosine >= :data:`FACERES_MATCH`.

Every judge finds the face itself (CenterFace box; dlib then places its own
five landmarks), so nothing is carried over from the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

FACERES_MATCH = 0.56  # faceres cosine at 1% of different-person pairs matched on faces/ (AUC 0.998)
MFN_MATCH = 0.45  # MobileFaceNet cosine: same person at or above (0.96 of same-person pairs, 0.4% of others, faces/)
VARIANTS = ("re-detected", "jpeg85", "half")


def variant(rgb: np.ndarray, name: str) -> np.ndarray:
    """``rgb`` as a posted photo might come back: unchanged, JPEG 85, or half size.

    >>> img = np.zeros((20, 30, 3), np.uint8)
    >>> [variant(img, v).shape for v in VARIANTS]
    [(20, 30, 3), (20, 30, 3), (10, 15, 3)]
    """
    if name == "re-detected":
        return rgb
    if name == "jpeg85":
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 85])
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    if name == "half":
        h, w = rgb.shape[:2]
        return cv2.resize(rgb, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    raise ValueError(f"unknown variant {name!r}")


@dataclass
class Judge:
    """A face recogniser for the stress test."""

    name: str
    optimised: bool  # did the cloak optimise against it?
    embed: Callable[[np.ndarray], np.ndarray | None]  # rgb -> embedding of the largest face, or None
    same: Callable[[np.ndarray, np.ndarray], bool]  # two embeddings: same person?


def _largest(boxes: np.ndarray) -> int:
    return int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))


def available() -> tuple[str, ...]:
    """The judges this machine can run: faceres only when the user built it."""
    from .. import models

    extra = ("faceres",) if (models.user_dir() / "faceres.onnx").is_file() else ()
    return ("mobilefacenet", "dlib") + extra


def box_crop(rgb: np.ndarray, box: np.ndarray, size: int = 224, grow: float = 1.2) -> np.ndarray:
    """The square crop around a face box (side ``grow`` x its longer side), ``size`` px."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    r = max(x2 - x1, y2 - y1) / 2 * grow
    s = size / (2 * r)
    M = np.array([[s, 0, size / 2 - cx * s], [0, s, size / 2 - cy * s]])
    return cv2.warpAffine(rgb, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def judges(names: tuple[str, ...] | None = None) -> list[Judge]:
    """The judges named (default: :func:`available`), ready to use (dlib needs the ``audit`` extra)."""
    names = available() if names is None else names
    from ..detect.centerface import CenterFace
    from ..faceid import Embedder, align

    det = CenterFace()

    def face(rgb):
        """The largest face's box and five landmarks, or None."""
        boxes, _, points = det.with_landmarks(rgb)
        if not len(boxes):
            return None
        k = _largest(boxes)
        return boxes[k], points[k]

    out = []
    for name in names:
        if name == "mobilefacenet":
            emb = Embedder("mobilefacenet.onnx")

            def mfn(rgb, emb=emb):
                found = face(rgb)
                return None if found is None else emb.embed(align(rgb, found[1])[0][None])[0]

            out.append(Judge(name, True, mfn, lambda a, b: float(a @ b) >= MFN_MATCH))
        elif name == "dlib":
            from .faces import MATCH_DISTANCE, FaceRecognizer

            rec = FaceRecognizer()

            def dl(rgb, rec=rec):
                found = face(rgb)
                return None if found is None else rec.embed([rgb], rec.landmarks(rgb, found[0][None]))[0][0]

            out.append(Judge(name, False, dl, lambda a, b: float(np.linalg.norm(a - b)) < MATCH_DISTANCE))
        elif name == "faceres":
            from ..detect._runtime import onnx_session

            sess = onnx_session("faceres.onnx")

            def fr(rgb, sess=sess):
                found = face(rgb)
                if found is None:
                    return None
                x = box_crop(rgb, found[0]).astype(np.float32)[None]
                e = sess.run(None, {sess.get_inputs()[0].name: x})[0][0].astype(np.float64)
                return e / max(np.linalg.norm(e), 1e-12)

            out.append(Judge(name, False, fr, lambda a, b: float(a @ b) >= FACERES_MATCH))
        else:
            raise ValueError(f"unknown judge {name!r}")
    return out


def face_quality(original: np.ndarray, cloaked: np.ndarray) -> dict:
    """DSSIM on the face box (largest CenterFace face of the original) and PSNR over the whole image."""
    from ..detect.centerface import CenterFace
    from ..faceid.cloak import dssim, psnr

    boxes, _, _ = CenterFace().with_landmarks(original)
    out = {"psnr": psnr(original, cloaked), "dssim_face": None}
    if len(boxes):
        x1, y1, x2, y2 = np.round(boxes[_largest(boxes)]).astype(int)
        out["dssim_face"] = dssim(original[y1:y2, x1:x2], cloaked[y1:y2, x1:x2])
    return out


def still_matched(cloaked: np.ndarray, clean: list[np.ndarray], judge: Judge, clean_embeddings=None) -> dict:
    """Per variant: the share of ``clean`` photos the judge matches with the cloaked photo.

    A clean photo with no face found is left out; a cloaked photo whose face
    is no longer found matches nothing (share 0.0, ``found`` False) -- that is
    what the tracker would see too. ``clean_embeddings`` saves recomputing.
    """
    refs = clean_embeddings if clean_embeddings is not None else [judge.embed(c) for c in clean]
    refs = [r for r in refs if r is not None]
    out = {}
    for v in VARIANTS:
        e = judge.embed(variant(cloaked, v))
        if e is None or not refs:
            out[v] = {"share": 0.0 if refs else None, "found": e is not None, "n": len(refs)}
        else:
            out[v] = {"share": float(np.mean([judge.same(e, r) for r in refs])), "found": True, "n": len(refs)}
    return out
