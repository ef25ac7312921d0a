"""Helpers shared by the method modules."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Params:
    """Settings shared by all methods; each method reads the ones it needs."""

    radius: int | None = None  # scramble: neighbourhood radius in pixels; None = auto (scales with people)
    shape: str = "square"  # scramble: "square" or "disc" neighbourhood
    block: int | None = None  # pixelate: block size in pixels; None = auto, per region
    strength: float | None = None  # blur: Gaussian sigma in pixels; None = auto, per region
    share: float | None = None  # auto strength as a share of each region's size; None = the measured default
    color: tuple[int, int, int] = (0, 0, 0)  # solid / silhouette fill, 8-bit RGB
    seed: int | None = None  # scramble: reproducible randomness
    cloak: str = "mid"  # cloak: budget, "low", "mid" or "high" (fuzzypeople.faceid.cloak.MODES)


def fill_value(color: tuple[int, int, int], image: np.ndarray) -> np.ndarray:
    """An 8-bit RGB colour as a pixel value for ``image``'s dtype and channels."""
    c = np.asarray(color, np.float64)
    if image.dtype == np.uint16:
        c = c * 257.0
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels == 1:
        c = np.array([c @ [0.299, 0.587, 0.114]])
    return np.round(c[:channels]).astype(image.dtype)


def filled_like(image: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    """A new image like ``image`` filled with an 8-bit RGB colour.

    (Tiling one row and broadcasting it is ~100x faster than numpy's
    broadcast assignment of a 3-value pixel over a full-HD frame.)

    >>> filled_like(np.zeros((2, 3, 3), np.uint8), (1, 2, 3))[1, 2].tolist()
    [1, 2, 3]
    """
    value = fill_value(color, image)
    if image.ndim == 2:
        return np.full(image.shape, value[0], image.dtype)
    row = np.tile(value, (image.shape[1], 1))
    return np.ascontiguousarray(np.broadcast_to(row, image.shape))


def region_labels(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected regions (8-connected) of a mask: ``(n, labels, stats)`` as
    :func:`cv2.connectedComponentsWithStats` returns them (label 0 = background)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(np.ascontiguousarray(mask).view(np.uint8), connectivity=8)
    return n, labels, stats


def region_side(stats: np.ndarray) -> np.ndarray:
    """The size auto strengths scale with, per region: the shorter side of its box.

    The shorter side follows the size of the face inside far better than the
    height does: a face-only region is about 1.5 face widths on both sides, a
    standing person's is 7 face heights tall but only 2-3 face widths wide.
    """
    return np.minimum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])


def power_of_two_at_least(x: float) -> int:
    """Smallest power of two >= ``x`` (>= 1). Auto strengths round *up*, never
    below what was measured safe, and video frames share a few values.

    >>> [power_of_two_at_least(v) for v in (0.3, 1, 5, 16, 16.5)]
    [1, 1, 8, 16, 32]
    """
    return int(2 ** max(0, int(np.ceil(np.log2(max(float(x), 1.0))))))


def share_of_side(side: int, share: float, minimum: float) -> int:
    """An auto strength: ``share`` of a region's shorter ``side``, at least ``minimum``, rounded up to a power of two.

    >>> share_of_side(100, 0.12, 8), share_of_side(10, 0.12, 8)
    (16, 8)
    """
    return power_of_two_at_least(max(minimum, share * side))


def hide_at(image: np.ndarray, mask: np.ndarray, given, name: str, strength_for_side, apply_fixed) -> np.ndarray:
    """A method's ``apply``: each region at its auto strength when ``given`` is None, else
    everything at ``given`` (a positive value below the auto one warns, :func:`warn_if_weak`)."""
    if given is None:
        return per_region(image, mask, strength_for_side, apply_fixed)
    if given > 0:
        warn_if_weak(name, given, mask, strength_for_side, stacklevel=4)
    return apply_fixed(image, mask, given)


