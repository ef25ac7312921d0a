"""The run log (``--log run.jsonl``) and resuming from it.

One JSON object per line and per file, appended as each file finishes:
``input``, ``output`` (null if nothing was written), ``mask`` (with
``--save-mask``), ``status`` (``done``,
``failed``, or ``skipped``: finished by an earlier run), ``error`` (the
one-line reason of a failure, or null), ``people`` found, ``kept`` /
``hidden`` (with keep options), ``hidden_share``, ``seconds``, ``warnings``,
``note``, ``pid`` and ``threads`` of the worker, and ``settings`` (a
fingerprint of the options that change the output). Lines are written by one process only (the one running
the batch), whole, and flushed at once, so an interrupted run leaves a
readable log.

A later run with the same log skips a file whose last line says it was
written (``done`` or ``skipped``) to the same output with the same settings,
if that output is still there: outputs are written atomically, so an output
that exists is complete. Any other existing output is left alone and
reported, as without a log (``--overwrite`` replaces it).

>>> import tempfile
>>> from fuzzypeople.pipeline import Settings
>>> path = Path(tempfile.mkdtemp()) / "run.jsonl"
>>> key = settings_key(Settings(seed=1))
>>> with RunLog(path, key) as log:
...     log.write({"input": "a.jpg", "output": "out/a.jpg", "status": "done", "error": None})
>>> list(RunLog(path, key).finished().values()), RunLog(path, settings_key(Settings(seed=2))).finished()
(['out/a.jpg'], {})
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

from ..errors import FuzzyError

FINISHED = ("done", "skipped")


def settings_key(settings) -> str:
    """A short fingerprint of the settings that shape the outputs (threads do not).

    >>> from fuzzypeople.pipeline import Settings
    >>> settings_key(Settings(threads=1)) == settings_key(Settings()) != settings_key(Settings(seed=3))
    True
    """
    return hashlib.sha256(repr(replace(settings, threads=None)).encode()).hexdigest()[:16]


class RunLog:
    """Appends run records to a JSONL file; reads back which inputs an earlier run finished."""

    def __init__(self, path: str | Path, key: str):
        self.path = Path(path)
        self.key = key
        self._fh = None

    def finished(self) -> dict[str, str]:
        """``{absolute input path: output}`` for inputs whose last record says they were written with these settings."""
        last: dict[str, dict] = {}
        try:
            with open(self.path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except ValueError:  # a torn last line (killed mid-write): ignored
                        continue
                    if isinstance(rec, dict) and "input" in rec:
                        last[os.path.abspath(rec["input"])] = rec
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise FuzzyError(self.path, f"cannot read the log: {(exc.strerror or str(exc)).lower()}") from None
        return {i: rec["output"] for i, rec in last.items()
                if rec.get("status") in FINISHED and rec.get("settings", self.key) == self.key and rec.get("output")}

    def is_finished(self, job, finished: dict[str, str]) -> bool:
        """Did an earlier run write ``job``'s output (same path, same settings), and is it still there?"""
        from .remote import exists, is_uri

        out = finished.get(os.path.abspath(job.input))
        if out is None or os.path.abspath(out) != os.path.abspath(job.output):
            return False
        return exists(job.output) if is_uri(job.output) else os.path.exists(job.output)

    def __enter__(self) -> RunLog:
        try:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")
        except OSError as exc:
            raise FuzzyError(self.path, f"cannot write the log: {(exc.strerror or str(exc)).lower()}") from None
        return self

    def write(self, rec: dict) -> None:
        """Append one record (with the settings fingerprint) as one line, flushed."""
        rec = {**rec, "settings": rec.get("settings", self.key)}
        self._fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self._fh.flush()

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
