"""The default recall-first detector stack: bodies and faces, combined.

Bodies and faces come from independent detectors, so a person whose body is
missed can still have their face hidden and vice versa.
"""

from __future__ import annotations

import numpy as np

from ..choices import parse_choices
from ..people import People
from . import load

TARGETS = ("bodies", "faces")
DEFAULT_BODY = "nanodet"
DEFAULT_FACE = "centerface"


def parse_targets(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"bodies,faces"`` -> ``("bodies", "faces")``, checked.

    >>> parse_targets("faces")
    ('faces',)
    """
    return parse_choices(value, TARGETS, f"targets must be one or both of {', '.join(TARGETS)}")


class Stack:
    """Run the body and/or face detectors and join what they find."""

    def __init__(
        self,
        targets=TARGETS,
        threshold: float | None = None,
        body: str = DEFAULT_BODY,
        face: str = DEFAULT_FACE,
        outline: bool = False,
        body_options: dict | None = None,
    ):
        self.targets = parse_targets(targets)
        self.outliner = None
        if outline and "bodies" in self.targets:
            from .outline import Outliner

            self.outliner = Outliner()
        self.detectors = []
        if "bodies" in self.targets:
            self.detectors.append(load(body, threshold=threshold, **(body_options or {})))
        if "faces" in self.targets:
            self.detectors.append(load(face, threshold=threshold))

    def __call__(self, rgb: np.ndarray) -> People:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"detectors take HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
        found = [d(rgb) for d in self.detectors]
        if self.outliner is not None:
            found = [self.outliner(rgb, p) for p in found]
        shape = rgb.shape[:2]
        if any(p.masks is not None for p in found):
            found = [p.with_masks(shape) for p in found]
        return People.concat(found)
