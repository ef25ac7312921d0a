"""``erase``: remove people; fill where they stood from what surrounds them.

Photos: the masked area is filled from its surroundings by OpenCV inpainting
(Navier-Stokes; on the test photos it left a smoother fill than Telea's fast
marching method, whose streaks the audit's HOG detector once took for a
person: ``benchmarks/erase_photo.py``). Large areas are filled on a downscaled copy
of the window around the mask (at most :data:`WORK_PIXELS` pixels) and the
fill is scaled back up, so a full-frame person costs about as much as a small
one; the smooth fill also leaves no hard edge where it meets the photo. The
mask is grown by at least :data:`MIN_DILATE` pixels (the pipeline reads it,
see :attr:`fuzzypeople.pipeline.Settings.mask_dilate`) so that no rim of the
person's outline is left to be copied inwards.

Video (a static or slowly moving camera): :class:`Background` is the
per-video state the pipeline creates once (:func:`fuzzypeople.obfuscate.state`)
and calls on every frame in order. It keeps a ring of :data:`SAMPLES` frames
taken every :data:`STEP` frames, each with the pixels the mask did *not*
cover, and fills each masked pixel with the per-pixel median of the samples
where that pixel was seen; failing that, the last value ever seen there;
failing that (the pixel was covered since the first frame), inpainting.
Before the first frame, the pipeline primes the ring with :data:`SAMPLES`
frames spread over the whole clip (:meth:`Background.prime`), so people
standing in the opening frames are filled from what is behind them.
Where the background around a masked region no longer matches the frame
(the camera moved, the light changed) that region is inpainted instead, so a
stale background is never pasted in.

>>> import numpy as np
>>> img = np.full((40, 40, 3), 120, np.uint8); img[10:30, 15:25] = (250, 0, 0)  # a red "person"
>>> mask = np.zeros((40, 40), bool); mask[8:32, 13:27] = True
>>> out = apply(img, mask, None)
>>> int(np.abs(out[mask].astype(int) - 120).max()) <= 2                       # filled with the grey around it
True
"""

from __future__ import annotations

import cv2
import numpy as np

from ._common import mask_bbox

NAME = "erase"
HELP = "remove people: fill from the surroundings (photos) or the background seen in other frames (video)"

MIN_DILATE = 12  # pixels: the mask grows at least this much with erase (no rim of the outline left)
WORK_PIXELS = 160_000  # inpaint windows larger than this are filled on a downscaled copy
CONTEXT = 0.15  # the window around the mask: its bounding box grown by this share (and >= 16 px)
RADIUS = 5  # inpainting neighbourhood, pixels of the (possibly downscaled) window
SAMPLES = 15  # video: background samples kept (odd: a true median)
STEP = 4  # video: take a sample every STEP frames
MODEL_GROW = 4  # video: pixels this close to the mask never enter the background model
STALE = 24.0  # video: mean |frame - background| (8-bit levels) around a region above which it is inpainted


def _to8(image: np.ndarray) -> np.ndarray:
    return (image >> 8).astype(np.uint8) if image.dtype == np.uint16 else image


def _from8(fill: np.ndarray, dtype) -> np.ndarray:
    return fill.astype(np.uint16) * 257 if dtype == np.uint16 else fill


def _inpaint8(img8: np.ndarray, mask8: np.ndarray) -> np.ndarray:
    """cv2.inpaint for any channel count (it takes 1 or 3)."""
    if img8.ndim == 2 or img8.shape[2] in (1, 3):
        out = cv2.inpaint(img8, mask8, RADIUS, cv2.INPAINT_NS)
        return out.reshape(img8.shape)
    return np.dstack([cv2.inpaint(np.ascontiguousarray(img8[..., c]), mask8, RADIUS, cv2.INPAINT_NS)
                      for c in range(img8.shape[2])])  # a handful of channels


