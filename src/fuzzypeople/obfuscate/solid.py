"""``solid``: paint every hidden pixel one colour (default black)."""

import numpy as np

NAME = "solid"
HELP = "fill people with one colour (--color R,G,B, default black)"


def apply(image: np.ndarray, mask: np.ndarray, params) -> np.ndarray:
    from ._common import filled_like

    return filled_like(image, params.color)
