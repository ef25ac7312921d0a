"""Command-line options shared by ``fuzzypeople run`` (:mod:`fuzzypeople.cli`) and ``fuzzypeople cam``.

A module of its own so that both commands can import it without importing
each other.
"""

from __future__ import annotations

from pathlib import Path

import click

METHOD_NAMES = ["scramble", "pixelate", "blur", "solid", "silhouette", "erase", "none", "cloak"]


def keep_options(command):
    """The options that choose who is kept and where hiding happens (``run`` and ``cam``)."""
    options = [
        click.option("--keep-faces", type=click.Path(path_type=Path), default=None, metavar="DIR", help="Keep the people whose face matches a photo in DIR (whole person left untouched); hide everyone else."),
        click.option("--keep-main", is_flag=True, help="Keep the most prominent person (largest, most central); hide everyone else."),
        click.option("--keep", "keep_n", type=click.IntRange(0), default=0, metavar="N", help="Keep the N most prominent people."),
        click.option("--region", multiple=True, metavar="X,Y,W,H", help="Hide only inside this rectangle (pixels; repeatable)."),
        click.option("--exclude-region", multiple=True, metavar="X,Y,W,H", help="Never hide inside this rectangle (pixels; repeatable)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def settings_error(exc: ValueError) -> str:
    """A Settings error in the words of the command line (``keep_faces ...`` -> ``--keep-faces ...``)."""
    message = str(exc)
    for field in ("cloak_kept", "keep_faces", "exclude_region", "region"):  # Settings' field names as options
        if message.startswith(field):
            return "--" + field.replace("_", "-") + message[len(field):]
    return message
