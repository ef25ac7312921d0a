"""The audit's measurements: small, vectorised functions, each checkable by hand.

* :func:`iou_matrix`, :func:`group`, :func:`residual` -- who the independent
  detectors found in the original, and who they still find in the output;
* :func:`altered`, :func:`people_region`, :func:`similarity` -- how much of
  the picture changed, inside and outside the people;
* :func:`verdict` -- ``private`` or ``at risk``, with the reasons.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..people import box_iou as iou_matrix  # noqa: F401  (re-exported: the audit's name for it)

PRIVATE = "private"
AT_RISK = "at risk"
SSIM_WINDOW = 7  # skimage's default window: SSIM at a pixel sees +-3 pixels


def group(boxes: np.ndarray, iou: float = 0.3) -> np.ndarray:
    """Label boxes that overlap (IoU >= ``iou``, transitively) as one person.

    Used to merge what several detectors found into one list of faces (or
    bodies). Returns a label per box, numbered in order of first appearance.

    >>> group(np.array([[0, 0, 10, 10], [50, 50, 60, 60], [1, 1, 11, 11]])).tolist()
    [0, 1, 0]
    """
    from scipy.sparse.csgraph import connected_components

    n = len(boxes)
    if n == 0:
        return np.zeros(0, np.int64)
    _, labels = connected_components(iou_matrix(boxes, boxes) >= iou, directed=False)
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first))  # relabel by first appearance
    return order[labels]


def residual(before_boxes, before_source, after_boxes, after_source, iou: float = 0.5):
    """Which detections of the original are still found in the output.

    A detection counts as still found when the *same* detector finds a box
    in the output with IoU >= ``iou`` with it (detectors draw boxes in
    their own style, so boxes are only compared within one detector).

    Returns ``(still_found (N,) bool, match (N,) int)``: ``match`` is the
    index of the best-overlapping output box, or -1.

    >>> f, m = residual(np.array([[0, 0, 10, 10], [20, 0, 30, 10]]), np.array(["a", "a"]),
    ...                 np.array([[1, 0, 11, 10], [20, 0, 30, 10]]), np.array(["a", "b"]))
    >>> f.tolist(), m.tolist()
    ([True, False], [0, -1])
    """
    n = len(before_boxes)
    if n == 0 or len(after_boxes) == 0:
        return np.zeros(n, bool), np.full(n, -1)
    m = iou_matrix(before_boxes, after_boxes)
    m = np.where(np.asarray(before_source)[:, None] == np.asarray(after_source)[None], m, 0.0)
    best = m.argmax(axis=1)
    found = m[np.arange(n), best] >= iou
    return found, np.where(found, best, -1)


def any_by_group(flags: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group: is ``flags`` true for any member?

    >>> any_by_group(np.array([False, True, False]), np.array([0, 0, 1]), 2).tolist()
    [True, False]
    """
    return np.bincount(labels, weights=flags.astype(np.float64), minlength=n_groups) > 0


def altered(before: np.ndarray, after: np.ndarray, tolerance: int = 0) -> np.ndarray:
    """Pixels whose value changed by more than ``tolerance`` in any channel.

    ``tolerance`` absorbs lossy re-encoding (JPEG, video codecs): 0 for
    lossless outputs.

    >>> a = np.zeros((2, 2, 3), np.uint8); b = a.copy(); b[0, 0, 1] = 9; b[1, 1] = 2
    >>> altered(a, b).tolist(), altered(a, b, tolerance=4).tolist()
    ([[True, False], [False, True]], [[True, False], [False, False]])
    """
    d = cv2.absdiff(np.ascontiguousarray(before), np.ascontiguousarray(after))
    if d.ndim == 3:
        d = d.max(axis=2)
    return d > tolerance