def inpaint(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` with its masked pixels filled from their surroundings (a new array).

    Any HxW[xC] uint8/uint16. Inpaints the window around the mask, at most
    :data:`WORK_PIXELS` pixels (downscaled when larger, the fill scaled back
    up); a fully masked image has no surroundings and becomes mid grey.
    """
    out = image.copy()
    if not mask.any():
        return out
    if mask.all():
        out[...] = 32896 if image.dtype == np.uint16 else 128
        return out
    _, _, w, h = cv2.boundingRect(mask.view(np.uint8))
    pad = max(16, int(CONTEXT * max(w, h)))
    ys, xs = mask_bbox(mask, pad)
    crop8 = np.ascontiguousarray(_to8(image[ys, xs]))
    m = mask[ys, xs]
    ch, cw = m.shape
    s = min(1.0, (WORK_PIXELS / (ch * cw)) ** 0.5)
    if s < 1.0:
        sw, sh = max(2, round(cw * s)), max(2, round(ch * s))
        small = cv2.resize(crop8, (sw, sh), interpolation=cv2.INTER_AREA).reshape(sh, sw, *crop8.shape[2:])
        # A small pixel touched by the mask at all is masked: no person pixel is ever a source.
        sm = cv2.resize(m.view(np.uint8) * 255, (sw, sh), interpolation=cv2.INTER_AREA) > 0
        sm = cv2.dilate(sm.view(np.uint8), np.ones((3, 3), np.uint8))
        if sm.all():
            fill = np.full_like(crop8, 128)
        else:
            fill = cv2.resize(_inpaint8(small, sm), (cw, ch), interpolation=cv2.INTER_LINEAR).reshape(crop8.shape)
    else:
        fill = _inpaint8(crop8, m.view(np.uint8))
    window = out[ys, xs]
    window[m] = _from8(fill, image.dtype)[m]
    return out


def apply(image: np.ndarray, mask: np.ndarray, params) -> np.ndarray:
    return inpaint(image, mask)


class Background:
    """The per-video state of ``erase``: a background model fed every frame in order.

    Call it like a method's ``apply``: ``state(image, mask, params)`` returns
    the frame with the masked pixels filled from the background (see the
    module docstring). Call it on *every* frame, also those with nothing to
    hide: they teach it the background. A change of frame size starts afresh.
    """

    def __init__(self, samples: int = SAMPLES, step: int = STEP):
        self.samples, self.step = int(samples), int(step)
        self.shape: tuple | None = None
        self.frames = 0
        # Statistics: masked pixels filled from the samples, from an older sighting, by inpainting.
        self.filled = {"median": 0, "last": 0, "inpaint": 0}

    def _reset(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        self.shape = image.shape
        self.buf = np.zeros((self.samples, h * w, image[0, 0].size), image.dtype)
        self.valid = np.zeros((self.samples, h * w), bool)
        self.last = np.zeros_like(image)
        self.seen = np.zeros((h, w), bool)
        self.k = 0

    def observe(self, image: np.ndarray, mask: np.ndarray) -> None:
        """Learn the background from the pixels of ``image`` that ``mask`` (grown a little) leaves uncovered."""
        self._learn(image, mask, sample=self.frames % self.step == 0)
        self.frames += 1

    def _learn(self, image: np.ndarray, mask: np.ndarray, sample: bool) -> None:
        """Remember the uncovered pixels of ``image`` as the last seen; with ``sample``, also as a ring sample."""
        if self.shape != image.shape:
            self._reset(image)
        free = ~_grow(mask, MODEL_GROW)
        cv2.copyTo(image, free.view(np.uint8), self.last)
        self.seen |= free
        if sample:
            self.buf[self.k] = image.reshape(self.buf.shape[1:])
            self.valid[self.k] = free.reshape(-1)
            self.k = (self.k + 1) % self.samples

    def prime(self, image: np.ndarray, mask: np.ndarray) -> None:
        """Take ``image`` (its pixels outside ``mask``) as one background sample, before the first frame.

        The pipeline primes a video's model with frames spread over the whole
        clip, so people standing in the first frames are filled from what is
        behind them (seen later), not smeared by inpainting. Primed samples
        leave the ring as the video's own samples arrive.
        """
        self._learn(image, mask, sample=True)

    def background(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The background at flat pixel indices ``idx``: values (M, C), from samples (M,), ever seen (M,).

        The median of the samples in which the pixel was uncovered, else the
        last value seen there; unknown where it was never seen.
        """
        vals = self.buf[:, idx]  # (K, M, C)
        valid = self.valid[:, idx]  # (K, M)
        n = valid.sum(axis=0)
        big = np.iinfo(self.buf.dtype).max + 1
        v = np.where(valid[..., None], vals.astype(np.int32), big)
        v.sort(axis=0)
        k = np.maximum(n - 1, 0) // 2
        med = np.take_along_axis(v, k[None, :, None], axis=0)[0]
        last = self.last.reshape(-1, med.shape[1])[idx]
        seen = self.seen.reshape(-1)[idx]
        values = np.where((n > 0)[:, None], med, last).astype(self.buf.dtype)
        return values, n > 0, seen

    def __call__(self, image: np.ndarray, mask: np.ndarray, params=None) -> np.ndarray:
        self.observe(image, mask)
        if not mask.any():
            return image
        h, w = mask.shape
        # Each region with the ring around it: where the background disagrees with the frame
        # around a region (camera moved, light changed), that region is inpainted instead.
        ring = _grow(mask, 6) & ~mask
        n, labels = cv2.connectedComponents(_grow(mask, 6).view(np.uint8), connectivity=8)
        ridx = np.flatnonzero(ring)
        rvals, rsampled, rseen = self.background(ridx)
        rknown = rsampled | rseen
        diff = np.abs(rvals.astype(np.float32) - image.reshape(-1, rvals.shape[1])[ridx]).mean(axis=1)
        if image.dtype == np.uint16:
            diff /= 257.0
        lab = labels.reshape(-1)[ridx]
        known = rknown.astype(np.float64)
        total = np.bincount(lab, weights=diff * known, minlength=n)
        count = np.bincount(lab, weights=known, minlength=n)
        stale = np.where(count > 0, total / np.maximum(count, 1), np.inf) > STALE
        idx = np.flatnonzero(mask)
        values, sampled, seen = self.background(idx)
        fresh = ~stale[labels.reshape(-1)[idx]]
        known_m = (sampled | seen) & fresh
        self.filled["median"] += int((sampled & fresh).sum())
        self.filled["last"] += int((~sampled & seen & fresh).sum())
        out = image.copy()
        flat = out.reshape(-1, values.shape[1])
        flat[idx[known_m]] = values[known_m]
        rest = np.zeros(h * w, bool)
        rest[idx[~known_m]] = True
        rest = rest.reshape(h, w)
        if rest.any():
            self.filled["inpaint"] += int(rest.sum())
            out = inpaint(out, rest)
        return out


def _grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    k = 2 * pixels + 1
    return cv2.dilate(mask.view(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))).astype(bool)


def state() -> Background:
    """A fresh per-stream state (:class:`Background`), for :func:`fuzzypeople.obfuscate.state`."""
    return Background()
