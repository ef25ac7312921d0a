"""What happened to one file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    """What happened to one file: where it went, people found, share of pixels hidden, time taken."""

    input: Path
    output: Path | None
    people: int
    hidden_share: float
    seconds: float
    mask_path: Path | None = None
    kept: int | None = None  # with keep options: people kept (left untouched), else None
    hidden: int | None = None  # ... and people hidden
