"""The Python API that the CLI, the web app and batch jobs all call.

>>> import numpy as np
>>> from fuzzypeople import Anonymizer
>>> anon = Anonymizer(method="solid", targets="faces")
>>> blank = np.zeros((64, 64, 3), np.uint8)
>>> bool((anon.anonymize(blank) == blank).all())   # nobody there: unchanged
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import masks as masks_
from .detect.stack import TARGETS, Stack
from .errors import FuzzyError
from .obfuscate import Params, get, obfuscate
from .people import People

DEFAULT_DILATE = 4  # pixels; chosen on coco-people, see benchmarks/detection.py
# Boxes grow by this share of their size on each side (chosen on coco-people).
GROW = {"body": 0.05, "face": 0.25}


@dataclass
class Result:
    """What happened to one file."""

    input: Path
    output: Path | None
    people: int
    hidden_share: float
    seconds: float
    mask_path: Path | None = None


class Anonymizer:
    """Loads the models once; hides people in any number of images or frames.

    Args:
        method: how to hide (``scramble``, ``pixelate``, ``blur``, ``solid``,
            ``silhouette``, ``none``).
        radius, shape, block, strength, color, seed: the methods' settings
            (see :class:`fuzzypeople.obfuscate.Params`); ``radius=None``
            scales the scramble with the people's size (see
            :func:`fuzzypeople.obfuscate.scramble.auto_radius`).
        targets: ``"bodies,faces"`` (default), ``"bodies"`` or ``"faces"``.
        threshold: detector confidence threshold (None = each detector's own).
        dilate: grow the mask by this many pixels (recall first).
        feather: soften the edge over this many pixels *outside* the mask.
        fail_safe: if analysis fails, hide the whole frame instead of raising.
        boxes: hide whole body boxes instead of tracing each body's outline.
        face_rule: hide a body region below every face found without a body.
        tile_scale: small people: also look in tiles of the image enlarged
            this much (0 = whole image only; None = the detector's default, 1.5).
        body_detector: a body detector name or a tuple of names (default
            NanoDet + MoveNet); face_detector likewise (default CenterFace).
    """

    def __init__(
        self,
        method: str = "scramble",
        radius: int | None = None,
        *,
        targets=TARGETS,
        threshold: float | None = None,
        dilate: int = DEFAULT_DILATE,
        feather: int = 0,
        shape: str = "square",
        block: int = 16,
        strength: float = 25.0,
        color: tuple[int, int, int] = (0, 0, 0),
        seed: int | None = None,
        fail_safe: bool = False,
        body_detector: str | None = None,
        face_detector: str | None = None,
        boxes: bool = False,
        face_rule: bool = True,
        tile_scale: float | None = None,
    ):
        get(method)  # fail early on an unknown method
        if (radius is not None and radius < 0) or block < 1 or strength < 0 or dilate < 0 or feather < 0:
            raise ValueError("radius, dilate and feather must be >= 0, block >= 1, strength >= 0")
        if len(color) != 3 or not all(0 <= int(c) <= 255 for c in color):
            raise ValueError(f"color must be three values 0-255, got {color!r}")
        self.method = method
        self.params = Params(radius=radius, shape=shape, block=block, strength=strength,
                             color=tuple(int(c) for c in color), seed=seed)
        self.dilate = dilate
        self.grow = dict(GROW)
        self.feather = feather
        self.fail_safe = fail_safe
        kw = {}
        if body_detector:
            kw["body"] = body_detector
        if face_detector:
            kw["face"] = face_detector
        self.detector = Stack(targets, threshold, outline=not boxes, face_rule=face_rule,
                              tile_scale=tile_scale, **kw)

    # -- the pipeline, one stage at a time -------------------------------------
    def detect(self, rgb: np.ndarray) -> People:
        """Find people in an HxWx3 uint8 RGB image."""
        return self.detector(rgb)

    def mask(self, people: People, shape: tuple[int, int]) -> np.ndarray:
        """The boolean HxW mask of pixels to hide."""
        return masks_.build_mask(grow_boxes(people, shape, self.grow), shape, self.dilate)

    def hide(self, pixels: np.ndarray, mask: np.ndarray, params: Params | None = None) -> np.ndarray:
        """Obfuscate the masked pixels of ``pixels`` (any HxW[xC] uint8/uint16)."""
        alpha = masks_.feather(mask, self.feather) if self.feather else None
        return obfuscate(pixels, mask, self.method, params or self.params, alpha)

    def analyse(self, rgb: np.ndarray) -> tuple[People, np.ndarray]:
        """Detect and build the mask; fail closed (raise, or hide all with ``fail_safe``)."""
        shape = rgb.shape[:2]
        try:
            people = self.detect(rgb)
            return people, self.mask(people, shape)
        except Exception:
            if not self.fail_safe:
                raise
            return People.empty(), np.ones(shape, bool)

    def anonymize(self, image: np.ndarray) -> np.ndarray:
        """Hide every person in an HxWx3 uint8 RGB image; returns a new image."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"anonymize takes an HxWx3 uint8 RGB array, got {image.shape} {image.dtype}")
        _, mask = self.analyse(image)
        return self.hide(image, mask)

    # -- files -----------------------------------------------------------------
    def anonymize_file(
        self,
        src: str | Path,
        dst: str | Path | None = None,
        *,
        keep_metadata: bool = False,
        keep_gps: bool = False,
        save_mask: str | Path | None = None,
    ) -> Result:
        """Anonymise one photo file; see :mod:`fuzzypeople.io.image`."""
        from .io.image import encode_image, format_for, read_image, write_image
        from .io.paths import check_distinct, default_output

        t0 = time.perf_counter()
        src = Path(src)
        write = self.method != "none"
        dst = Path(dst) if dst is not None else default_output(src)
        if write:
            check_distinct(src, dst)
        if save_mask is not None:
            check_distinct(src, save_mask)
        img = read_image(src)
        try:
            people, mask = self.analyse(img.rgb)
        except Exception as exc:
            raise FuzzyError(src, f"analysis failed ({type(exc).__name__}: {exc}); nothing written") from None
        if write:
            hidden = self.hide(img.pixels, mask)
            write_image(dst, encode_image(img, hidden, keep_metadata, keep_gps, format_for(dst, img.format)))
        if save_mask is not None:
            masks_.save_mask(mask, save_mask)
        return Result(src, dst if write else None, len(people), float(mask.mean()),
                      time.perf_counter() - t0, Path(save_mask) if save_mask else None)


def grow_boxes(people: People, shape: tuple[int, int], grow: dict[str, float] = GROW) -> People:
    """Boxes grown on each side by a share of their own size, per kind.

    Detectors draw tight boxes; a person's hair, hands, bag or shadow sticks
    out. Growing by a share of the box keeps the margin fair for near and far
    people alike. Instance masks are left as they are.

    >>> p = People(np.array([[10, 10, 20, 30]]), [1.0], ["face"])
    >>> grow_boxes(p, (100, 100), {"face": 0.5}).boxes.tolist()
    [[5.0, 0.0, 25.0, 40.0]]
    """
    if len(people) == 0:
        return people
    share = np.array([grow.get(k, 0.0) for k in people.kinds], np.float32)[:, None]
    wh = people.boxes[:, 2:] - people.boxes[:, :2]
    boxes = np.concatenate([people.boxes[:, :2] - wh * share, people.boxes[:, 2:] + wh * share], axis=1)
    h, w = shape
    return replace(people, boxes=np.clip(boxes, 0, [w, h, w, h]))


def anonymize(image: np.ndarray, method: str = "scramble", radius: int | None = None, **options) -> np.ndarray:
    """Hide every person in an HxWx3 uint8 RGB image, in one call.

    Loads the models on each call; use :class:`Anonymizer` for many images.

    >>> import numpy as np
    >>> out = anonymize(np.zeros((32, 32, 3), np.uint8), method="blur")
    >>> out.shape
    (32, 32, 3)
    """
    return Anonymizer(method, radius, **options).anonymize(image)
