"""Every option of a run, in one frozen object passed down once.

:class:`Settings` holds what to hide and how (method and its parameters,
detectors, mask growth), what to keep in the files written (metadata), and
how videos are processed (detection cadence, tracking, encoder, time range).
The command line builds one from its options; :class:`fuzzypeople.Anonymizer`
builds one from its keyword arguments (or takes one with ``settings=``); the
pipeline functions read it and nothing else.

>>> s = Settings(method="pixelate", block=24)
>>> s.params.block, s.every, s.for_video().tile_scale, s.boxes, s.for_video().boxes
(24, 4, 1.0, False, True)
>>> Settings(radius=-1)
Traceback (most recent call last):
...
ValueError: radius, dilate and feather must be >= 0, block >= 1, strength >= 0
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..detect.stack import TARGETS, parse_targets
from ..obfuscate import Params, get, min_dilate
from ..track import DEFAULT_HOLD, DEFAULT_LOOKAHEAD, DEFAULT_SWEEP

DEFAULT_DILATE = 4  # pixels; chosen on coco-people, see benchmarks/detection.py
# Boxes grow by this share of their size on each side (chosen on coco-people) where
# boxes are painted (video, --boxes). Traced photos paint masks, which do not grow:
# there a face's head is inside its body's outline or box.
GROW = {"body": 0.05, "face": 0.25}
DEFAULT_EVERY = 4  # video: run the detector on every 4th frame; see benchmarks/video_recall.py
# Video analyses only every N-th frame, so it affords less tiling than photos: tiles
# at native size (see benchmarks/video_recall.py and video_speed.py).
DEFAULT_TILE_SCALE = 1.0
# Video: the face detector sees frames at half size, a quarter of the work. Faces it then
# misses are small, and small people are found by the body detectors: on vtest and Megamind
# the recall of benchmarks/video_recall.py --sweeps 3 was unchanged (0.964 / 0.997).
VIDEO_FACE_SCALE = 0.5
# Video: MoveNet (the second body detector) on every other analysed frame, NanoDet on all:
# about a tenth less CPU for the vtest command; benchmarks/video_recall.py --sweeps 3: vtest
# unchanged (moving people 0.984), Megamind 0.998 -> 0.996 (two boxes of 833). Segments are
# cut on multiples of this many analyses too, so MoveNet runs on the same frames as in one piece.
VIDEO_EXTRA_EVERY = 2
# Analyse frames shrunk to this max side (None = full size). Shrinking to 512 cost
# nothing with CenterNet but loses 2.5% of people with the tiled NanoDet stack
# (benchmarks/video_recall.py), so frames are analysed at full size.
DEFAULT_DETECT_SIZE: int | None = None
# --keep-faces: a face is the same person as a reference face under this dlib ResNet distance
# (dlib's own threshold is 0.6; stricter, since a false match would leave a stranger visible).
KEEP_DISTANCE = 0.5
CLOAK_MODES = ("low", "mid", "high")  # fuzzypeople.faceid.cloak.MODES (not imported here: it loads models' code)


def _regions(value, name: str) -> tuple[tuple[int, int, int, int], ...]:
    """``(x, y, w, h)``, several of them, or ``"x,y,w,h"`` -> a tuple of int 4-tuples, checked."""
    if value is None or value == ():
        return ()
    if isinstance(value, str) or (len(value) == 4 and all(isinstance(v, (int, float, np.integer)) for v in value)):
        value = [value]
    out = []
    for r in value:
        try:
            parts = tuple(int(v) for v in (r.split(",") if isinstance(r, str) else r))
        except (TypeError, ValueError):
            parts = ()
        if len(parts) != 4 or parts[0] < 0 or parts[1] < 0 or parts[2] <= 0 or parts[3] <= 0:
            raise ValueError(f"{name} must be x,y,w,h with x, y >= 0 and w, h > 0; got {r!r}")
        out.append(parts)
    return tuple(out)


@dataclass(frozen=True)
class Settings:
    """All options; every field has the default the command line uses.

    What to hide and how:
        method: ``scramble``, ``pixelate``, ``blur``, ``solid``, ``silhouette``,
            ``erase`` (remove: fill from the surroundings or, in video, the
            background seen in other frames) or ``none`` (detect only).
        radius, shape, block, strength, color, seed: the methods' parameters
            (see :class:`fuzzypeople.obfuscate.Params`); ``None`` (radius,
            block, strength) scales each with the size of each person hidden. For a video, ``seed=None``
            draws one random seed for the whole video.
        targets: ``"bodies,faces"`` (default), ``"bodies"`` or ``"faces"``.
        threshold: detector confidence threshold (None = each detector's own).
        dilate: grow the mask by this many pixels (recall first).
        feather: soften the edge over this many pixels *outside* the mask.
        fail_safe: if analysis fails, hide the whole frame instead of failing.
        body_detector, face_detector: detector choice: a body detector name
            or a tuple of names (default NanoDet + MoveNet) and a face
            detector name (see :class:`fuzzypeople.detect.stack.Stack`).
        boxes: hide whole body boxes instead of each body's traced outline
            (photos); :meth:`for_video` makes it True (tracked people are
            boxes between analysed frames).
        face_rule: hide a body region below every face found without a body.
        tile_scale: small people: also look in tiles of the image enlarged this
            much (0 = whole image only); None = the body detector's default
            (1.5), :meth:`for_video` makes it 1.0.
        cloak: ``method="cloak"``'s budget, ``"low"``, ``"mid"`` (default) or
            ``"high"`` (:data:`fuzzypeople.faceid.cloak.MODES`). The cloak
            leaves people visible: with it only faces are targeted (no body
            is hidden) and the face rule is off.
        cloak_kept: with ``keep_faces`` or ``keep``: the faces left visible
            (the kept people) are cloaked at ``cloak`` strength, after
            everyone else is hidden (photos only).
        tile_windows: look at the enlarged image in the fewest windows of up
            to 1280 px at its own resolution (one for an SD video frame)
            instead of overlapping 416 px tiles: about half the work for the
            same pixels; :meth:`for_video` makes it True. Photos keep the
            tiles: on the COCO dev set the windows hid 0.965 of the people
            >= 32 px instead of 0.972 (tiles cut big people the whole-image
            pass missed into partial boxes that still get hidden) for 0.127
            instead of 0.134 of the background (benchmarks/detection.py).
        face_scale: the face detector sees the picture at this scale; None =
            full size (1.0), :meth:`for_video` makes it ``VIDEO_FACE_SCALE`` (0.5).
        shared_arena: the model sessions draw their memory from one arena kept
            for the process (less CPU per frame, more memory held; see
            :func:`fuzzypeople.detect._runtime.session_arena`); :meth:`for_video`
            makes it True.
        int8: the body detectors' int8 models: NanoDet's (``tools/quantize_nanodet.py``)
            is about twice as fast, MoveNet's (``tools/quantize_movenet.py``)
            holds half the memory; on video they never saw they hid as many of
            the people as the float models (benchmarks/video_recall.py);
            :meth:`for_video` makes it True unless set. Photos keep the float
            model the detection benchmark measured.
        threads: inference threads per model session (None = all cores, or
            the FUZZYPEOPLE_THREADS variable); :mod:`fuzzypeople.batch` gives
            each parallel worker cores / workers. The outputs do not depend on it.

    Who is kept (see :mod:`fuzzypeople.keep`):
        keep_faces: a folder of photos of the people to keep: a person whose
            face matches one of them (dlib ResNet distance < ``keep_distance``)
            is left untouched, whole body, everyone else hidden.
        keep_distance: the match threshold (at most dlib's 0.6; default 0.5).
        keep: also keep the ``keep`` most prominent people (largest, most
            central); ``--keep-main`` is ``keep=1``.
        region / exclude_region: ``(x, y, w, h)`` rectangles (several
            allowed): hide only inside ``region`` / never inside
            ``exclude_region``, in pixels of the upright picture.

    Files written:
        keep_metadata / keep_gps: keep EXIF/XMP or container tags (location
            only with both).

    Videos:
        audio: keep the audio streams (each copied if the container allows, else AAC/Opus).
        crf / codec: video quality and encoder (see :func:`fuzzypeople.io.video.choose_encoding`).
        start / end: process only this time range (seconds or ``[HH:]MM:SS``).
        every / hold / lookahead: see :class:`fuzzypeople.track.TemporalMasker`.
        detect_size: analyse frames shrunk to this max side (None = full size).
        tile_sweep: run every small-people tile on every ``tile_sweep``-th
            analysed frame, elsewhere only where the picture changed or
            someone was found (1 = every tile always; see
            :class:`fuzzypeople.track.MotionTiles`).
        extra_every: the body detectors after the first (MoveNet in the
            default stack) run on every ``extra_every``-th analysed frame
            only; the tracks cover the analyses in between, and a video's last
            frame gets every detector. None =
            every analysis (photos); :meth:`for_video` makes it
            ``VIDEO_EXTRA_EVERY`` (2).
        segment_seconds: cut a video into segments of about this many seconds
            (at keyframes where they fall near), anonymise them in parallel,
            each with an overlap before and after it, and join them into one
            file (see :mod:`fuzzypeople.pipeline.segments`). None = one piece.
        workers: processes for the segments (None = one per core); the
            inference threads are split between them.
    """

    method: str = "scramble"
    radius: int | None = None
    shape: str = "square"
    block: int | None = None
    strength: float | None = None
    color: tuple[int, int, int] = (0, 0, 0)
    seed: int | None = None
    targets: tuple[str, ...] | str = TARGETS
    threshold: float | None = None
    dilate: int = DEFAULT_DILATE
    feather: int = 0
    fail_safe: bool = False
    body_detector: str | tuple[str, ...] | None = None
    face_detector: str | None = None
    boxes: bool = False
    face_rule: bool = True
    tile_scale: float | None = None
    tile_windows: bool = False
    face_scale: float | None = None
    shared_arena: bool = False
    int8: bool | None = None
    keep_faces: str | Path | None = None
    keep_distance: float = KEEP_DISTANCE
    keep: int = 0
    region: tuple = ()
    exclude_region: tuple = ()
    keep_metadata: bool = False
    keep_gps: bool = False
    audio: bool = True
    crf: int | None = None
    codec: str | None = None
    start: float | str | None = None
    end: float | str | None = None
    every: int = DEFAULT_EVERY
    detect_size: int | None = DEFAULT_DETECT_SIZE
    hold: int = DEFAULT_HOLD
    lookahead: int = DEFAULT_LOOKAHEAD
    tile_sweep: int = DEFAULT_SWEEP
    extra_every: int | None = None
    cloak: str = "mid"
    cloak_kept: bool = False
    threads: int | None = None
    segment_seconds: float | None = None
    workers: int | None = None

    def __post_init__(self):
        get(self.method)  # fail early on an unknown method
        if self.cloak not in CLOAK_MODES:
            raise ValueError(f"cloak must be one of {', '.join(CLOAK_MODES)}, got {self.cloak!r}")
        if self.cloak_kept and not (self.keep_faces is not None or self.keep > 0):
            raise ValueError("cloak_kept needs keep_faces (or keep): it cloaks the people kept")
        if self.method == "cloak":  # faces stay visible, slightly changed; bodies are not touched
            object.__setattr__(self, "targets", ("faces",))
            object.__setattr__(self, "face_rule", False)
        r = self.radius
        if (r is not None and r < 0) or (self.block is not None and self.block < 1) or (
                self.strength is not None and self.strength < 0) or self.dilate < 0 or self.feather < 0:
            raise ValueError("radius, dilate and feather must be >= 0, block >= 1, strength >= 0")
        if self.face_scale is not None and not 0 < self.face_scale <= 1:
            raise ValueError(f"face_scale must be in (0, 1], got {self.face_scale}")
        if self.tile_sweep < 1:
            raise ValueError("tile_sweep must be >= 1")
        if self.extra_every is not None and int(self.extra_every) < 1:
            raise ValueError(f"extra_every must be >= 1, got {self.extra_every}")
        if self.threads is not None and int(self.threads) < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if self.segment_seconds is not None and not self.segment_seconds > 0:
            raise ValueError(f"segment_seconds must be > 0, got {self.segment_seconds}")
        if self.workers is not None and int(self.workers) < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        color = self.color
        if len(color) != 3 or not all(0 <= int(c) <= 255 for c in color):
            raise ValueError(f"color must be three values 0-255, got {color!r}")
        object.__setattr__(self, "color", tuple(int(c) for c in color))
        object.__setattr__(self, "targets", parse_targets(self.targets))
        object.__setattr__(self, "region", _regions(self.region, "region"))
        object.__setattr__(self, "exclude_region", _regions(self.exclude_region, "exclude_region"))
        if not 0 < self.keep_distance <= 0.6:
            raise ValueError(f"keep_distance must be in (0, 0.6] (dlib's threshold is 0.6), got {self.keep_distance}")
        if int(self.keep) < 0:
            raise ValueError(f"keep must be >= 0, got {self.keep}")
        if self.keep_faces is not None and "faces" not in self.targets:
            raise ValueError("keep_faces needs faces among the targets (--targets bodies,faces)")

    @property
    def keeps(self) -> bool:
        """Is anyone to be kept (``keep_faces`` or ``keep``)?"""
        return self.keep_faces is not None or self.keep > 0

    @property
    def mask_dilate(self) -> int:
        """Pixels the mask grows: ``dilate``, or more where the method needs it (``erase``)."""
        return max(self.dilate, min_dilate(self.method))

    @property
    def params(self) -> Params:
        """The obfuscation method's parameters."""
        return Params(radius=self.radius, shape=self.shape, block=self.block, strength=self.strength,
                      color=self.color, seed=self.seed, cloak=self.cloak)

    def detector_options(self) -> dict:
        """Keyword arguments for :class:`fuzzypeople.detect.stack.Stack`."""
        kw: dict = dict(targets=self.targets, threshold=self.threshold, outline=not self.boxes,
                        face_rule=self.face_rule, tile_scale=self.tile_scale, tile_windows=self.tile_windows,
                        threads=self.threads, face_scale=self.face_scale or 1.0, shared_arena=self.shared_arena,
                        int8=bool(self.int8), extra_every=self.extra_every or 1)
        if self.body_detector:
            kw["body"] = self.body_detector
        if self.face_detector:
            kw["face"] = self.face_detector
        return kw

    def for_video(self) -> Settings:
        """These settings for a video: box masks, windows, a shared arena, and the video
        ``tile_scale``, ``face_scale``, ``int8`` and ``extra_every`` when not set."""
        if self.method == "cloak" or self.cloak_kept:
            raise ValueError("method cloak is for photos (it takes seconds per face); videos are not cloaked")
        tile_scale = DEFAULT_TILE_SCALE if self.tile_scale is None else self.tile_scale
        face_scale = VIDEO_FACE_SCALE if self.face_scale is None else self.face_scale
        return replace(self, tile_scale=tile_scale, boxes=True, tile_windows=True, face_scale=face_scale,
                       shared_arena=True, int8=True if self.int8 is None else self.int8,
                       extra_every=VIDEO_EXTRA_EVERY if self.extra_every is None else self.extra_every)

    def replace(self, **changes) -> Settings:
        """A copy with some fields changed (checked again)."""
        return replace(self, **changes) if changes else self
