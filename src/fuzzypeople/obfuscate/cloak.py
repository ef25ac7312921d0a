"""``cloak``: leave faces visible but change them slightly so face recognition fails to match them (Fawkes-style).

Not a way to hide anyone from people: the face stays recognisable to the
eye. Each face in the mask is found again with its landmarks (CenterFace),
aligned, and given a small optimised perturbation (see
:mod:`fuzzypeople.faceid.cloak`); bodies and everything outside the faces
are left as they are (the pipeline hides faces only with this method, and
:func:`fuzzypeople.obfuscate.obfuscate` copies only masked pixels).
``--cloak low|mid|high`` picks the budget. The protection is measured, and
its limits stated, by ``benchmarks/cloak.py`` and the README's Cloak
section: it is weaker against models it was not optimised with.

8-bit RGB pictures only (a 16-bit, grey or RGBA picture is refused, not
passed through unchanged).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

NAME = "cloak"
HIDES = False  # faces stay visible: not a way to hide anyone from people
HELP = "leave faces visible, perturbed against face recognition (Fawkes-style), --cloak low|mid|high"


@lru_cache(maxsize=1)
def _models():
    from ..detect.centerface import CenterFace
    from ..faceid import Embedder

    return CenterFace(), [Embedder("mobilefacenet.onnx")]


def faces_in(image: np.ndarray, mask: np.ndarray, detector) -> np.ndarray:
    """Landmarks ``(N, 5, 2)`` of the faces found in ``image`` whose box centre lies in ``mask``."""
    boxes, _, points = detector.with_landmarks(image)
    if not len(boxes):
        return points
    cx = np.clip(((boxes[:, 0] + boxes[:, 2]) / 2).astype(int), 0, mask.shape[1] - 1)
    cy = np.clip(((boxes[:, 1] + boxes[:, 3]) / 2).astype(int), 0, mask.shape[0] - 1)
    return points[mask[cy, cx]]


def apply(image: np.ndarray, mask: np.ndarray, params) -> np.ndarray:
    from ..faceid.cloak import MODES, cloak_faces

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"cloak works on 8-bit RGB pictures; this one is {image.dtype} with shape {image.shape}")
    mode = getattr(params, "cloak", None) or "mid"
    detector, embedders = _models()
    points = faces_in(image, mask, detector)
    if not len(points):
        return image
    seed = 0 if params.seed is None else params.seed
    out, _ = cloak_faces(image, points, embedders, MODES[mode], seed=seed, allowed=mask)
    return out
