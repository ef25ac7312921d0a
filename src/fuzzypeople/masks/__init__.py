"""Build the final boolean mask from the people found in a frame.

>>> import numpy as np
>>> from fuzzypeople.people import People
>>> p = People(np.array([[2, 2, 4, 4]]), [1.0], ["body"])
>>> m = build_mask(p, (8, 8), dilate=1)
>>> int(m.sum())   # the 2x2 box grown by a radius-1 disc (a cross): 4 + 4*2
12
"""

from __future__ import annotations

import cv2
import numpy as np

from ..people import People, clip_boxes


def union(people: People, shape: tuple[int, int]) -> np.ndarray:
    """Union of every person's pixels (instance mask, or box where none)."""
    h, w = shape
    mask = np.zeros((h, w), bool)
    if len(people) == 0:
        return mask
    if people.masks is not None:
        if people.masks.shape[1:] != (h, w):
            raise ValueError(f"instance masks are {people.masks.shape[1:]}, frame is {(h, w)}")
        return people.masks.any(axis=0)
    for x1, y1, x2, y2 in clip_boxes(people.boxes, shape):
        mask[y1:y2, x1:x2] = True
    return mask


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Grow a boolean mask by ``pixels`` in every direction (disc element)."""
    if pixels <= 0 or not mask.any():
        return mask
    k = 2 * int(pixels) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    return cv2.dilate(mask.view(np.uint8), kernel).astype(bool)


_grow = dilate  # build_mask's argument is also called "dilate"


def build_mask(people: People, shape: tuple[int, int], dilate: int = 0) -> np.ndarray:
    """The pixels to hide: union of all people, grown by ``dilate`` pixels."""
    return _grow(union(people, shape), dilate)


def rectangles(rects, shape: tuple[int, int], name: str = "region") -> np.ndarray:
    """The union of ``(x, y, w, h)`` rectangles as a bool mask; ValueError if one lies outside the picture.

    >>> int(rectangles([(1, 1, 2, 3)], (8, 8)).sum())
    6
    """
    h, w = shape
    out = np.zeros((h, w), bool)
    for x, y, rw, rh in rects:  # a handful of rectangles
        if x >= w or y >= h:
            raise ValueError(f"{name} {x},{y},{rw},{rh} lies outside the {w}x{h} picture")
        out[y : y + rh, x : x + rw] = True
    return out


def feather(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Blend weights in ``[0, 1]``: 1 on the mask, fading to 0 over ``pixels`` outside it.

    The mask itself is always fully hidden; feathering only softens the edge
    *outside* it, so it never lets a masked pixel show through.
    """
    if pixels <= 0:
        return mask.astype(np.float32)
    if not mask.any():
        return np.zeros(mask.shape, np.float32)
    dist = cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, 3)
    return np.clip(1.0 - dist / float(pixels + 1), 0.0, 1.0).astype(np.float32)


def save_mask(mask: np.ndarray, path) -> None:
    """Write a boolean mask as a black/white 8-bit PNG (white = hidden)."""
    from ..io.image import write_array_png

    write_array_png(mask.astype(np.uint8) * 255, path)
