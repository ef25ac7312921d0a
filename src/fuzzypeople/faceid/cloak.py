"""The cloak: a small change to a face that moves its embedding away from the person's (Fawkes-style).

For each face (CenterFace box and five landmarks):

1. align it to the 112 x 112 ArcFace crop (:func:`fuzzypeople.faceid.align`);
2. optimise a perturbation ``delta`` of the crop by projected gradient
   descent on the cosine similarity between the embedding of the changed
   crop and the original's, under each optimised model
   (:class:`fuzzypeople.faceid.Embedder`, gradients from the ONNX VJP graph),
   averaged over random transformations of the crop at every step
   (expectation over transformations: re-alignment jitter as a small
   rotation/scale/shift, a down-and-up resize, a JPEG round trip; in the
   backward pass the warp is inverted, the resize (a low-pass, nearly
   self-adjoint) applied again, and the JPEG passed straight through, BPDA);
3. each step moves along the (summed, per-model normalised) gradient,
   scaled so that no pixel moves more than ``lr`` levels (not a sign step:
   measured far better under a DSSIM budget), capped in L-infinity, and is
   shortened (bisection) until the face's DSSIM (``(1 - SSIM) / 2``) --
   judged on the aligned face at its size in the photo, up to
   :data:`NATIVE_MAX` px -- is within the mode's budget;
4. ``delta`` times a feathered window (1 on the face, easing to 0 at the
   crop's edge) is warped back onto the image with the inverse alignment
   and added; nothing outside that window changes.

Modes (:data:`MODES`) trade visibility for protection; see the README's
Cloak section for what each achieves against models it was and was not
optimised with. dlib's ResNet is never used here: it is the audit's judge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import SIZE, Embedder, align


@dataclass(frozen=True)
class Mode:
    """One cloak strength: the budget and the optimisation's effort."""

    dssim: float  # largest DSSIM allowed on the aligned face crop
    linf: float  # largest change of any pixel, 0-255 units
    steps: int  # gradient steps
    eot: int = 4  # transformed copies per step
    smooth: float = 0.0  # Gaussian sigma (crop pixels) applied to the gradient; 0 = none
    targeted: int = 0  # 1: also pull towards the anchor face farthest from this one (anchor_embeddings)
    lr: float = 8.0  # largest pixel change of one step (0-255 units), decayed over the steps


# Chosen with benchmarks/cloak.py (README, Cloak): more steps than 40-60 changed nothing measurable; the
# DSSIM budget is what buys protection. The crop's DSSIM budget reads about 1.25x higher on the face box.
MODES: dict[str, Mode] = {
    "low": Mode(dssim=0.004, linf=12, steps=40),
    "mid": Mode(dssim=0.008, linf=16, steps=60),
    "high": Mode(dssim=0.012, linf=20, steps=80),
}
DEFAULT_MODE = "mid"


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (Gaussian window, sigma 1.5, 0-255 data) of two HxWx3 float images, per channel.

    >>> x = np.random.default_rng(0).uniform(0, 255, (16, 16, 3))
    >>> float(ssim_map(x, x).mean())
    1.0
    """
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda z: cv2.GaussianBlur(z, (0, 0), 1.5, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma * ma, blur(b * b) - mb * mb, blur(a * b) - ma * mb
    return ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))


def dssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural dissimilarity ``(1 - mean SSIM) / 2``: 0 for identical images."""
    return float((1.0 - ssim_map(a, b).mean()) / 2.0)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical images)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def window(size: int = SIZE, edge: float = 0.12) -> np.ndarray:
    """The feathered weight of the perturbation over the crop: 1 in the middle,
    a cosine ramp to 0 over the outer ``edge`` share of each side.

    >>> w = window(112); float(w[56, 56]), float(w[0, 56]), w.shape
    (1.0, 0.0, (112, 112))
    """
    r = np.linspace(0, 1, size)
    d = np.minimum(r, 1 - r) / edge
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.clip(d, 0, 1))
    return np.outer(ramp, ramp).astype(np.float32)


