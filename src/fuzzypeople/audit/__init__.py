"""The privacy audit: how private is an anonymised photo or video, measured.

``fuzzypeople audit ORIGINAL ANONYMISED`` compares an original with its
anonymised version using detectors and a face recogniser that are
*independent* of the ones the anonymiser used (MTCNN, dlib's HOG face
detector, OpenCV's HOG people detector; dlib's ResNet face embedding):

* residual detection -- faces and people found in the original that the same
  detector still finds in the output (IoU >= 0.5);
* re-identification -- each face's output crop (aligned on the original's
  landmarks) attacked three ways, strongest first
  (:mod:`.attacks`): (a) closed-set identification among the ``--gallery``
  people (``identification``; chance 1/k), (b) verification at a 1%
  false-match rate (``verification``: against the person's gallery photos,
  or the original without a gallery), (c) the rank-1 test
  (``reidentified``): under 0.6 from the original *and* nearer to it than
  every impostor face (the run's other faces and fixed distractors);
* how much changed -- share of pixels altered, SSIM/PSNR outside the people
  (an untouched background gives SSIM 1, PSNR inf) and SSIM inside;
* a verdict per photo or video: ``private`` or ``at risk``, with reasons.

Python use::

    from fuzzypeople.audit import Auditor
    report = Auditor().audit(original_rgb, anonymised_rgb)
    report["verdict"], report["reasons"]

Modules: :mod:`.detectors`, :mod:`.faces` (models), :mod:`.attacks`, :mod:`.metrics` (the
measurements), :mod:`.core` (one pair of pictures), :mod:`.media` (files,
folders, videos), :mod:`.report` (JSON, table, HTML), :mod:`.sweep`
(privacy-utility curves) and :mod:`.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import FuzzyError

EXIT_PRIVATE = 0  # everything audited, everything private
EXIT_AT_RISK = 1  # at least one photo or video at risk
EXIT_ERROR = 2  # nothing at risk, but some input could not be audited (or bad usage)


def __getattr__(name):  # lazy: importing fuzzypeople.audit must not load dlib
    if name == "Auditor":
        from .core import Auditor

        return Auditor
    raise AttributeError(name)


def run(
    original: str | Path,
    anonymised: str | Path,
    *,
    auditor=None,
    frames: int = 8,
    tolerance: int | None = None,
    visuals: bool = False,
    on_item: Callable[[str], None] | None = None,
    settings: dict | None = None,
    command: str | None = None,
) -> tuple[dict, dict]:
    """Audit a photo pair, a folder pair or a video pair.

    Returns ``(document, pictures)``: the JSON-ready document (see
    ``report.schema.json``) and, with ``visuals``, the data URIs the HTML
    report shows, keyed by ``(item, frame)``. Files that cannot be audited
    are listed in ``document["errors"]``; a bad top-level argument raises
    :class:`~fuzzypeople.errors.FuzzyError`.
    """
    from . import media, report
    from .core import Auditor
    from .faces import SAME_PERSON

    pairs = media.pairs(original, anonymised)
    auditor = auditor or Auditor()
    items, errors, pictures = [], [], {}
    for pair in pairs:
        if on_item:
            on_item(str(pair.original))
        try:
            loaded = media.load(pair, frames, tolerance)
            frame_reports = []
            for j, (a, b) in enumerate(zip(loaded.originals, loaded.outputs)):
                orig = auditor.study(a)
                fr = auditor.compare(orig, b, loaded.tolerance)
                fr.pop("_after", None)
                fr = {"index": loaded.indices[j], "time": loaded.times[j], **fr}
                frame_reports.append(fr)
                if visuals:
                    pictures[(len(items), j)] = _pictures(auditor, orig, a, b)
        except FuzzyError as exc:
            errors.append({"path": exc.path or str(pair.original), "message": exc.problem})
            continue
        except ValueError as exc:
            errors.append({"path": str(pair.anonymised), "message": str(exc)})
            continue
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # one file must not stop a folder: report it and go on
            errors.append({"path": str(pair.original), "message": f"unexpected {type(exc).__name__}: {exc}"})
            continue
        items.append({
            "original": str(pair.original),
            "anonymised": str(pair.anonymised),
            "media": loaded.media,
            "verdict": None,
            "reasons": None,
            "notes": loaded.notes,
            "frames": frame_reports,
        })
    # The rank-1 test again, now that every original face of the run is known:
    # each one is an impostor for the others (unless the same person, see faces.SAME_PERSON).
    run_faces = [fr["_embeddings"][0] for it in items for fr in it["frames"] if fr.get("_embeddings") is not None]
    pool = np.vstack(run_faces) if run_faces else np.zeros((0, 128), np.float32)
    for i, it in enumerate(items):
        for j, fr in enumerate(it["frames"]):
            auditor.judge(fr, pool)
            fr.pop("_embeddings", None)
            if visuals:
                pic = pictures[(i, j)]
                pic["before"], pic["after"] = report.draw_thumbnails(*pic.pop("_thumbs"), fr)
        it["verdict"], it["reasons"] = report.item_verdict(it["frames"])
    s = {
        "detectors": list(auditor.detect.names),
        "iou": auditor.iou,
        "match_distance": auditor.match,
        "impostors": {
            "distractors": int(len(auditor.distractors())) if len(pool) else 0,
            "run_faces": int(len(pool)),
            "same_person": SAME_PERSON,
        },
        "frames": frames,
        "tolerance": tolerance,
        "gallery": None if auditor.gallery is None else {"people": auditor.gallery.people, "images": len(auditor.gallery)},
    }
    s.update(settings or {})
    return report.document(items, errors, s, command), pictures


def _pictures(auditor, orig, before, after) -> dict:
    """Thumbnails (drawn on once the verdicts are final) and aligned face crops."""
    from . import report

    b, scale = report.thumbnail(before)
    a, _ = report.thumbnail(after)
    chips = []
    if orig.shapes is not None and len(orig.shapes):
        cb = auditor.recognizer.chips(before, orig.shapes)
        ca = auditor.recognizer.chips(after, orig.shapes)
        chips = [(report.data_uri(x), report.data_uri(y)) for x, y in list(zip(cb, ca))[:8]]
    return {"_thumbs": (b, a, scale), "chips": chips}


def exit_code(doc: dict) -> int:
    """0 all private, 1 any at risk (even if others failed), 2 nothing at risk but errors."""
    s = doc["summary"]
    if s["at_risk"]:
        return EXIT_AT_RISK
    if s["errors"]:
        return EXIT_ERROR
    return EXIT_PRIVATE
