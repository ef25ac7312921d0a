"""The privacy audit: how private is an anonymised photo or video, measured.

``fuzzypeople audit ORIGINAL ANONYMISED`` compares an original with its
anonymised version using detectors and a face recogniser that are
*independent* of the ones the anonymiser used (MTCNN, dlib's HOG face
detector, OpenCV's HOG people detector; dlib's ResNet face embedding):

* residual detection -- faces and people found in the original that the same
  detector still finds in the output (IoU >= 0.5);
* re-identification -- for each face in the original, the dlib ResNet
  distance between it and the same aligned crop of the output (< 0.6 means
  still the same person), and rank-1 identification against ``--gallery``;
* how much changed -- share of pixels altered, SSIM/PSNR outside the people
  (an untouched background gives SSIM 1, PSNR inf) and SSIM inside;
* a verdict per photo or video: ``private`` or ``at risk``, with reasons.

Python use::

    from fuzzypeople.audit import Auditor
    report = Auditor().audit(original_rgb, anonymised_rgb)
    report["verdict"], report["reasons"]

Modules: :mod:`.detectors`, :mod:`.faces` (models), :mod:`.metrics` (the
measurements), :mod:`.core` (one pair of pictures), :mod:`.media` (files,
folders, videos), :mod:`.report` (JSON, table, HTML), :mod:`.sweep`
(privacy-utility curves) and :mod:`.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

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
                    pictures[(len(items), j)] = _pictures(auditor, orig, a, b, fr)
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
        verdict, reasons = report.item_verdict(frame_reports)
        items.append({
            "original": str(pair.original),
            "anonymised": str(pair.anonymised),
            "media": loaded.media,
            "verdict": verdict,
            "reasons": reasons,
            "notes": loaded.notes,
            "frames": frame_reports,
        })
    s = {
        "detectors": list(auditor.detect.names),
        "iou": auditor.iou,
        "match_distance": auditor.match,
        "frames": frames,
        "tolerance": tolerance,
        "gallery": None if auditor.gallery is None else {"people": auditor.gallery.people, "images": len(auditor.gallery)},
    }
    s.update(settings or {})
    return report.document(items, errors, s, command), pictures


def _pictures(auditor, orig, before, after, frame) -> dict:
    from . import report

    b, a = report.draw(before, after, frame)
    chips = []
    if orig.shapes is not None and len(orig.shapes):
        cb = auditor.recognizer.chips(before, orig.shapes)
        ca = auditor.recognizer.chips(after, orig.shapes)
        chips = [(report.data_uri(x), report.data_uri(y)) for x, y in list(zip(cb, ca))[:8]]
    return {"before": b, "after": a, "chips": chips}


def exit_code(doc: dict) -> int:
    """0 all private, 1 any at risk (even if others failed), 2 nothing at risk but errors."""
    s = doc["summary"]
    if s["at_risk"]:
        return EXIT_AT_RISK
    if s["errors"]:
        return EXIT_ERROR
    return EXIT_PRIVATE
