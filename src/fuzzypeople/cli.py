"""The ``fuzzypeople`` command: a thin shell over :mod:`fuzzypeople.pipeline`.

The options become one :class:`fuzzypeople.pipeline.Settings`; each file goes
to :func:`~fuzzypeople.pipeline.anonymize_photo` or
:func:`~fuzzypeople.pipeline.anonymize_video`.

``fuzzypeople INPUT...`` anonymises photos and videos (the ``run`` command,
implied). Other commands (``audit``, ``sweep``, ``cam``, ``serve``) are registered by
their own modules in :data:`COMMANDS`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from . import __version__, alloc
from .errors import FuzzyError
from .options import METHOD_NAMES, keep_options, settings_error



def _color(ctx, param, value):
    if value is None:
        return (0, 0, 0)
    try:
        parts = tuple(int(v) for v in value.split(","))
        if len(parts) != 3 or not all(0 <= c <= 255 for c in parts):
            raise ValueError
    except ValueError:
        raise click.BadParameter(f"{value!r} is not R,G,B with each 0-255 (e.g. 255,0,255)") from None
    return parts


def _targets(ctx, param, value):
    from .detect.stack import parse_targets

    try:
        return parse_targets(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


class DefaultGroup(click.Group):
    """A group whose first argument, if not a command name, means ``run``."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["run", *args]
        elif not args:
            args = ["--help"]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="fuzzypeople")
def main():
    """Hide the people in photos and videos, and prove that it worked.

    \b
    fuzzypeople photo.jpg                     -> photo_anonymized.jpg (scramble)
    fuzzypeople street.mp4 -o street_anon.mp4 (audio and frame rate kept)
    fuzzypeople photos/ -o anon/              (folders recursed, layout kept)
    fuzzypeople audit photo.jpg photo_anonymized.jpg
    fuzzypeople sweep photo.jpg --radius 0,4,16,64
    fuzzypeople serve                         (the web app, http://127.0.0.1:8000/)
    fuzzypeople site www/                     (the in-browser page as a static site)

    Run `fuzzypeople run --help` for every anonymising option.
    """
    alloc.enable()  # big photos give memory back at once; videos switch to reusing it (alloc.py)


