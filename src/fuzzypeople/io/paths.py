"""Where outputs go: names, folders, and the rule that inputs are never touched."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import FuzzyError

SUFFIX = "_anonymized"


def default_output(src: Path, suffix: str | None = None) -> Path:
    """``photo.jpg`` -> ``photo_anonymized.jpg`` beside it.

    >>> default_output(Path("a/photo.jpg")).as_posix()
    'a/photo_anonymized.jpg'
    """
    return src.with_name(f"{src.stem}{SUFFIX}{suffix or src.suffix}")


def check_distinct(src: str | Path, dst: str | Path) -> None:
    """Refuse to write over the input, whatever path spells it."""
    src, dst = Path(src), Path(dst)
    same = os.path.abspath(src) == os.path.abspath(dst)
    if not same and dst.exists() and src.exists():
        same = os.path.samefile(src, dst)
    if same:
        raise FuzzyError(src, "output would overwrite the input; choose another -o")


def expand_inputs(inputs: list[str | Path], extensions: set[str],
                  skipped: list[tuple[Path, str]] | None = None) -> list[tuple[Path, Path]]:
    """Files to process, each with its path relative to the folder it was found in.

    Folders are searched recursively for files with one of ``extensions``;
    files named directly are taken whatever their extension. Our own outputs
    (``*_anonymized.*``) are skipped inside folders. Every file of a folder
    left out is added to ``skipped`` as ``(path, reason)``.
    """
    found: list[tuple[Path, Path]] = []
    skipped = [] if skipped is None else skipped
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_dir():
                    continue
                if not f.is_file():
                    skipped.append((f, "not a regular file"))
                elif f.suffix.lower() not in extensions:
                    skipped.append((f, f"not a photo or video this version reads ({f.suffix or 'no extension'})"))
                elif f.stem.endswith(SUFFIX):
                    skipped.append((f, f"looks like an output of fuzzypeople (*{SUFFIX}{f.suffix})"))
                else:
                    found.append((f, f.relative_to(p)))
        else:
            found.append((p, Path(p.name)))
    return found


def check_collisions(plans: list[tuple[Path, list[Path]]]) -> None:
    """Refuse, before anything is written, a run where two files would be written to one path,
    or an output would replace another input of the run.

    ``plans`` holds each input with the paths it will write (output, mask).

    >>> check_collisions([(Path("a/pic.jpg"), [Path("out/pic.jpg")]), (Path("b/pic.jpg"), [Path("out/pic.jpg")])])
    Traceback (most recent call last):
    ...
    fuzzypeople.errors.FuzzyError: out/pic.jpg: a/pic.jpg and b/pic.jpg would both be written here; nothing written (give them different -o folders or names)
    """
    writers: dict[str, Path] = {}
    inputs = {os.path.abspath(src): src for src, _ in plans}
    for src, outs in plans:
        for dst in outs:
            key = os.path.abspath(dst)
            if key in inputs and inputs[key] != src:
                raise FuzzyError(dst, f"the output of {src} would replace the input {inputs[key]}; nothing written")
            if key in writers and writers[key] != src:
                raise FuzzyError(dst, f"{writers[key]} and {src} would both be written here; nothing written "
                                      "(give them different -o folders or names)")
            writers[key] = src


def check_free(dst: Path, overwrite: bool) -> None:
    """Refuse to replace an existing file unless ``overwrite``."""
    if not overwrite and (dst.exists() or dst.is_symlink()):
        raise FuzzyError(dst, "already exists; skipped (use --overwrite to replace it)")


def plan_output(src: Path, rel: Path, out: Path | None, many: bool, suffix: str | None = None) -> Path:
    """Output path for ``src`` given ``-o`` (a file for one input, a folder for many)."""
    if out is None:
        return default_output(src, suffix)
    if many or out.is_dir() or str(out).endswith(os.sep):
        name = rel.with_suffix(suffix) if suffix else rel
        return out / name
    return out
