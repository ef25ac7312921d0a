"""``fuzzypeople cam``: anonymise a webcam or a network stream live into a file.

A thin shell over :func:`fuzzypeople.pipeline.record`.

>>> [c.name for c in commands()]
['cam']
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .options import METHOD_NAMES, keep_options, settings_error
from .errors import FuzzyError


@click.command("cam", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("source", required=False, default="0", metavar="[DEVICE_OR_URL]")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("cam_anonymized.mp4"), show_default=True, help="Video file to write (.mp4 .mkv .webm .mov .avi).")
@click.option("--frames", type=click.IntRange(1), default=None, help="Stop after this many frames.")
@click.option("--seconds", type=click.FloatRange(0, min_open=True), default=None, help="Stop after this many seconds of video.")
@click.option("--format", "fmt", default=None, help="ffmpeg input format (default: v4l2 for /dev/video*, avfoundation on macOS; guessed for URLs).")
@click.option("--size", default=None, metavar="WxH", help="Ask the camera for this size, e.g. 1280x720.")
@click.option("--fps", type=click.FloatRange(0, min_open=True), default=None, help="Ask the camera for this frame rate.")
@click.option("-m", "--method", type=click.Choice(METHOD_NAMES), default="scramble", show_default=True, help="How to hide people.")
@click.option("-r", "--radius", type=click.IntRange(0), default=None, help="scramble: neighbourhood radius in pixels (default: auto, scaled to the people).")
@click.option("-t", "--targets", default="bodies,faces", show_default=True, help="What to hide: bodies, faces, or both.")
@click.option("--fail-safe", is_flag=True, help="Hide the whole frame when it cannot be analysed or a person just seen vanishes.")
@click.option("--detect-every", type=click.IntRange(1), default=None, metavar="N", help="Run the detector on every N-th frame (default: 4).")
@click.option("--hold", type=click.IntRange(0), default=None, metavar="FRAMES", help="Keep hiding a person this many frames after last seen (default: 10).")
@click.option("--no-audio", is_flag=True, help="Drop the stream's audio, if any.")
@click.option("--crf", type=click.IntRange(0, 63), default=None, help="Video quality, lower = better.")
@click.option("--codec", default=None, metavar="ENCODER", help="Video encoder (default by extension).")
@keep_options
@click.option("-q", "--quiet", is_flag=True, help="No progress; errors only.")
def cam(source, output, frames, seconds, fmt, size, fps, method, radius, targets, fail_safe, detect_every, hold, no_audio, crf, codec,
        keep_faces, keep_main, keep_n, region, exclude_region, quiet):
    """Anonymise a webcam or stream live into a video file.

    \b
    fuzzypeople cam                          # first webcam -> cam_anonymized.mp4
    fuzzypeople cam /dev/video2 -o me.mp4 --seconds 30
    fuzzypeople cam rtsp://camera.local/stream -o door.mkv --frames 900
    fuzzypeople cam --keep-faces me/ -o vlog.mp4   # keep yourself, hide passers-by

    Stops at --frames, --seconds, the end of the stream, or Ctrl-C; the file
    is complete in every case.
    """
    from .api import Anonymizer
    from .io.video import EXTENSIONS, open_stream
    from .pipeline import DEFAULT_EVERY, Settings, record
    from .track import DEFAULT_HOLD

    def fail(message: str, code: int = 1):
        click.echo(f"fuzzypeople: error: {message}", err=True)
        sys.exit(code)

    if output.suffix.lower() not in EXTENSIONS:
        fail(f"{output}: cannot write video as {output.suffix or 'no extension'}; use one of {' '.join(EXTENSIONS)}")
    try:  # the same settings as a video file gets (box masks, video tiling), checked before the camera opens
        settings = Settings(method=method, radius=radius, targets=targets, fail_safe=fail_safe,
                            every=detect_every or DEFAULT_EVERY, hold=DEFAULT_HOLD if hold is None else hold,
                            audio=not no_audio, crf=crf, codec=codec, keep_faces=keep_faces,
                            keep=max(keep_n, 1 if keep_main else 0), region=region,
                            exclude_region=exclude_region).for_video()
        anonymizer = Anonymizer(settings=settings)
        anonymizer.keeper()  # reads --keep-faces now: a bad folder fails before recording
    except (ValueError, FuzzyError) as exc:
        fail(settings_error(exc) if isinstance(exc, ValueError) else str(exc))
    options = {}
    if size:
        options["video_size"] = size
    if fps:
        options["framerate"] = f"{fps:g}"
    t0 = time.perf_counter()
    try:
        inp = open_stream(source, fmt, options)
    except FuzzyError as exc:
        fail(str(exc))
    try:
        with inp:
            if not inp.streams.video:
                raise FuzzyError(source, "no video in this stream")
            done = record(anonymizer, inp, source, output, settings,
                          max_frames=frames, max_seconds=seconds, quiet=quiet)
    except (FuzzyError, ValueError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted before the first frame; nothing written", code=130)
    if not quiet:
        kept = f"{done.kept} kept, {done.hidden} hidden, " if done.kept is not None else ""
        click.echo(f"{output}: {done.frames} frames, {done.people} {'person' if done.people == 1 else 'people'} found, "
                   f"{kept}{time.perf_counter() - t0:.1f} s", err=True)


def commands() -> list[click.Command]:
    return [cam]