class _Transform:
    """One random transformation of a crop with its approximate backward pass."""

    def __init__(self, rng: np.random.Generator, size: int = SIZE, strength: float = 1.0):
        self.size = size
        angle = rng.uniform(-4, 4) * strength
        scale = 1 + rng.uniform(-0.05, 0.05) * strength
        shift = rng.uniform(-3, 3, 2) * strength
        c = (size / 2, size / 2)
        self.A = cv2.getRotationMatrix2D(c, angle, scale)
        self.A[:, 2] += shift
        self.resize = rng.uniform(0.5, 1.0) if rng.random() < 0.5 else None
        self.jpeg = int(rng.integers(70, 96)) if rng.random() < 0.5 else None

    def _down_up(self, x: np.ndarray) -> np.ndarray:
        s = max(8, round(self.size * self.resize))
        small = cv2.resize(x, (s, s), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (self.size, self.size), interpolation=cv2.INTER_LINEAR)

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = cv2.warpAffine(x, self.A, (self.size, self.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if self.resize is not None:
            y = self._down_up(y)
        if self.jpeg is not None:
            ok, buf = cv2.imencode(".jpg", np.clip(np.round(y), 0, 255).astype(np.uint8)[..., ::-1],
                                   [cv2.IMWRITE_JPEG_QUALITY, self.jpeg])
            y = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32)
        return y

    def backward(self, g: np.ndarray) -> np.ndarray:
        # JPEG: identity (BPDA). Down-up resize: a low-pass, close to self-adjoint. Warp: the inverse warp.
        if self.resize is not None:
            g = self._down_up(g)
        return cv2.warpAffine(g, self.A, (self.size, self.size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT)


def project(x0: np.ndarray, delta: np.ndarray, step: np.ndarray, w: np.ndarray, budget: float,
            linf: float) -> np.ndarray:
    """``delta + t * step``, capped at ``linf``, for the largest ``t`` in [0, 1] (bisection)
    that keeps DSSIM(x0, x0 + w delta) within ``budget``; ``delta`` itself is within it.

    ``x0`` may be larger than ``delta`` (the face at its size in the photo):
    ``w * delta`` is then resized to it, so the budget holds where it is seen.
    """
    size = x0.shape[1], x0.shape[0]

    def fits(t: float) -> tuple[bool, np.ndarray]:
        d = np.clip(delta + t * step, -linf, linf)
        change = w[..., None] * d
        if change.shape != x0.shape:
            change = cv2.resize(change, size, interpolation=cv2.INTER_LINEAR)
        return dssim(x0, np.clip(x0 + change, 0, 255)) <= budget, d

    ok, d = fits(1.0)
    if ok:
        return d
    lo, best = 0.0, delta
    hi = 1.0
    for _ in range(5):
        mid = (lo + hi) / 2
        ok, d = fits(mid)
        if ok:
            lo, best = mid, d
        else:
            hi = mid
    return best


NATIVE_MAX = 448  # larger faces are judged for DSSIM at this size (the change, made at 112 px, is smooth there)
_ANCHORS: dict = {}


def anchor_pictures() -> list[np.ndarray]:
    """Faces of other people that ship with installed packages: skimage's astronaut and
    camera man, matplotlib's Grace Hopper (the same on every machine)."""
    from pathlib import Path

    import matplotlib
    from PIL import Image
    from skimage import data

    grace = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    pics = [data.astronaut(), np.dstack([data.camera()] * 3)]
    if grace.is_file():
        pics.append(np.asarray(Image.open(grace).convert("RGB")))
    return [np.ascontiguousarray(p) for p in pics]


def anchor_embeddings(embedder: Embedder) -> np.ndarray:
    """Unit embeddings ``(K, D)`` of the anchor faces under ``embedder`` (computed once per process)."""
    if embedder.name not in _ANCHORS:
        from ..detect.centerface import CenterFace

        det, out = CenterFace(), []
        for rgb in anchor_pictures():
            boxes, _, points = det.with_landmarks(rgb)
            if len(boxes):
                k = int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
                out.append(embedder.embed(align(rgb, points[k])[0][None])[0])
        _ANCHORS[embedder.name] = np.array(out)
    return _ANCHORS[embedder.name]


@dataclass
class FaceResult:
    """What cloaking one face did, measured on its aligned crop."""

    box: np.ndarray
    cos_before_after: dict = field(default_factory=dict)  # per optimised model: cosine(original, cloaked)
    dssim_crop: float = 0.0
    seconds: float = 0.0


def cloak_crop(crop: np.ndarray, embedders: list[Embedder], mode: Mode, rng: np.random.Generator,
               target: list[np.ndarray] | None = None, native: np.ndarray | None = None) -> np.ndarray:
    """The perturbation ``(112, 112, 3)`` float32 for one aligned crop (already windowed by :func:`window`).

    Untargeted: each model's cosine to the crop's own embedding is pushed
    down. With ``target`` (one unit embedding per model), the cosine to it is
    pushed up as well.
    """
    x0 = crop.astype(np.float32)
    ref = x0 if native is None else native.astype(np.float32)
    w = window(crop.shape[0])
    own = [e.embed(x0[None])[0] for e in embedders]
    if target is None and mode.targeted:
        target = []
        for e, o in zip(embedders, own):
            a = anchor_embeddings(e)
            target.append(a[int(np.argmin(a @ o))])  # the anchor least like this face
    delta = np.zeros_like(x0)
    for step in range(mode.steps):
        x = np.clip(x0 + w[..., None] * delta, 0, 255)
        ts = [_Transform(rng, crop.shape[0]) for _ in range(mode.eot)]
        batch = np.stack([t.forward(x) for t in ts])
        grad = np.zeros_like(x0)
        for k, e in enumerate(embedders):
            _, g = e.cosine_and_grad(batch, np.repeat(own[k][None], len(ts), 0))
            if target is not None:
                _, gt = e.cosine_and_grad(batch, np.repeat(target[k][None], len(ts), 0))
                g = g - gt
            gk = sum(t.backward(np.ascontiguousarray(gi, np.float32)) for t, gi in zip(ts, g))
            grad += gk / (np.abs(gk).mean() + 1e-12)  # each model weighs the same
        grad *= w[..., None]
        if mode.smooth > 0:
            grad = cv2.GaussianBlur(grad, (0, 0), mode.smooth)
        # A step along the gradient scaled so its largest pixel change is lr (L2-like, not sign:
        # it spends the DSSIM budget where the gradient is large; measured far better than sign steps).
        lr = mode.lr * (0.55 + 0.45 * np.cos(np.pi * step / mode.steps))
        delta = project(ref, delta, -lr * grad / (np.abs(grad).max() + 1e-12), w, mode.dssim, mode.linf)
    return w[..., None] * delta


FACE_DSSIM_CAP = 0.0115  # the most DSSIM a cloak may leave on a face box in the photo (the limit: 0.012)


def face_boxes(rgb: np.ndarray, points: np.ndarray) -> list[np.ndarray | None]:
    """For each face of ``points``, the CenterFace box (x1, y1, x2, y2) holding its landmarks, or None."""
    from ..detect.centerface import CenterFace

    boxes, _, _ = CenterFace().with_landmarks(rgb)
    out = []
    for p in points:
        cx, cy = p.mean(axis=0)
        inside = [b for b in boxes if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]]
        out.append(min(inside, key=lambda b: (b[2] - b[0]) * (b[3] - b[1])) if inside else None)
    return out


def cap_on_face(original: np.ndarray, out: np.ndarray, before: np.ndarray, window: tuple[slice, slice],
                box: np.ndarray | None, cap: float = FACE_DSSIM_CAP) -> None:
    """Scale this face's change (``out[window] - before``) down, in place, until the face box's DSSIM is <= ``cap``.

    The optimisation holds its budget on the aligned face; seen on the face's
    box in the photo the same change can read a little higher, so the written
    photo is checked there and the change shortened (bisection) where needed.
    """
    if box is None:
        return
    h, w = original.shape[:2]
    x1, y1, x2, y2 = np.clip(np.round(box).astype(int), 0, [w, h, w, h])
    if x2 - x1 < 8 or y2 - y1 < 8:
        return
    change = out[window] - before

    def face_dssim(scale: float) -> float:
        out[window] = before + scale * change
        return dssim(original[y1:y2, x1:x2], np.clip(np.round(out[y1:y2, x1:x2]), 0, 255).astype(np.uint8))

    if face_dssim(1.0) <= cap:
        return
    lo, hi = 0.0, 1.0
    for _ in range(10):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if face_dssim(mid) <= cap else (lo, mid)
    face_dssim(lo)


def cloak_faces(rgb: np.ndarray, points: np.ndarray, embedders: list[Embedder], mode: Mode,
                seed: int | None = 0, allowed: np.ndarray | None = None) -> tuple[np.ndarray, list[FaceResult]]:
    """``rgb`` (HxWx3 uint8) with every face of ``points`` (N, 5, 2) cloaked; a new array.

    ``allowed`` (HxW bool, optional): pixels outside it are never changed.
    Each face's change is capped at :data:`FACE_DSSIM_CAP` on its box in the
    photo (:func:`cap_on_face`).
    """
    out = rgb.astype(np.float32)
    h, w = rgb.shape[:2]
    results = []
    rng = np.random.default_rng(seed)
    boxes = face_boxes(rgb, points)
    for p, face in zip(points, boxes):
        t0 = time.perf_counter()
        crop, M = align(rgb, p)
        # The face at its own size in the photo (at most NATIVE_MAX px), where the DSSIM budget is held.
        side = int(np.clip(round(SIZE / np.sqrt(abs(np.linalg.det(M[:, :2])))), 16, NATIVE_MAX))
        native = align(rgb, p, side)[0]
        delta = cloak_crop(crop, embedders, mode, rng, native=native)
        # Back onto the image: the crop's footprint only (bounding box of its corners).
        Minv = cv2.invertAffineTransform(M)
        corners = np.array([[0, 0], [SIZE, 0], [0, SIZE], [SIZE, SIZE]], np.float64) @ Minv[:, :2].T + Minv[:, 2]
        x1, y1 = np.maximum(np.floor(corners.min(0)).astype(int) - 1, 0)
        x2, y2 = np.minimum(np.ceil(corners.max(0)).astype(int) + 2, [w, h])
        if x2 <= x1 or y2 <= y1:
            continue
        shifted = M.copy()
        shifted[:, 2] += M[:, :2] @ np.array([x1, y1], np.float64)  # crop <- window coordinates
        patch = cv2.warpAffine(delta, shifted, (int(x2 - x1), int(y2 - y1)), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if allowed is not None:
            patch *= allowed[y1:y2, x1:x2, None]
        before = out[y1:y2, x1:x2].copy()
        out[y1:y2, x1:x2] += patch
        cap_on_face(rgb, out, before, (slice(y1, y2), slice(x1, x2)), face)
        res = FaceResult(box=np.array([x1, y1, x2, y2]), seconds=time.perf_counter() - t0)
        cloaked = align(np.clip(np.round(out), 0, 255).astype(np.uint8), p)[0]
        res.dssim_crop = dssim(crop, cloaked)
        for e in embedders:
            a, b = e.embed(np.stack([crop, cloaked]))
            res.cos_before_after[e.name] = float(a @ b)
        results.append(res)
    return np.clip(np.round(out), 0, 255).astype(np.uint8), results
