"""``silhouette``: a flat-colour body shape with a darker outline; scene kept.

Unlike ``solid`` the outline keeps the shape readable as "a person was here",
which suits street photography and datasets where the count matters.
"""

import cv2
import numpy as np

NAME = "silhouette"
HELP = "flat-colour outlined body shape (--color, default mid grey)"

DEFAULT = (128, 128, 128)


def apply(image: np.ndarray, mask: np.ndarray, params) -> np.ndarray:
    from ._common import fill_value, filled_like

    color = DEFAULT if tuple(params.color) == (0, 0, 0) else params.color
    out = filled_like(image, color)
    # Outline: mask pixels within 2 px of the mask edge, in a darker shade.
    inner = cv2.erode(mask.view(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    edge = mask & ~inner
    out[edge] = fill_value(tuple(int(c * 0.4) for c in color), image)
    return out