def auto_strengths(mask: np.ndarray, strength_for_side) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, strength per label)``: each region's auto strength, from its size.

    ``strength_for_side(side) -> value`` is the method's rule; label 0 (the
    background) gets 0.
    """
    n, labels, stats = region_labels(mask)
    values = np.zeros(n, np.float64)
    sides = region_side(stats)
    for i in range(1, n):  # one per person-sized region: a handful
        values[i] = strength_for_side(int(sides[i]))
    return labels, values


def per_region(image: np.ndarray, mask: np.ndarray, strength_for_side, apply_fixed) -> np.ndarray:
    """Hide each region of ``mask`` with its own strength.

    ``apply_fixed(image, mask, value)`` is the method at one strength. Regions
    that get the same value are hidden together, so the loop runs once per
    distinct value (a few), not once per pixel or per person. Only the
    regions' pixels take the hidden values; the rest of ``image`` is copied.
    """
    ys, xs = mask_bbox(mask)  # regions are labelled in the window holding them (same labels, less work)
    window = mask[ys, xs]
    if window.size == 0:
        return image
    labels, values = auto_strengths(window, strength_for_side)
    distinct = sorted(set(values[1:].tolist()))
    if len(distinct) <= 1:
        return apply_fixed(image, mask, distinct[0]) if distinct else image
    out = image.copy()
    # One gather maps every pixel to its value's group (0 = not masked); then one compare per value.
    group_of_label = np.searchsorted(distinct, values).astype(np.uint8) + 1
    group_of_label[0] = 0
    groups = group_of_label[labels]
    sub = np.zeros(mask.shape, bool)
    for g, v in enumerate(distinct, start=1):
        sub[ys, xs] = groups == g
        hidden = np.ascontiguousarray(apply_fixed(image, sub, v))
        cv2.copyTo(hidden, sub.view(np.uint8), out)
    return out


LABEL_PIXELS = 16_000_000  # masks larger than this are labelled on a shrunk copy (weakest_safe)


def weakest_safe(mask: np.ndarray, strength_for_side) -> float | None:
    """The largest auto strength any region of ``mask`` needs (None: empty mask).

    A mask over :data:`LABEL_PIXELS` (a very large photo) is measured on a
    copy shrunk ``k`` times where any covered pixel counts, region sides
    scaled back up: regions can only grow or merge there, so the strength
    can only come out stronger, and no full-size label image (4 bytes a
    pixel) is ever made.

    >>> m = np.zeros((5000, 4000), bool); m[100:700, 300:500] = True
    >>> weakest_safe(m, lambda side: side), weakest_safe(m[:1000], lambda side: side)
    (200.0, 200.0)
    """
    h, w = mask.shape
    k = int(np.ceil(np.sqrt(h * w / LABEL_PIXELS)))
    if k > 1:
        small = cv2.resize(np.ascontiguousarray(mask).view(np.uint8), (-(-w // k), -(-h // k)),
                           interpolation=cv2.INTER_AREA) > 0
        _, values = auto_strengths(small, lambda side: strength_for_side(side * k))
    else:
        _, values = auto_strengths(mask, strength_for_side)
    return float(values[1:].max()) if len(values) > 1 else None


class PrivacyWarning(UserWarning):
    """A fixed strength below what the identification benchmark measured as safe."""


def warn_if_weak(name: str, given: float, mask: np.ndarray, strength_for_side, unit: str = "px",
                 stacklevel: int = 3) -> None:
    """Warn (:class:`PrivacyWarning`) when ``given`` is below the auto value for a region of ``mask``."""
    import warnings

    need = weakest_safe(mask, strength_for_side)
    if need is not None and given < need:
        warnings.warn(PrivacyWarning(
            f"--{name} {given:g} is below the {need:g} {unit} measured as safe for the largest person found "
            f"(benchmarks/identification.py); faces may stay identifiable. Leave --{name} unset for auto."),
            stacklevel=stacklevel)


def mask_bbox(mask: np.ndarray, pad: int = 0) -> tuple[slice, slice]:
    """The smallest window (grown by ``pad``, clipped) holding every masked pixel."""
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    H, W = mask.shape
    return slice(max(y - pad, 0), min(y + h + pad, H)), slice(max(x - pad, 0), min(x + w + pad, W))
