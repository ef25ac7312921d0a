"""The one error type users see: a file and what is wrong with it, on one line."""

from __future__ import annotations

from pathlib import Path


class FuzzyError(Exception):
    """A problem with one input or output, shown to users as one line.

    >>> str(FuzzyError("cat.jpg", "not an image"))
    'cat.jpg: not an image'
    """

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = " ".join(str(problem).split())  # always one line
        super().__init__(self.problem if self.path is None else f"{self.path}: {self.problem}")
