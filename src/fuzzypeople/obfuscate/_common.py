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
    block: int = 16  # pixelate: block size in pixels
    strength: float = 25.0  # blur: Gaussian sigma in pixels
    color: tuple[int, int, int] = (0, 0, 0)  # solid / silhouette fill, 8-bit RGB
    seed: int | None = None  # scramble: reproducible randomness


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


def mask_bbox(mask: np.ndarray, pad: int = 0) -> tuple[slice, slice]:
    """The smallest window (grown by ``pad``, clipped) holding every masked pixel."""
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    H, W = mask.shape
    return slice(max(y - pad, 0), min(y + h + pad, H)), slice(max(x - pad, 0), min(x + w + pad, W))