@main.command("run", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, required=True, type=click.Path())  # str: URIs keep their "//"
@click.option("-o", "--output", type=click.Path(), help="Output file (one input) or folder (several inputs, or a folder). Default: NAME_anonymized.EXT beside each input. Inputs and output may be URIs (s3://bucket/photos/, through pyarrow's file systems).")
@click.option("-m", "--method", type=click.Choice(METHOD_NAMES), default="scramble", show_default=True, help="How to hide people: scramble (Fuzzy People noise), pixelate, blur, solid colour, silhouette, erase (remove them: fill from the surroundings, in video from the background seen in other frames), none (detect only), or cloak (photos: leave faces visible but perturbed against face recognition, --cloak).")
@click.option("--cloak", "cloak_mode", type=click.Choice(["low", "mid", "high"]), default="mid", show_default=True, help="--method cloak (photos): how strong the cloak is; stronger = more visible. Faces stay visible; see the README's Cloak section for what it does and does not protect against.")
@click.option("--cloak-kept", is_flag=True, help="With --keep-faces (or --keep/--keep-main), photos: cloak the faces of the people kept (see --cloak) while everyone else is hidden.")
@click.option("-r", "--radius", type=click.IntRange(0), default=None, help="scramble: each hidden pixel becomes a random pixel within this many pixels. 0 = unchanged; larger = more static. Default: auto, per person, scaled with their size (benchmarks/identification.py), so close-ups get more static than distant figures.")
@click.option("--shape", type=click.Choice(["square", "disc"]), default="square", show_default=True, help="scramble: shape of the neighbourhood.")
@click.option("--seed", type=int, default=None, help="scramble: seed for reproducible output.")
@click.option("--block", type=click.IntRange(1), default=None, help="pixelate: block size in pixels. Default: auto, per person, scaled with their size.")
@click.option("--strength", type=click.FloatRange(0), default=None, help="blur: Gaussian sigma in pixels. Default: auto, per person, scaled with their size.")
@click.option("--color", callback=_color, default=None, metavar="R,G,B", help="solid/silhouette: fill colour (solid default 0,0,0; silhouette default 128,128,128).")
@click.option("-t", "--targets", callback=_targets, default="bodies,faces", show_default=True, help="What to hide: bodies, faces, or both.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, help="Detector confidence threshold (lower = hide more). Default: each detector's tuned value.")
@click.option("--dilate", type=click.IntRange(0), default=None, help="Grow the mask by this many pixels. Default: 4 (measured on COCO people).")
@click.option("--tile-scale", type=click.FloatRange(0), default=None, metavar="SCALE", help="Small people: also look in overlapping tiles of the image enlarged this much (0 = whole image only, faster). Default: 1.5 for photos, 1.0 for video.")
@click.option("--boxes", is_flag=True, help="Photos: hide whole body boxes instead of each body's traced outline (more scene lost). Video always hides boxes.")
@click.option("--feather", type=click.IntRange(0), default=0, show_default=True, help="Soften the mask edge over this many pixels outside it.")
@click.option("--save-mask", is_flag=True, help="Also write NAME_mask.png (white = hidden) beside each output; for a video NAME_mask.mkv, a lossless greyscale video of every frame's mask.")
@click.option("--keep-metadata", is_flag=True, help="Keep EXIF/XMP/IPTC metadata (GPS and IPTC place names still removed). Default: strip all but the colour profile.")
@click.option("--keep-gps", is_flag=True, help="With --keep-metadata, keep GPS location too.")
@click.option("--overwrite", is_flag=True, help="Replace output files that already exist (default: such a file is skipped with a message, and the exit status is 1).")
@click.option("--fail-safe", is_flag=True, help="If a photo or frame cannot be analysed, hide all of it instead of failing.")
@keep_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary; errors only.")
@click.option("--no-audio", is_flag=True, help="Video: drop the audio (default: kept, copied as is where the container allows).")
@click.option("--crf", type=click.IntRange(0, 63), default=None, help="Video: quality, lower = better (default: 20 for H.264, 32 for VP9; quantiser 3 for AVI's MPEG-4).")
@click.option("--codec", default=None, metavar="ENCODER", help="Video: encoder (default: libx264; libvpx-vp9 for .webm, mpeg4 for .avi).")
@click.option("--start", default=None, metavar="TIME", help="Video: start at this time (seconds or [HH:]MM:SS).")
@click.option("--end", default=None, metavar="TIME", help="Video: stop at this time (seconds or [HH:]MM:SS).")
@click.option("--detect-every", type=click.IntRange(1), default=None, metavar="N", help="Video: run the detector on every N-th frame, tracking people in between (default: 4; 1 = every frame).")
@click.option("--detect-size", type=click.IntRange(32), default=None, metavar="PIXELS", help="Video: analyse frames shrunk to this longest side (faster, may miss small people). Default: full size.")
@click.option("--tile-sweep", type=click.IntRange(1), default=None, metavar="N", help="Video: look for small people in every tile on every N-th analysed frame, elsewhere only where the picture changed or someone was found (default: 3; 1 = every tile always).")
@click.option("--hold", type=click.IntRange(0), default=None, metavar="FRAMES", help="Video: keep hiding a person this many frames after the detector last saw them (default: 10).")
@click.option("--segment-seconds", type=click.FloatRange(0, min_open=True), default=None, metavar="S", help="Video: cut each video into segments of about S seconds (cut on the detection cadence, so at least 24 frames at the default), anonymise them in parallel with an overlap at each seam, and join them into one file (frames, timestamps and audio kept).")
@click.option("-j", "--workers", type=click.IntRange(1), default=None, metavar="N", help="Process this many files at once, each worker with its own models and cores / N inference threads (default: all cores, at most one per GiB of memory available; a video is one file, or with --segment-seconds its segments are shared out). Outputs do not depend on it.")
@click.option("--log", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE", help="Append one JSON line per file (input, output, status, error, people, seconds) to FILE. A later run with the same FILE skips the files it records as finished with the same options (unless --overwrite).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]", help="Run on a Ray cluster (the fuzzypeople[ray] extra): --ray alone starts one on this machine, --ray auto or --ray ADDRESS joins a running one (every node must see the input and output paths, or give URIs). Put it after the inputs.")
def run(inputs, output, method, cloak_mode, cloak_kept, radius, shape, seed, block, strength, color, targets, threshold, dilate, tile_scale, boxes, feather, save_mask, keep_metadata, keep_gps, overwrite, fail_safe, keep_faces, keep_main, keep_n, region, exclude_region, quiet, no_audio, crf, codec, start, end, detect_every, detect_size, hold, tile_sweep, segment_seconds, workers, log, ray_address):
    """Anonymise photos (JPEG, PNG, WebP, TIFF, BMP, GIF, HEIC) and videos.

    Every person found is hidden, whole body and face, in every frame of an
    animated or multi-page photo. Inputs are never modified; outputs are
    written atomically with metadata stripped, and an existing output is
    only replaced with --overwrite. A file that cannot be read or analysed
    gets a one-line error and no output; the others are still processed,
    and the exit status is 1. Files are processed in parallel (--workers,
    or a Ray cluster with --ray), with the same outputs.
    """
    import warnings

    warnings.simplefilter("ignore")  # library warnings (Pillow's "Corrupt EXIF data"...) are not for users
    from . import batch
    from .api import Anonymizer
    from .pipeline import DEFAULT_DILATE, DEFAULT_EVERY, Settings
    from .track import DEFAULT_HOLD, DEFAULT_SWEEP

    try:
        settings = Settings(
            method=method, radius=radius, shape=shape, seed=seed, block=block, strength=strength, color=color,
            targets=targets, threshold=threshold, dilate=DEFAULT_DILATE if dilate is None else dilate,
            tile_scale=tile_scale, boxes=boxes, feather=feather, fail_safe=fail_safe,
            keep_metadata=keep_metadata, keep_gps=keep_gps, audio=not no_audio, crf=crf, codec=codec,
            start=start, end=end, every=detect_every or DEFAULT_EVERY, detect_size=detect_size,
            hold=DEFAULT_HOLD if hold is None else hold, keep_faces=keep_faces,
            keep=max(keep_n, 1 if keep_main else 0), region=region, exclude_region=exclude_region,
            tile_sweep=tile_sweep or DEFAULT_SWEEP, cloak=cloak_mode, cloak_kept=cloak_kept,
            segment_seconds=segment_seconds, workers=workers if segment_seconds else None)
    except ValueError as exc:
        _fail(settings_error(exc))
    if settings.keeps:
        try:
            Anonymizer(settings=settings).keeper()  # check the settings (and read --keep-faces) before touching any file
        except (ValueError, FuzzyError) as exc:
            _fail(str(exc))
    skipped: list = []
    try:  # two inputs written to one output: refused before anything is written
        jobs = batch.plan(list(inputs), output, method=method, save_mask=save_mask, skipped=skipped)
    except FuzzyError as exc:
        _fail(str(exc))
    for path, reason in skipped:
        click.echo(f"fuzzypeople: skipped {path}: {reason}", err=True)
    if not jobs:
        _fail("no photos or videos found in " + ", ".join(map(str, inputs)))
    many = len(jobs) > 1 or any(Path(i).is_dir() for i in inputs)
    t0, failed, resumed, people, kept, hidden = time.perf_counter(), 0, 0, 0, 0, 0
    warned: list[str] = []
    # With --segment-seconds the workers share out each video's segments, so files go one at a time.
    records = batch.process(jobs, settings, workers=1 if segment_seconds else workers, ray=ray_address, log=log,
                            overwrite=overwrite, progress=not (quiet or many))
    with _progress(len(jobs), quiet or len(jobs) == 1) as advance:
        try:
            for rec in records:
                if rec["status"] == batch.FAILED:
                    failed += 1
                    _error(rec["error"])
                elif rec["status"] == batch.SKIPPED:
                    resumed += 1
                else:
                    people += rec["people"]
                    kept += rec["kept"] or 0
                    hidden += rec["hidden"] or 0
                for message in rec["warnings"][:1]:  # the first weak-setting warning of the run, once
                    if not warned:
                        warned.append(message)
                        click.echo(f"fuzzypeople: warning: {message}", err=True)
                advance()
        except KeyboardInterrupt:
            _fail("interrupted; the files being written were discarded", code=130)
        except FuzzyError as exc:  # the log cannot be written, Ray is missing...
            _fail(str(exc))
    if not quiet:
        took = time.perf_counter() - t0
        done = len(jobs) - failed - resumed
        click.echo(f"{done} file{'s' * (done != 1)} anonymised, {people} {'person' if people == 1 else 'people'} found, "
                   + (f"{kept} kept, {hidden} hidden, " if settings.keeps else "")
                   + f"{took:.1f} s" + (f"; {failed} failed or skipped" if failed else "")
                   + (f"; {resumed} finished by an earlier run (--log {log})" if resumed else "")
                   + (f"; {len(skipped)} other file{'s' * (len(skipped) != 1)} in the folders skipped" if skipped else ""),
                   err=True)
    sys.exit(1 if failed else 0)


def _progress(total: int, disabled: bool):
    import contextlib

    @contextlib.contextmanager
    def bar():
        if disabled:
            yield lambda: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("anonymising"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      transient=True, console=_console()) as p:
            task = p.add_task("files", total=total)
            yield lambda: p.advance(task)

    return bar()


def _console():
    from rich.console import Console

    return Console(stderr=True)


def _error(message: str) -> None:
    click.echo(f"fuzzypeople: error: {message}", err=True)


def _fail(message: str, code: int = 1):
    _error(message)
    sys.exit(code)


# Commands living in other modules register here (audit, sweep, cam, serve).
COMMANDS: list[str] = ["fuzzypeople.audit.cli:commands", "fuzzypeople.cam:commands", "fuzzypeople.web:commands"]


def _register() -> None:
    import importlib

    for spec in COMMANDS:
        module, attr = spec.split(":")
        try:
            cmds = getattr(importlib.import_module(module), attr)
        except ImportError:
            continue
        for cmd in cmds():
            main.add_command(cmd)


_register()
