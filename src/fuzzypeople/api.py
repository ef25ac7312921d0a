"""The Python API that the CLI, the web app and batch jobs all call.

:class:`Anonymizer` loads the models once and holds the three stages
(:meth:`~Anonymizer.detect`, :meth:`~Anonymizer.mask`,
:meth:`~Anonymizer.hide`); :mod:`fuzzypeople.pipeline` runs them in order on
arrays, photo files and videos.

>>> import numpy as np
>>> from fuzzypeople import Anonymizer
>>> anon = Anonymizer(method="solid", targets="faces")
>>> blank = np.zeros((64, 64, 3), np.uint8)
>>> bool((anon.anonymize(blank) == blank).all())   # nobody there: unchanged
True
>>> anon.settings.method, Anonymizer(settings=anon.settings).settings == anon.settings
('solid', True)
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import masks as masks_
from . import pipeline
from .detect import check as check_detector
from .detect.stack import Stack
from .obfuscate import Params, obfuscate
from .obfuscate import state as method_state
from .people import People
from .pipeline import GROW, Result, Settings  # noqa: F401  (Result re-exported)
from .pipeline.settings import DEFAULT_DILATE  # noqa: F401  (re-exported)
from .track import AnalysisError


class Anonymizer:
    """Loads the models once, when first needed; hides people in any number of images, photos or videos.

    Takes the fields of :class:`fuzzypeople.pipeline.Settings` as keyword
    arguments (``method`` and ``radius`` also by position), or a whole
    ``settings=Settings(...)``:

        method: how to hide (``scramble``, ``pixelate``, ``blur``, ``solid``,
            ``silhouette``, ``erase``, ``none``).
        keep_faces, keep, region, exclude_region: who and where not to hide
            (see :class:`~fuzzypeople.pipeline.Settings` and :mod:`fuzzypeople.keep`).
        radius, shape, block, strength, color, seed: the methods' settings
            (see :class:`fuzzypeople.obfuscate.Params`); ``radius=None``
            scales the scramble with the people's size (see
            :func:`fuzzypeople.obfuscate.scramble.auto_radius`).
        targets: ``"bodies,faces"`` (default), ``"bodies"`` or ``"faces"``.
        threshold: detector confidence threshold (None = each detector's own).
        dilate: grow the mask by this many pixels (recall first).
        feather: soften the edge over this many pixels *outside* the mask.
        fail_safe: if analysis fails, hide the whole frame instead of raising.
        boxes: hide whole body boxes instead of each body's traced outline.
        body_detector, face_detector, face_rule, tile_scale: the detector
            stack (see :class:`fuzzypeople.detect.stack.Stack`).
        ...and the file and video options (``keep_metadata``, ``every``,
        ``crf``...) that :meth:`anonymize_file` and :meth:`anonymize_video` use.

    >>> Anonymizer("pixelate", block=24).params.block
    24
    """

    def __init__(self, method: str = "scramble", radius: int | None = None, *, settings: Settings | None = None,
                 **options):
        if settings is None:
            settings = Settings(method=method, radius=radius, **options)
        elif options or method != "scramble" or radius is not None:
            raise TypeError("give Anonymizer either settings=... or keyword options, not both")
        self.settings = settings
        self.grow = dict(GROW)
        bodies = settings.body_detector or ()
        for name in ((bodies,) if isinstance(bodies, str) else tuple(bodies)) + (settings.face_detector or "",):
            if name:
                check_detector(name)  # a wrong name fails here, though the models load when first needed
        self._detector = None  # the detector property: a Stack built from the settings when first needed
        self._built = None  # ... that Stack (anything else in _detector was put in by the caller)
        # Shared with the video twins of this Anonymizer (_video_stages, a shallow copy):
        # the --keep-faces reference faces and the last video detector stack.
        self._shared: dict = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Anonymizer:
        """An Anonymizer for these settings (same as ``Anonymizer(settings=settings)``)."""
        return cls(settings=settings)

    # The settings the stages read; assigning one (anon.fail_safe = True) replaces the settings.
    method = property(lambda self: self.settings.method, lambda self, v: self._change(method=v))
    dilate = property(lambda self: self.settings.dilate, lambda self, v: self._change(dilate=v))
    feather = property(lambda self: self.settings.feather, lambda self, v: self._change(feather=v))
    fail_safe = property(lambda self: self.settings.fail_safe, lambda self, v: self._change(fail_safe=v))

    @property
    def params(self) -> Params:
        """The method's parameters (from the settings)."""
        return self.settings.params

    def _change(self, **changes) -> None:
        self.settings = replace(self.settings, **changes)

    @property
    def detector(self):
        """Finds the people: ``rgb -> People``.

        A :class:`~fuzzypeople.detect.stack.Stack` built from the settings
        when first needed (the models load then), or any callable assigned
        to it (a stand-in in tests, another detector), which is then used
        as it is, for videos too.
        """
        if self._detector is None:
            self._detector = self._built = Stack(**self.settings.detector_options())
        return self._detector

    @detector.setter
    def detector(self, value) -> None:
        self._detector = value

    # -- the three stages --------------------------------------------------------
    def detect(self, rgb: np.ndarray) -> People:
        """Find people in an HxWx3 uint8 RGB image."""
        return self.detector(rgb)

    def mask(self, people: People, shape: tuple[int, int]) -> np.ndarray:
        """The boolean HxW mask of pixels to hide (within ``region``, outside ``exclude_region``)."""
        mask = masks_.build_mask(grow_boxes(people, shape, self.grow), shape, self.settings.mask_dilate)
        s = self.settings
        if s.region:
            mask &= masks_.rectangles(s.region, shape, "--region")
        if s.exclude_region:
            mask &= ~masks_.rectangles(s.exclude_region, shape, "--exclude-region")
        return mask

    def hide(self, pixels: np.ndarray, mask: np.ndarray, params: Params | None = None, state=None) -> np.ndarray:
        """Obfuscate the masked pixels of ``pixels`` (any HxW[xC] uint8/uint16).

        ``state``: the method's per-stream state (:meth:`method_state`), for the frames of one video.
        """
        alpha = masks_.feather(mask, self.feather) if self.feather else None
        params = params or self.params
        out = obfuscate(pixels, mask, self.method, params, alpha, state=state)
        if self.settings.cloak_kept:  # the faces left visible (the people kept) are cloaked
            out = obfuscate(out, ~mask, "cloak", params)
        return out

    def method_state(self):
        """A fresh per-stream state for the method (``erase``: a background model), or None."""
        return method_state(self.method)

    def keeper(self):
        """A fresh :class:`fuzzypeople.keep.Keeper` for one photo or video, or None if nobody is kept.

        The ``keep_faces`` reference photos are read (and their faces
        embedded) on the first call; a bad folder raises
        :class:`fuzzypeople.FuzzyError`.
        """
        from .keep import Keeper, references

        s = self.settings
        if not s.keeps:
            return None
        if s.keep_faces is not None and "references" not in self._shared:
            self._shared["references"] = references(s.keep_faces, self.detect, s.keep_distance)
        person = "body" if "bodies" in s.targets else "face"
        return Keeper(self._shared["references"] if s.keep_faces is not None else None, s.keep, person, self.grow)

    def analyse(self, rgb: np.ndarray) -> tuple[People, np.ndarray]:
        """Detect and build the mask (without the people kept); fail closed (raise, or hide all with ``fail_safe``)."""
        return pipeline.analyse(self, rgb, self.fail_safe, self.keeper())

    # -- arrays, photos, videos -----------------------------------------------------
    def anonymize(self, image: np.ndarray) -> np.ndarray:
        """Hide every person in an HxWx3 uint8 RGB image; returns a new image."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"anonymize takes an HxWx3 uint8 RGB array, got {image.shape} {image.dtype}")
        masker = pipeline.StillMasker(self, self.fail_safe, self.keeper())
        try:
            [(_, out, _)] = pipeline.anonymize_frames(self, [(None, image, image, 0)], masker)
        except AnalysisError as exc:
            raise exc.cause  # the detector's own error, as it was raised
        return out

    def anonymize_file(
        self,
        src: str | Path,
        dst: str | Path | None = None,
        *,
        keep_metadata: bool | None = None,
        keep_gps: bool | None = None,
        save_mask: str | Path | None = None,
    ) -> Result:
        """Anonymise one photo file into ``dst`` (default ``NAME_anonymized.EXT`` beside it).

        Metadata is stripped unless ``keep_metadata`` (GPS only with
        ``keep_gps`` too; default: the settings'). ``save_mask`` also writes
        the mask as a PNG. Raises :class:`fuzzypeople.FuzzyError` (one line,
        nothing written) if the photo cannot be read or analysed.

        >>> import tempfile, numpy as np
        >>> from pathlib import Path
        >>> from PIL import Image
        >>> folder = Path(tempfile.mkdtemp())
        >>> Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(folder / "empty.png")
        >>> res = Anonymizer("solid", targets="faces").anonymize_file(folder / "empty.png")
        >>> res.output.name, res.people, res.hidden_share
        ('empty_anonymized.png', 0, 0.0)
        """
        changes = {k: v for k, v in dict(keep_metadata=keep_metadata, keep_gps=keep_gps).items() if v is not None}
        return pipeline.anonymize_photo(self, src, dst, self.settings.replace(**changes), save_mask=save_mask)

    def anonymize_video(self, src: str | Path, dst: str | Path | None = None, *, quiet: bool = True,
                        save_mask: str | Path | None = None, **changes) -> Result:
        """Anonymise one video file into ``dst`` (default ``NAME_anonymized.EXT`` beside it).

        Frame count, frame rate, timestamps, rotation and audio are kept,
        metadata stripped (see :mod:`fuzzypeople.io.video`). Settings fields
        given as keywords (``every=2``, ``start="0:10"``, ``crf=23``...)
        apply to this video only; ``quiet=False`` shows a progress bar;
        ``save_mask="NAME.mkv"`` also writes every frame's mask as a lossless
        greyscale video.

        Videos are anonymised with the command line's video settings
        (:meth:`Settings.for_video <fuzzypeople.pipeline.Settings.for_video>`:
        box masks, the int8 body model, detection windows, faces at half
        size), whatever the Anonymizer was made with; its own detector
        stays for photos. A detector assigned to :attr:`detector` is used as
        it is.

        >>> import tempfile, av, numpy as np
        >>> from pathlib import Path
        >>> src = Path(tempfile.mkdtemp()) / "grey.mkv"
        >>> with av.open(str(src), "w") as c:
        ...     s = c.add_stream("ffv1", rate=10); s.width, s.height, s.pix_fmt = 64, 48, "bgr0"
        ...     for i in range(5):
        ...         f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), "rgb24"); f.pts = i
        ...         c.mux(s.encode(f))
        ...     c.mux(s.encode(None))
        >>> res = Anonymizer("blur", targets="faces").anonymize_video(src, codec="ffv1")
        >>> res.output.name, res.people
        ('grey_anonymized.mkv', 0)
        """
        settings = self.settings.replace(**changes)
        stages = self
        if not self._assigned_detector():
            settings = settings.for_video()
            stages = self._video_stages(settings)
        return pipeline.anonymize_video(stages, src, dst, settings, quiet=quiet, save_mask=save_mask)

    def _assigned_detector(self) -> bool:
        """Was :attr:`detector` given by the caller (not built from the settings)?"""
        return self._detector is not None and self._detector is not self._built

    def _video_stages(self, settings: Settings) -> Anonymizer:
        """The stages that run a video with ``settings``: this Anonymizer when its detector
        fits them, else a shallow copy of it with a detector stack for them, built for the
        first such video and kept for the next.
        """
        options = settings.detector_options()
        if options == self.settings.detector_options():
            return self
        kept = self._shared.get("video")
        if kept is None or kept[0] != options:
            kept = self._shared["video"] = (options, Stack(**options))
        twin = copy.copy(self)  # shares grow, _shared and anything assigned (hide, ...)
        twin.settings = settings
        twin._detector = twin._built = kept[1]
        return twin


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
