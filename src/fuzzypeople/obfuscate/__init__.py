"""Obfuscation methods, one module each.

A method module defines ``NAME`` (the name users type), ``HELP`` (one line)
and ``apply(image, mask, params) -> ndarray``: it returns an image of the same
shape and dtype whose masked pixels are hidden. Pixels outside the mask may be
anything: :func:`obfuscate` copies only masked pixels into the output, so the
rest stay byte-identical to the input. Adding a method is adding a module here;
it is found automatically.

Optional, for methods that need memory across the frames of a video (``erase``
fills people from the background seen in other frames): ``state() -> obj``,
where ``obj(image, mask, params)`` works like ``apply`` and is called on
*every* frame of one stream, in order, even those with nothing to hide. The
pipeline makes one per stream (:func:`state`) and passes it to
:func:`obfuscate`. ``MIN_DILATE`` (pixels, optional): the mask grows at least
this much with this method. ``HIDES`` (optional, default True): False for a
method that leaves people visible (``cloak``).

>>> import numpy as np
>>> img = np.full((4, 4, 3), 200, np.uint8)
>>> mask = np.zeros((4, 4), bool); mask[1:3, 1:3] = True
>>> out = obfuscate(img, mask, "solid", Params(color=(255, 0, 255)))
>>> out[1, 1].tolist(), out[0, 0].tolist()
([255, 0, 255], [200, 200, 200])
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import cv2
import numpy as np

from ._common import Params, PrivacyWarning, fill_value, mask_bbox, weakest_safe  # noqa: F401  (re-exported)


def _discover() -> dict[str, ModuleType]:
    methods = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        methods[module.NAME] = module
    return dict(sorted(methods.items()))


METHODS: dict[str, ModuleType] = _discover()


def get(name: str) -> ModuleType:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}") from None


def state(method: str):
    """A fresh per-stream state for ``method`` (one per video), or None if it keeps none."""
    make = getattr(get(method), "state", None)
    return make() if make is not None else None


def min_dilate(method: str) -> int:
    """The least mask growth, in pixels, that ``method`` needs (0 for most)."""
    return int(getattr(get(method), "MIN_DILATE", 0))


def obfuscate(
    image: np.ndarray,
    mask: np.ndarray,
    method: str = "scramble",
    params: Params = Params(),
    alpha: np.ndarray | None = None,
    state=None,
) -> np.ndarray:
    """Hide the masked pixels of ``image`` with ``method``; never modifies ``image``.

    ``alpha`` (optional float weights from :func:`fuzzypeople.masks.feather`)
    blends the hidden image in around the mask edge; where it is 1 (the whole
    mask) the output is the method's output exactly. ``state`` (from
    :func:`state`) replaces the method's ``apply`` and sees every frame.
    """
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match image {image.shape[:2]}")
    if state is not None:
        hidden = state(image, mask, params)  # called on every frame: it learns from them
        if not mask.any():
            return image.copy()
        hidden = np.ascontiguousarray(hidden)
    elif not mask.any():
        return image.copy()
    else:
        hidden = np.ascontiguousarray(get(method).apply(image, mask, params))
    if alpha is None and mask.all():  # everything hidden: the method's output is the answer
        return hidden.copy() if np.shares_memory(hidden, image) else hidden
    out = image.copy()
    if alpha is None:
        # cv2.copyTo is ~100x faster than np.copyto(where=...) on a full-HD frame.
        cv2.copyTo(hidden, mask.view(np.uint8), out)
        return out
    a = alpha[..., None] if image.ndim == 3 else alpha
    blend = image.astype(np.float32) * (1 - a) + hidden.astype(np.float32) * a
    out = np.round(blend).astype(image.dtype)
    out[mask] = hidden[mask]
    return out
