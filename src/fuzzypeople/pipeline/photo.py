"""One photo file: read -> anonymise (:func:`~fuzzypeople.pipeline.frames.anonymize_frames`) -> write.

Every frame of an animated or multi-page photo is anonymised (each on its
own). The detectors see an 8-bit RGB copy made from the pixels' real value
range (:attr:`fuzzypeople.io.image.ImageFile.rgb`); a copy that comes out
near-uniform while the picture is not is refused. Photos larger than
:data:`ANALYSIS_MAX_SIDE` are analysed at that size and the mask is scaled
back up (grown by one analysis pixel so rounding never uncovers an edge);
a single such photo over :data:`BAND_ABOVE` pixels is let go while its
shrunk copy is analysed and decoded again for hiding (:class:`Redecode`),
so the detectors' working memory never comes on top of the full-size pixels.
Float pixels are hidden on a 0-255 scale and put back at their own scale, so
colours (``solid``, ``silhouette``) mean the same for every depth.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from ..errors import FuzzyError
from ..io.image import (DEFAULT_OUTPUT, check_analysis_copy, encode_image, output_format, read_image, write_image,
                        write_large)
from ..io.paths import check_distinct, default_output
from ..masks import dilate
from ..track import AnalysisError
from .frames import StillMasker, anonymize_frames
from .result import Result
from .settings import Settings

# Photos with a longer side are analysed shrunk to it (the detectors look at
# 416-pixel windows and tiles anyway; a 144 MP photo would otherwise take
# thousands of tiles and minutes). 4096 keeps every phone photo up to 16 MP
# (4032 px) at full size.
ANALYSIS_MAX_SIDE = 4096
# Larger frames are hidden in bands of about BAND_PIXELS, in place: memory
# stays near one copy of the photo whatever the method (a whole-frame hide
# holds the photo two or three times over, plus a 4-byte-per-pixel scramble field).
BAND_ABOVE = 24_000_000
BAND_PIXELS = 4_000_000


class BandedStages:
    """``stages`` whose ``hide`` works band by band, in place, on frames over :data:`BAND_ABOVE` pixels.

    Each band is hidden with a margin of rows around it (the scramble radius,
    the blur's reach, the feather, whole pixelate blocks), and only over the
    columns its mask reaches plus the same margin, so the methods see the
    neighbourhood they need; block and band edges line up, so pixelate
    blocks are the same as in one pass. Automatic strengths (scramble radius,
    pixelate block, blur sigma) are chosen once from the whole mask: the
    strongest any of its regions needs.
    """

    def __init__(self, stages):
        self.stages = stages

    def detect(self, rgb):
        return self.stages.detect(rgb)

    def mask(self, people, shape):
        return self.stages.mask(people, shape)

    def hide(self, pixels: np.ndarray, mask: np.ndarray, params=None) -> np.ndarray:
        params = params or self.stages.params
        h, w = mask.shape
        cloak = getattr(getattr(self.stages, "settings", None), "cloak_kept", False)
        if h * w <= BAND_ABOVE or (cloak and not mask.any()):
            return self.stages.hide(_loaded(pixels), mask, params)
        if not mask.any():  # nobody to hide: the pixels as they are, not a full-size copy of them
            return _loaded(pixels)
        from dataclasses import replace

        from ..obfuscate import weakest_safe
        from ..obfuscate.blur import auto_sigma
        from ..obfuscate.pixelate import auto_block
        from ..obfuscate.scramble import auto_radius

        # Automatic strengths are per region; bands cut regions, so each takes
        # the strongest value any region of the whole mask needs.
        # (only the method's own strength: each is a pass over the whole mask)
        method = self.stages.method
        if method == "scramble" and params.radius:  # a given radius: warned about once, as a one-pass hide would
            from ..obfuscate._common import warn_if_weak
            from ..obfuscate.scramble import radius_for_side

            warn_if_weak("radius", params.radius, mask, lambda side: radius_for_side(side, params.share))
        if method == "scramble" and params.radius is None:
            params = replace(params, radius=auto_radius(mask))
        if method == "pixelate" and params.block is None:
            params = replace(params, block=int(weakest_safe(mask, auto_block)))
        if method == "blur" and params.strength is None:
            params = replace(params, strength=float(weakest_safe(mask, auto_sigma)))
        # The photo let go during analysis is decoded again only now, after the passes over the whole mask.
        pixels = _loaded(pixels)
        block = max(1, int(params.block or 1)) if method == "pixelate" else 1
        sigma = float(params.strength or 0) if method == "blur" else 0.0
        margin = max(int(params.radius or 0), int(3 * sigma) + 2, int(self.stages.feather) + 1, block)
        margin = -(-margin // block) * block
        band = max(block, -(-max(1, BAND_PIXELS // w) // block) * block)
        rows = mask.any(axis=1)
        # Scramble (no feather, no cloak) is done in place over each band's masked window: handing
        # the method the band with its margin (the radius, up to 2048 rows above and below) would
        # make it copy all of that two or three times over (+450 MiB on a 144 MP photo).
        in_place = method == "scramble" and not self.stages.feather and params.radius and not cloak
        if in_place:
            from ..obfuscate.scramble import scramble_in_place, seed_of

            seed = seed_of(params)
        for y0 in range(0, h, band):
            y1 = min(h, y0 + band)
            if not rows[y0:y1].any():
                continue
            a, b = max(0, y0 - margin), min(h, y1 + margin)
            # ... and only the columns the band's mask reaches, with the same margin (block-aligned)
            cols = np.flatnonzero(mask[y0:y1].any(axis=0))
            left = max(0, int(cols[0]) - margin) // block * block
            right = min(w, -(-(int(cols[-1]) + 1 + margin) // block) * block)
            if in_place:  # the band's own rows of the mask (a view): the margin is only read
                scramble_in_place(pixels[a:b, left:right], mask[y0:y1, left:right], params.radius, params.shape,
                                  seed + y0, top=y0 - a)
                continue
            band_mask = mask[a:b, left:right].copy()  # the margin is only read, never hidden here
            band_mask[: y0 - a] = False
            band_mask[y1 - a :] = False
            hidden = self.stages.hide(pixels[a:b, left:right], band_mask, params)
            pixels[y0:y1, left:right] = hidden[y0 - a : y1 - a]
        return pixels


class Redecode:
    """Stands in for a huge photo's pixels while a shrunk copy is analysed; :meth:`load` decodes the file again.

    The detectors' working memory (CenterFace alone takes ~360 MiB) would
    otherwise come on top of the full-size pixels (412 MiB for 144 MP), idle
    until hiding starts. Decoding twice costs a few seconds. The file must
    be the one analysed: the same size, modification time and inode as
    before the first decode, and the same pixel shape, else
    :class:`FuzzyError` and nothing is written (fail closed).
    """

    def __init__(self, src: Path, stamp: tuple, shape: tuple[int, ...]):
        self.src, self.stamp, self.shape = src, stamp, shape

    def load(self) -> np.ndarray:
        img = read_image(self.src)
        if file_stamp(self.src) != self.stamp or img.pixels.shape != self.shape or img.pixels.dtype != np.uint8:
            raise FuzzyError(self.src, "the file changed while it was being anonymised; nothing written")
        return img.pixels


def _loaded(pixels) -> np.ndarray:
    """``pixels``, or a :class:`Redecode`'s pixels decoded again."""
    return pixels.load() if isinstance(pixels, Redecode) else pixels


def file_stamp(path: Path) -> tuple:
    """What tells a file changed: inode, size and modification time (ns)."""
    st = Path(path).stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


class ScaledMasker:
    """A masker analysing a shrunk copy: masks come back at full size, grown by one analysis pixel."""

    def __init__(self, masker, shape: tuple[int, int]):
        self.masker, self.shape = masker, shape

    @property
    def people(self) -> int:
        return self.masker.people

    def _up(self, ready):
        h, w = self.shape
        out = []
        for item, mask in ready:
            big = cv2.resize(dilate(mask, 1).view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
            out.append((item, big.view(bool)))
        return out

    def push(self, item, rgb):
        return self._up(self.masker.push(item, rgb))

    def flush(self):
        return self._up(self.masker.flush())


def analysis_size(h: int, w: int, max_side: int | None = None) -> tuple[int, int] | None:
    """``(w, h)`` to analyse a photo at, or None to analyse it at full size.

    >>> analysis_size(10000, 14400), analysis_size(3024, 4032)
    ((4096, 2844), None)
    """
    max_side = max_side or ANALYSIS_MAX_SIDE
    if max(h, w) <= max_side:
        return None
    s = max_side / max(h, w)
    return max(1, round(w * s)), max(1, round(h * s))


def anonymize_photo(stages, src: str | Path, dst: str | Path | None = None, settings: Settings | None = None, *,
                    save_mask: str | Path | None = None) -> Result:
    """Anonymise one photo file into ``dst`` (default ``NAME_anonymized.EXT``; HEIC -> JPEG).

    ``stages`` is a :class:`fuzzypeople.Anonymizer`; ``settings`` (default: its
    own) give the method and the metadata to keep. With ``method="none"``
    nothing is written but the mask (``save_mask``, of the first frame).
    Raises :class:`FuzzyError` (one line, nothing written) when the photo
    cannot be read or analysed, or ``dst`` names no photo format (or one
    holding a single frame for a multi-frame input).
    """
    settings = settings or stages.settings
    t0 = time.perf_counter()
    src = Path(src)
    write = settings.method != "none"
    if dst is None:
        dst = default_output(src, DEFAULT_OUTPUT.get(_format_by_name(src)))
    dst = Path(dst)
    if write:
        check_distinct(src, dst)
        output_format(dst)  # refuse out.mp4 / out.gif-for-a-photo names before decoding anything
    if save_mask is not None:
        check_distinct(src, save_mask)
    stamp = file_stamp(src) if src.is_file() else None
    img = read_image(src)
    fmt = output_format(dst, img) if write else img.format
    frames = img.frames
    h, w = img.pixels.shape[:2]
    small = analysis_size(h, w)
    keeper = stages.keeper() if settings.keeps else None
    masker = StillMasker(stages, settings.fail_safe, keeper)
    runner = ScaledMasker(masker, (h, w)) if small else masker
    big = h * w > BAND_ABOVE and img.pixels.dtype == np.uint8
    worker = BandedStages(stages) if big else stages  # hides in place: the pixels are ours alone
    redecode = None
    if write and small and big and not img.more and stamp is not None:
        # A huge single photo: keep only its analysis copy while the detectors run (Redecode).
        rgb = _rgb(img, img.pixels)
        check_analysis_copy(src, img.pixels, rgb)
        first = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
        redecode = Redecode(src, stamp, img.pixels.shape)
        del rgb
        img.pixels, frames = None, None

    def items():
        if redecode is not None:
            yield 0, redecode, first, 0
            return
        for i, (pixels, _) in enumerate(frames):
            rgb = _rgb(img, pixels)
            check_analysis_copy(src, pixels, rgb)
            if small:
                rgb = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
            k = _hide_scale(pixels, img.white)
            yield i, (pixels if k is None else pixels * np.float32(k)), rgb, 0

    hidden_frames, first_mask, shares = [], None, []
    try:
        for i, hidden, mask in anonymize_frames(worker, items(), runner, params=settings.params, hide=write):
            if redecode is not None:
                img.pixels = hidden
            pixels = frames[i][0] if redecode is None else hidden
            k = _hide_scale(pixels, img.white)
            if write and k is not None:  # back to the file's scale; untouched pixels exactly as they were
                changed = (hidden != pixels * np.float32(k)).any(axis=2, keepdims=True)
                back = hidden / np.float32(k)
                if pixels.dtype.kind != "f":
                    back = np.clip(np.rint(back), 0, np.iinfo(pixels.dtype).max)
                hidden = np.where(changed, back.astype(pixels.dtype), pixels)
            hidden_frames.append(hidden)
            shares.append(float(mask.mean()))
            if first_mask is None and save_mask is not None:
                first_mask = mask
            del mask
    except AnalysisError as exc:
        cause = exc.cause
        raise FuzzyError(src, f"analysis failed ({type(cause).__name__}: {cause}); nothing written") from None
    if write and not write_large(dst, img, hidden_frames[0], settings.keep_metadata, fmt):
        data = encode_image(img, hidden_frames[0], settings.keep_metadata, settings.keep_gps, fmt,
                            more=hidden_frames[1:])
        write_image(dst, data)
    if save_mask is not None:
        from ..masks import save_mask as write_mask

        write_mask(first_mask, save_mask)
    kept, hid = keeper.counts() if keeper is not None else (None, None)
    return Result(src, dst if write else None, masker.people, float(np.mean(shares)),
                  time.perf_counter() - t0, Path(save_mask) if save_mask else None, kept, hid)


def _rgb(img, pixels: np.ndarray) -> np.ndarray:
    from ..io.image import to_rgb8

    return to_rgb8(pixels, img.white)


def _hide_scale(pixels: np.ndarray, white: float) -> float | None:
    """The factor to hide ``pixels`` on a float 0-255 scale, or None to hide them as they are.

    Floats (0-1...) and 16-bit pixels whose data is not full 16-bit (12-bit,
    8-bit values in 16 bits) are hidden on a 0-255 scale, so a fill colour
    is the same colour at every depth.
    """
    native = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(pixels.dtype)
    if native == white or (pixels.dtype.kind == "f" and white == 255.0):
        return None
    return 255.0 / white


def _format_by_name(src: Path) -> str:
    from ..io.image import format_for

    return format_for(src, "")
