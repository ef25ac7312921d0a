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
    blurred = cv2.GaussianBlur(window, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    out[ys, xs] = blurred.reshape(window.shape)
    return out
