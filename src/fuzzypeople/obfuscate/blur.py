"""``blur``: Gaussian blur of strength ``--strength`` (sigma in pixels).

Only a window around the mask is blurred, so cost follows the people's size.
A light blur is *not* private (see ``fuzzypeople audit``); it is here because
users ask for it.
"""

import cv2
import numpy as np

NAME = "blur"
HELP = "Gaussian blur, --strength SIGMA pixels (default 25)"


def apply(image: np.ndarray, mask: np.ndarray, params) -> np.ndarray:
    from ._common import mask_bbox

    sigma = max(float(params.strength), 0.1)
    pad = int(3 * sigma) + 1
    ys, xs = mask_bbox(mask, pad)
    out = image.copy()
    window = np.ascontiguousarray(image[ys, xs])
    h, w = window.shape[:2]
    # A wide Gaussian removes the fine detail a downscale removes anyway: blur a
    # smaller copy with a proportionally smaller sigma, then scale back up.
    f = max(1, int(sigma // 4))
    small = cv2.resize(window, (max(w // f, 1), max(h // f, 1)), interpolation=cv2.INTER_AREA) if f > 1 else window
    blurred = cv2.GaussianBlur(small, (0, 0), sigma / f, borderType=cv2.BORDER_REPLICATE)
    if f > 1:
        blurred = cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR)
    out[ys, xs] = blurred.reshape(window.shape)
    return out