def boxes_mask(boxes: np.ndarray, shape: tuple[int, int], grow: float = 0.0) -> np.ndarray:
    """Union of ``boxes``, each grown by ``grow`` of its size per side, as an HxW mask.

    >>> int(boxes_mask(np.array([[1, 1, 3, 3]]), (4, 4)).sum())
    4
    """
    h, w = shape
    m = np.zeros((h, w), bool)
    if len(boxes) == 0:
        return m
    b = np.asarray(boxes, np.float64)
    wh = b[:, 2:] - b[:, :2]
    b = np.hstack([b[:, :2] - wh * grow, b[:, 2:] + wh * grow])
    b = np.column_stack([np.floor(b[:, :2]), np.ceil(b[:, 2:])]).astype(np.int64)
    b = np.clip(b, 0, [w, h, w, h])
    # Draw all boxes at once with a 2-D cumulative sum of their corners.
    acc = np.zeros((h + 1, w + 1), np.int32)
    np.add.at(acc, (b[:, 1], b[:, 0]), 1)
    np.add.at(acc, (b[:, 1], b[:, 2]), -1)
    np.add.at(acc, (b[:, 3], b[:, 0]), -1)
    np.add.at(acc, (b[:, 3], b[:, 2]), 1)
    return acc.cumsum(0).cumsum(1)[:h, :w] > 0


def people_region(found: np.ndarray, changed: np.ndarray, bridge: int = 4) -> np.ndarray:
    """Where the people are: ``found`` (boxes of what the audit's detectors
    found in the original) plus every blob of ``changed`` pixels that touches
    one of them (the anonymiser's mask is usually larger than a box: whole
    bodies, dilation).

    Blobs are taken after a morphological closing that bridges gaps of up to
    ``2 * bridge`` pixels, so the speckle of a light scramble (where many
    pixels happen to keep their value) stays one blob. Changed pixels that
    touch no person found stay *outside*: either a person the audit's
    detectors missed, or collateral damage.

    >>> found = np.zeros((5, 8), bool); found[1:3, 1:3] = True
    >>> changed = np.zeros((5, 8), bool); changed[2:4, 2:5] = True; changed[0, 7] = True
    >>> r = people_region(found, changed, bridge=0); int(r.sum()), bool(r[0, 7])
    (9, False)
    """
    region = found.copy()
    if not changed.any() or not found.any():
        return region
    blobs = changed.view(np.uint8)
    if bridge:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * bridge + 1, 2 * bridge + 1))
        blobs = cv2.morphologyEx(blobs, cv2.MORPH_CLOSE, kernel) | blobs
    n, labels = cv2.connectedComponents(blobs, connectivity=8)
    touching = np.zeros(n, bool)
    touching[np.unique(labels[found & (blobs > 0)])] = True
    touching[0] = False
    return region | touching[labels]


