"""``fuzzypeople audit`` and ``fuzzypeople sweep`` (registered by ``fuzzypeople.cli``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import FuzzyError
from . import EXIT_AT_RISK, EXIT_ERROR, EXIT_PRIVATE
from .shell import command_line as _command_line
from .shell import error as _error
from .shell import fail as _fail

CTX = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _detectors(ctx, param, value):
    from .detectors import parse

    try:
        return parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _auditor(detectors, iou, match, gallery):
    from .core import Auditor

    auditor = Auditor(detectors, iou=iou, match=match)
    if gallery is not None:
        auditor.load_gallery(gallery)
    return auditor


def _check_writable(*paths):
    for p in paths:
        if p is not None and p.exists() and p.is_dir():
            _fail(f"{p}: is a folder; give a file name")


@click.command("audit", context_settings=CTX)
@click.argument("original", type=click.Path(path_type=Path))
@click.argument("anonymised", type=click.Path(path_type=Path))
@click.option("--gallery", type=click.Path(path_type=Path), help="Known faces, one folder per person, several photos each (DIR/alice/*.jpg -> person 'alice'): enables attack (a), closed-set identification among these people (chance 1/k), and verification against their photos.")
@click.option("--frames", type=click.IntRange(1), default=8, show_default=True, help="Videos: frames sampled evenly through the video.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Also write the full report as JSON (schema: fuzzypeople/audit/report.schema.json).")
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Also write a self-contained HTML report (pictures and plots embedded).")
@click.option("--detectors", callback=_detectors, default="mtcnn,dlib-hog,hog-people", show_default=True, help="The audit's own detectors: mtcnn, dlib-hog, dlib-cnn (slow), hog-people.")
@click.option("--iou", type=click.FloatRange(0.05, 1), default=0.5, show_default=True, help="An output detection overlapping an original one this much is the same person.")
@click.option("--match", type=click.FloatRange(0.05, 2), default=0.6, show_default=True, help="Face distance below which two faces are the same person (dlib's 0.6).")
@click.option("--tolerance", type=click.IntRange(0, 255), default=None, help="A pixel counts as altered if a channel changed by more than this. Default: 0 for lossless files, 16 for JPEG/WebP, 24 for video.")
@click.option("-q", "--quiet", is_flag=True, help="No table; the exit status says it all.")
@click.option("--cloak", "cloak", is_flag=True, help="Stress-test a cloak instead: ANONYMISED is ORIGINAL cloaked (--method cloak) and --gallery DIR holds the same person's other, clean photos; reports per face-recognition model the share of them still matched, after re-detection, JPEG 85 and a 0.5x resize (at risk: any model matching more than half).")
def audit(original, anonymised, gallery, frames, json_path, html_path, detectors, iou, match, tolerance, quiet, cloak):
    """Measure how private ANONYMISED is, compared with ORIGINAL.

    ORIGINAL and ANONYMISED are two photos, two videos, or two folders
    (files matched by relative path; NAME_anonymized.EXT and another
    extension are accepted). Detectors and a face recogniser independent of
    the anonymiser's look for faces and people that are still there, and
    attack each face, strongest first: (a) with --gallery, closed-set
    identification among the gallery's k people (chance 1/k); (b)
    verification at a 1% false-match rate; (c) rank-1 against distractors.

    \b
    Exit status: 0 everything audited is private,
                 1 at least one photo or video is at risk,
                 2 nothing is at risk but some input could not be audited,
                   or bad usage.
    """
    from . import exit_code, report, run

    _check_writable(json_path, html_path)
    if cloak:
        _cloak_audit(original, anonymised, gallery, json_path, quiet)
    try:
        auditor = _auditor(detectors, iou, match, gallery)
        doc, pictures = run(original, anonymised, auditor=auditor, frames=frames, tolerance=tolerance,
                            visuals=html_path is not None, command=_command_line())
    except FuzzyError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # never a traceback
        _fail(f"unexpected {type(exc).__name__}: {exc}")
    if len(doc["items"]) + len(doc["errors"]) == 1 and doc["errors"]:
        e = doc["errors"][0]  # one pair that cannot be audited: one line, no table, no report
        _fail(f"{e['path']}: {e['message']}")
    if not quiet:
        from rich.console import Console

        report.print_table(doc, Console(width=max(110, Console().width)))
    elif doc["errors"]:
        for e in doc["errors"]:
            _error(f"{e['path']}: {e['message']}")
    try:
        if json_path is not None:
            report.write_json(doc, json_path)
        if html_path is not None:
            report.write_html(doc, pictures, html_path)
    except OSError as exc:
        _fail(f"{exc.filename or json_path or html_path}: cannot write report ({exc.strerror or exc})")
    sys.exit(exit_code(doc))


def _cloak_audit(original: Path, cloaked: Path, gallery: Path | None, json_path: Path | None, quiet: bool):
    """``audit --cloak``: the stress test of :mod:`fuzzypeople.audit.cloak` on one photo; exits."""
    import json

    from ..io.image import EXTENSIONS, read_image
    from .cloak import VARIANTS, face_quality, judges, still_matched

    if gallery is None:
        _fail("--cloak needs --gallery DIR: the same person's other, clean photos")
    if not gallery.is_dir():
        _fail(f"{gallery}: gallery is not a folder")
    files = sorted(p for p in gallery.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
    if not files:
        _fail(f"{gallery}: gallery holds no images")
    try:
        a, b = read_image(original).rgb, read_image(cloaked).rgb
        if a.shape != b.shape:
            _fail(f"{cloaked}: not the same size as {original} ({b.shape[1]}x{b.shape[0]} vs {a.shape[1]}x{a.shape[0]})")
        clean = [read_image(f).rgb for f in files]
        doc = {"original": str(original), "cloaked": str(cloaked), "gallery": [str(f) for f in files],
               **face_quality(a, b), "models": {}}
        for j in judges():
            refs = [j.embed(c) for c in clean]
            doc["models"][j.name] = {"optimised": j.optimised, "clean_faces": sum(r is not None for r in refs),
                                     **still_matched(b, [], j, clean_embeddings=refs)}
    except FuzzyError as exc:
        _fail(str(exc))
    except Exception as exc:  # never a traceback
        _fail(f"unexpected {type(exc).__name__}: {exc}")
    at_risk = any((m[v]["share"] or 0) > 0.5 for m in doc["models"].values() for v in VARIANTS)
    doc["verdict"] = "at risk" if at_risk else "protected"
    if not quiet:
        click.echo(f"cloak stress test: {cloaked} against {len(files)} clean photos in {gallery}")
        click.echo(f"DSSIM on the face {doc['dssim_face'] if doc['dssim_face'] is None else round(doc['dssim_face'], 4)}, "
                   f"PSNR {doc['psnr']:.1f} dB")
        click.echo("share of the clean photos still matched (lower = better protected):")
        click.echo(f"  {'model':<15}{'optimised':<11}" + "".join(f"{v:>13}" for v in VARIANTS))
        for name, m in doc["models"].items():
            cells = "".join(f"{'-' if m[v]['share'] is None else format(m[v]['share'], '.2f'):>13}" for v in VARIANTS)
            click.echo(f"  {name:<15}{'yes' if m['optimised'] else 'no':<11}{cells}")
        click.echo(f"verdict: {doc['verdict']}")
    if json_path is not None:
        try:
            json_path.write_text(json.dumps(doc, indent=1, default=float))
        except OSError as exc:
            _fail(f"{json_path}: cannot write report ({exc.strerror or exc})")
    sys.exit(EXIT_AT_RISK if at_risk else EXIT_PRIVATE)


def commands() -> list[click.Command]:
    from .sweep import sweep_command

    return [audit, sweep_command]


__all__ = ["commands", "audit", "EXIT_PRIVATE", "EXIT_AT_RISK", "EXIT_ERROR"]
