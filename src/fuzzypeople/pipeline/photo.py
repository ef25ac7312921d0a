"""One photo file: read -> anonymise (:func:`~fuzzypeople.pipeline.frames.anonymize_frames`) -> write."""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import FuzzyError
from ..io.image import encode_image, format_for, read_image, write_image
from ..io.paths import check_distinct, default_output
from ..track import AnalysisError
from .frames import StillMasker, anonymize_frames
from .result import Result
from .settings import Settings


def anonymize_photo(stages, src: str | Path, dst: str | Path | None = None, settings: Settings | None = None, *,
                    save_mask: str | Path | None = None) -> Result:
    """Anonymise one photo file into ``dst`` (default ``NAME_anonymized.EXT``).

    ``stages`` is a :class:`fuzzypeople.Anonymizer`; ``settings`` (default: its
    own) give the method and the metadata to keep. With ``method="none"``
    nothing is written but the mask (``save_mask``). Raises
    :class:`FuzzyError` (one line, nothing written) when the photo cannot be
    read or analysed.
    """
    settings = settings or stages.settings
    t0 = time.perf_counter()
    src = Path(src)
    write = settings.method != "none"
    dst = Path(dst) if dst is not None else default_output(src)
    if write:
        check_distinct(src, dst)
    if save_mask is not None:
        check_distinct(src, save_mask)
    img = read_image(src)
    keeper = stages.keeper() if settings.keeps else None
    masker = StillMasker(stages, settings.fail_safe, keeper)
    try:
        [(_, hidden, mask)] = anonymize_frames(stages, [(img, img.pixels, img.rgb, 0)], masker,
                                               params=settings.params, hide=write)
    except AnalysisError as exc:
        cause = exc.cause
        raise FuzzyError(src, f"analysis failed ({type(cause).__name__}: {cause}); nothing written") from None
    if write:
        fmt = format_for(dst, img.format)
        write_image(dst, encode_image(img, hidden, settings.keep_metadata, settings.keep_gps, fmt))
    if save_mask is not None:
        from ..masks import save_mask as write_mask

        write_mask(mask, save_mask)
    kept, hid = keeper.counts() if keeper is not None else (None, None)
    return Result(src, dst if write else None, masker.people, float(mask.mean()),
                  time.perf_counter() - t0, Path(save_mask) if save_mask else None, kept, hid)
