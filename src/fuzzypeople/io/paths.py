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


def expand_inputs(inputs: list[str | Path], extensions: set[str]) -> list[tuple[Path, Path]]:
    """Files to process, each with its path relative to the folder it was found in.

    Folders are searched recursively for files with one of ``extensions``;
    files named directly are taken whatever their extension. Our own outputs
    (``*_anonymized.*``) are skipped inside folders.
    """
    found: list[tuple[Path, Path]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in extensions and not f.stem.endswith(SUFFIX):
                    found.append((f, f.relative_to(p)))
        else:
            found.append((p, Path(p.name)))
    return found


def plan_output(src: Path, rel: Path, out: Path | None, many: bool, suffix: str | None = None) -> Path:
    """Output path for ``src`` given ``-o`` (a file for one input, a folder for many)."""
    if out is None:
        return default_output(src, suffix)
    if many or out.is_dir() or str(out).endswith(os.sep):
        name = rel.with_suffix(suffix) if suffix else rel
        return out / name
    return out
