"""``none``: change nothing; for detection only (with ``--save-mask``)."""

NAME = "none"
HELP = "detect only: write no image, just counts (and the mask with --save-mask)"


def apply(image, mask, params):
    return image