def similarity(before: np.ndarray, after: np.ndarray, region: np.ndarray) -> dict:
    """SSIM inside and outside ``region``, PSNR outside it, and whole-image SSIM.

    SSIM is skimage's (7x7 window, averaged over channels). Outside values
    use only pixels whose whole window lies outside ``region``, so an
    untouched background scores exactly 1 (and PSNR ``inf``) however
    heavily the people were hidden. A side with no pixels gives ``None``.

    >>> a = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    >>> b = a.copy(); b[:8, :8] = 0; r = np.zeros((32, 32), bool); r[:8, :8] = True
    >>> s = similarity(a, b, r); s["ssim_outside"], s["psnr_outside"], s["ssim_inside"] < 0.5
    (1.0, inf, True)
    """
    from skimage.metrics import structural_similarity

    smap = structural_similarity(before, after, channel_axis=2 if before.ndim == 3 else None,
                                 data_range=255, full=True)[1]
    if smap.ndim == 3:
        smap = smap.mean(axis=2)
    outside = ~region
    pad = SSIM_WINDOW // 2
    kernel = np.ones((2 * pad + 1, 2 * pad + 1), np.uint8)
    deep_outside = cv2.erode(outside.view(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1).astype(bool)
    # skimage crops a border of `pad` pixels from its mean; do the same here.
    inner = np.zeros_like(region)
    inner[pad:-pad or None, pad:-pad or None] = True
    out_px = deep_outside & inner
    in_px = region & inner
    d = before.astype(np.float64) - after.astype(np.float64)
    sq = (d * d).mean(axis=2) if d.ndim == 3 else d * d
    mse_out = float(sq[outside].mean()) if outside.any() else None
    r6 = lambda v: round(float(v), 6)  # noqa: E731  (identical windows give 1 - 1e-15 otherwise)
    return {
        "ssim": r6(smap[inner].mean()),
        "ssim_inside": r6(smap[in_px].mean()) if in_px.any() else None,
        "ssim_outside": r6(smap[out_px].mean()) if out_px.any() else None,
        "psnr_outside": None if mse_out is None else (math.inf if mse_out == 0 else 10 * math.log10(255**2 / mse_out)),
    }


def deciding_attack(face: dict) -> str | None:
    """The strongest attack the inputs allowed on this face (see :mod:`fuzzypeople.audit.attacks`):
    ``identification`` (a gallery holding the person), ``verification``, ``rank1``; None if not measured.

    >>> deciding_attack({"identification": None, "verification": {"accepted": False}, "reidentified": True})
    'verification'
    """
    if face.get("identification"):
        return "identification"
    if face.get("verification"):
        return "verification"
    if face.get("reidentified") is not None:
        return "rank1"
    return None


def face_reasons(f: dict) -> list[str]:
    """Why one face is at risk: every attack that named it, strongest first (empty: none did)."""
    out = []
    ident = f.get("identification") or {}
    if ident.get("identified"):
        out.append(f"face {f['id']} identified as {ident['person']!r} among {ident['candidates']} gallery people "
                   f"(closed set; chance {100 * ident['chance']:.0f}%)")
    ver = f.get("verification") or {}
    if ver.get("accepted"):
        who = repr(ver["claim"]) if ver.get("claim") else "its original"
        out.append(f"face {f['id']} verified as {who} (distance {ver['distance']:.2f} < {ver['threshold']:.2f}, "
                   f"the distance at false-match rate {100 * ver['fmr']:g}%)")
    if f.get("reidentified"):
        imp = f.get("impostor_distance")
        other = f", nearest other face {imp:.2f}" if imp is not None else ""
        out.append(f"face {f['id']} still re-identified (distance {f['distance']:.2f}{other})")
    return out


def verdict(faces: list[dict], bodies: list[dict], gallery_checked: bool = False) -> tuple[str, list[str]]:
    """``private`` or ``at risk``, and why.

    At risk when any face is named by an attack (:func:`face_reasons`,
    strongest attack first: (a) closed-set identification among the gallery's
    people, (b) verification at a fixed false-match rate, (c) the rank-1 test
    against distractors), or any face or person is still detected. A face
    within 0.6 of its original that no attack names is noted, not counted.
    ``faces`` and ``bodies`` are the per-person dicts of an image's audit
    (keys ``id``, ``residual``, ``distance``, ``reidentified``; optional
    ``identification``, ``verification``, ``matches_original``,
    ``impostor_distance``).

    >>> verdict([{"id": 1, "residual": True, "distance": 0.31, "reidentified": True}], [])
    ('at risk', ['face 1 still re-identified (distance 0.31)', '1 of 1 face still detected'])
    >>> verdict([], [{"id": 1, "residual": False}])
    ('private', ['none of the 0 faces and 1 person found in the original is still detected or re-identified'])
    """
    reasons = [r for f in faces for r in face_reasons(f)]
    nf, rf = len(faces), sum(bool(f["residual"]) for f in faces)
    nb, rb = len(bodies), sum(bool(b["residual"]) for b in bodies)
    if rf:
        reasons.append(f"{rf} of {nf} face{'s' * (nf != 1)} still detected")
    if rb:
        reasons.append(f"{rb} of {nb} {'people' if nb != 1 else 'person'} still detected")
    if reasons:
        return AT_RISK, reasons
    if not faces and not bodies:
        return PRIVATE, ["nobody found in the original by the audit's detectors (nothing to check)"]
    why = [f"none of the {nf} face{'s' * (nf != 1)} and {nb} {'people' if nb != 1 else 'person'} "
           "found in the original is still detected or re-identified"]
    ident = [f["identification"] for f in faces if f.get("identification")]
    if ident:
        why.append(f"closed-set identification: 0 of {len(ident)} face{'s' * (len(ident) != 1)} named among "
                   f"{ident[0]['candidates']} gallery people (chance {100 * ident[0]['chance']:.0f}% each)")
    near = [f for f in faces if f.get("matches_original") and not f.get("reidentified")]
    if near:
        why.append(f"{len(near)} face{'s' * (len(near) != 1)} within the match distance of the original but "
                   "nearer to someone else's face (not re-identified at rank 1)")
    return PRIVATE, why
