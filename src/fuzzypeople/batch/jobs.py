"""The job list and the per-file function every way of running shares.

:func:`plan` turns the inputs (files and folders) into :class:`Job` s, one
per file, each knowing where its output goes; :class:`Worker` holds the
models (one :class:`~fuzzypeople.Anonymizer` per kind of input, loaded when
first needed) and turns a job into a record (a plain dict, one line of the
run's log). The serial loop, the local process pool
(:mod:`fuzzypeople.batch.local`) and the Ray actors
(:mod:`fuzzypeople.batch.ray`) all call the same :class:`Worker`, so they
write the same bytes.

A video is one job: it goes whole to
:func:`fuzzypeople.pipeline.anonymize_video`.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from ..errors import FuzzyError
from ..io import image as image_io
from ..io.paths import check_collisions, check_distinct, check_free, default_output, expand_inputs, plan_output
from ..pipeline import Settings, anonymize_photo, anonymize_video
from . import remote

DONE, FAILED, SKIPPED = "done", "failed", "skipped"


@dataclass(frozen=True)
class Job:
    """One input file and what it will write (paths as strings: jobs cross process boundaries)."""

    input: str
    output: str
    mask: str | None  # the mask PNG to write too (--save-mask), or None
    video: bool

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Job:
        return cls(str(d["input"]), str(d["output"]), None if d.get("mask") in (None, "") else str(d["mask"]),
                   bool(d["video"]))


def video_extensions() -> set[str]:
    """Extensions read as video (none if PyAV is missing)."""
    try:
        from ..io.video import EXTENSIONS
    except ImportError:
        return set()
    return set(EXTENSIONS)


def plan(inputs, output: str | Path | None = None, *, method: str = "scramble", save_mask: bool = False,
         skipped: list | None = None) -> list[Job]:
    """One :class:`Job` per photo or video in ``inputs`` (files, or folders searched recursively).

    Outputs keep the folders' layout under ``output`` (see
    :func:`fuzzypeople.io.paths.plan_output`). Inputs and ``output`` may be
    URIs (``s3://bucket/photos``, see :mod:`fuzzypeople.batch.remote`).
    Files of a folder that are not photos or videos are appended to
    ``skipped`` as ``(path, reason)``. Two inputs that would write one path
    raise :class:`FuzzyError` before anything is written.
    """
    skipped = [] if skipped is None else skipped
    if any(remote.is_uri(str(i)) for i in inputs) or remote.is_uri(str(output)):
        jobs = _plan_uris([str(i) for i in inputs], None if output is None else str(output), save_mask, skipped)
    else:
        jobs = _plan_paths(inputs, output, save_mask, skipped)
    check_collisions([(Path(j.input), [Path(p) for p in (j.output if method != "none" or j.video else None, j.mask)
                                       if p is not None]) for j in jobs])
    return jobs


def _plan_paths(inputs, output, save_mask: bool, skipped: list) -> list[Job]:
    """:func:`plan` for local paths only."""
    video_exts = video_extensions()
    files = expand_inputs([Path(i) for i in inputs], image_io.EXTENSIONS | video_exts, skipped)
    out = Path(output) if output is not None else None
    many = len(files) > 1 or any(Path(i).is_dir() for i in inputs)
    jobs = []
    for src, rel in files:
        video = src.suffix.lower() in video_exts and not image_io.is_photo(src)
        suffix = None if video else image_io.DEFAULT_OUTPUT.get(image_io.format_for(src, ""))
        dst = plan_output(src, rel, out, many, suffix)
        mask = dst.with_name(f"{dst.stem}_mask.{'mkv' if video else 'png'}") if save_mask else None
        jobs.append(Job(str(src), str(dst), None if mask is None else str(mask), video))
    return jobs


def _plan_uris(inputs: list[str], output: str | None, save_mask: bool, skipped: list) -> list[Job]:
    """:func:`plan` when an input or the output is a URI (the kind of file is told by its extension)."""
    video_exts = video_extensions()
    files: list[tuple[str, str]] = []
    folders = False
    for item in inputs:
        if remote.is_uri(item):
            found, folder = remote.expand(item, image_io.EXTENSIONS | video_exts, skipped)
            files += found
        else:
            files += [(str(p), rel.as_posix()) for p, rel in expand_inputs([Path(item)], image_io.EXTENSIONS | video_exts,
                                                                           skipped)]
            folder = Path(item).is_dir()
        folders = folders or folder
    many = len(files) > 1 or folders
    jobs = []
    for src, rel in files:
        ext = PurePosixPath(src).suffix.lower()
        video = ext in video_exts and ext not in image_io.EXTENSIONS
        suffix = None if video else image_io.DEFAULT_OUTPUT.get(image_io.format_for(Path(PurePosixPath(src).name), ""))
        name = str(PurePosixPath(rel).with_suffix(suffix)) if suffix else rel
        if output is None:
            dst = remote.sibling(src, suffix) if remote.is_uri(src) else str(default_output(Path(src), suffix))
        elif many or output.endswith("/") or (not remote.is_uri(output) and Path(output).is_dir()):
            dst = remote.join(output, name) if remote.is_uri(output) else str(Path(output) / name)
        else:
            dst = output
        mask = None
        if save_mask:
            head, _, tail = dst.rpartition("/")
            name = f"{PurePosixPath(tail).stem}_mask.{'mkv' if video else 'png'}"
            mask = f"{head}/{name}" if head else name
        jobs.append(Job(src, dst, mask, video))
    return jobs


def record(job: Job, status: str, error: str | None = None, result=None, seconds: float = 0.0,
           note: str | None = None) -> dict:
    """A run-log line for ``job`` (see :mod:`fuzzypeople.batch.log`)."""
    return {
        "input": job.input,
        # what was written: nothing for a failed file, no photo with method "none" (its mask only)
        "output": None if status == FAILED or (result is not None and result.output is None) else job.output,
        "mask": job.mask if status == DONE else None,
        "status": status,
        "error": error,
        "people": None if result is None else int(result.people),
        "kept": None if result is None else result.kept,
        "hidden": None if result is None else result.hidden,
        "hidden_share": None if result is None else round(float(result.hidden_share), 6),
        "seconds": round(float(seconds), 3),
        "warnings": [],
        "note": note,
    }


class Worker:
    """Anonymises one :class:`Job` at a time with models loaded once.

    ``threads`` (None: the settings' own) is the inference threads of each
    model session. A file that fails gives a ``failed`` record with a
    one-line reason, never an exception (but Ctrl-C, which is re-raised after
    the file being written is discarded). Privacy warnings (a strength below
    what was measured safe) are returned in the record's ``warnings``.
    ``progress`` shows a video's progress bar (a run of one file, in this process).
    """

    def __init__(self, settings: Settings, *, overwrite: bool = False, threads: int | None = None,
                 progress: bool = False):
        self.settings = settings if threads is None else settings.replace(threads=threads)
        self.overwrite = overwrite
        self.progress = progress
        self._anonymizers: dict = {}

    def anonymizer(self, kind: str):
        """The Anonymizer for ``"photo"`` or ``"video"`` (video: box masks, less tiling), made when first needed."""
        if kind not in self._anonymizers:
            from ..api import Anonymizer

            s = self.settings
            self._anonymizers[kind] = Anonymizer(settings=s.for_video() if kind == "video" else s)
        return self._anonymizers[kind]

    def __call__(self, job: Job) -> dict:
        from ..obfuscate import PrivacyWarning

        t0 = time.perf_counter()
        src = job.input
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("ignore")
            warnings.simplefilter("always", PrivacyWarning)
            try:
                if any(remote.is_uri(p) for p in (job.input, job.output, job.mask or "")):
                    res = self._remote(job)
                else:
                    res = self._local(job, Path(job.input), Path(job.output), Path(job.mask) if job.mask else None)
                out = record(job, DONE, result=res, seconds=time.perf_counter() - t0)
            except FuzzyError as exc:
                out = record(job, FAILED, str(exc), seconds=time.perf_counter() - t0)
            except MemoryError:
                out = record(job, FAILED, f"{src}: not enough memory for this file; nothing written",
                             seconds=time.perf_counter() - t0)
            except OSError as exc:
                out = record(job, FAILED, f"{src}: {(exc.strerror or str(exc)).lower()}; nothing written",
                             seconds=time.perf_counter() - t0)
            except Exception as exc:  # fail closed, but never a traceback
                out = record(job, FAILED, f"{src}: unexpected {type(exc).__name__}: {exc}; nothing written",
                             seconds=time.perf_counter() - t0)
        out["warnings"] = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, PrivacyWarning)))
        out["pid"] = os.getpid()
        out["threads"] = self.settings.threads
        return out

    def _local(self, job: Job, src: Path, dst: Path, mask: Path | None):
        """Anonymise local ``src`` into ``dst`` (and ``mask``); raises on failure."""
        if self.settings.method != "none" or job.video:
            check_distinct(src, dst)  # "would overwrite the input" says more than "exists"
            check_free(dst, self.overwrite)
        if mask is not None:
            check_free(mask, self.overwrite)
        if job.video:
            if self.settings.method == "cloak" or self.settings.cloak_kept:
                raise FuzzyError(src, "--method cloak is for photos (it takes seconds per face); videos are not cloaked")
            return anonymize_video(self.anonymizer("video"), src, dst, quiet=not self.progress, save_mask=mask)
        return anonymize_photo(self.anonymizer("photo"), src, dst, save_mask=mask)

    def _remote(self, job: Job):
        """A job with URIs: input copied into a private folder, outputs uploaded when complete."""
        writes = [p for p in (job.output if self.settings.method != "none" or job.video else None, job.mask) if p]
        if not self.overwrite:
            for uri in writes:
                if remote.is_uri(uri) and remote.exists(uri):
                    raise FuzzyError(uri, "already exists; skipped (use --overwrite to replace it)")
        with remote.private_folder() as tmp:
            src = remote.download(job.input, tmp) if remote.is_uri(job.input) else Path(job.input)
            (tmp / "out").mkdir()

            def staged(p):
                return None if p is None else tmp / "out" / PurePosixPath(p).name if remote.is_uri(p) else Path(p)

            dst, mask = staged(job.output), staged(job.mask)
            try:
                res = self._local(job, src, dst, mask)
            except FuzzyError as exc:  # name the URI, not the private copy
                raise FuzzyError(job.input, str(exc).replace(f"{src}: ", "", 1).replace(str(src), job.input)) from None
            for uri, local in ((job.mask, mask), (job.output, dst)):  # the output last: it says the file is done
                if uri and remote.is_uri(uri) and local is not None and local.exists():
                    remote.upload(local, uri)
        return res
