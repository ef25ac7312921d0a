"""``pixelate``: replace people with coarse blocks (mosaic).

Blocks are aligned to the image grid, so a still person gives the same mosaic
in every frame of a video.
"""

import cv2
import numpy as np

NAME = "pixelate"
HELP = "mosaic of --block N pixel blocks (default 16)"


def apply(image: np.ndarray, mask: np.ndarray, params) -> np.ndarray:
    from ._common import mask_bbox

    b = max(int(params.block), 1)
    ys, xs = mask_bbox(mask)
    # Snap the window to the block grid so blocks do not move with the mask.
    y0, x0 = ys.start // b * b, xs.start // b * b
    y1 = min(-(-ys.stop // b) * b, image.shape[0])
    x1 = min(-(-xs.stop // b) * b, image.shape[1])
    window = image[y0:y1, x0:x1]
    h, w = window.shape[:2]
    small = cv2.resize(window, (max(-(-w // b), 1), max(-(-h // b), 1)), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (small.shape[1] * b, small.shape[0] * b), interpolation=cv2.INTER_NEAREST)[:h, :w]
    out = image.copy()
    out[y0:y1, x0:x1] = big.reshape(window.shape)
    return out
