"""Short videos in the web app: anonymised in a background job with progress.

A job runs :func:`fuzzypeople.pipeline.anonymize_video` (the command line's
path: detection cadence, tracking, box masks, audio kept, metadata stripped)
with its own :class:`~fuzzypeople.Anonymizer` (video settings). PyAV reads
and writes files, so the upload and the result live in a private temporary
folder (mode 0700) only while the job runs; the result is then held in
memory until downloaded or evicted, and the folder is removed whatever
happens. Progress counts the frames hidden: the job hands the pipeline a
thin :class:`Counting` wrapper around the Anonymizer's stages.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FuzzyError

VIDEO_TYPES = {
    "video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm", "video/x-matroska": ".mkv",
    "video/x-msvideo": ".avi", "video/avi": ".avi", "video/x-m4v": ".m4v",
}
MEDIA_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
               ".mkv": "video/x-matroska", ".avi": "video/x-msvideo"}
MAX_VIDEO_BYTES = 100 * 1024 * 1024
MAX_VIDEO_FRAMES = 3600  # about two minutes at 30 frames/s: "short"
MAX_JOBS = 2


@dataclass
class Job:
    """One video being (or done being) anonymised."""

    name: str
    ext: str
    status: str = "queued"  # queued, running, done, error
    done: int = 0  # frames hidden so far
    total: int | None = None
    message: str = ""
    people: int = 0
    result: bytes | None = field(default=None, repr=False)

    def public(self) -> dict:
        return {"status": self.status, "done": self.done, "total": self.total, "message": self.message,
                "people": self.people, "size": len(self.result) if self.result else 0}


class Counting:
    """The stages of an Anonymizer, counting the frames hidden (for progress)."""

    def __init__(self, stages, job: Job):
        self._stages, self._job = stages, job
        self.settings = stages.settings

    def detect(self, rgb):
        return self._stages.detect(rgb)

    def mask(self, people, shape):
        return self._stages.mask(people, shape)

    def hide(self, pixels, mask, params=None):
        out = self._stages.hide(pixels, mask, params)
        self._job.done += 1
        return out


class Jobs:
    """Video jobs by random id: one runs at a time; the last few are kept (results in memory)."""

    def __init__(self, size: int = MAX_JOBS):
        self.size = size
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._run = threading.Lock()  # one video at a time: two cores are shared with the photos
        self._folders: set[str] = set()  # private temp folders of running jobs

    def close(self) -> None:
        """Remove the temporary folders of jobs still running (the server is stopping); they then fail."""
        with self._lock:
            folders = list(self._folders)
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)

    def get(self, key: str) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def drop(self, key: str) -> bool:
        with self._lock:
            return self._jobs.pop(key, None) is not None

    def start(self, data: bytes, job: Job, settings, max_side: int, max_frames: int = MAX_VIDEO_FRAMES) -> str:
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._jobs[key] = job
            while len(self._jobs) > self.size:
                old_key, old = next(iter(self._jobs.items()))
                if old.status in ("queued", "running"):
                    break  # never drop a running job; the newest waits its turn
                self._jobs.pop(old_key)
        threading.Thread(target=self._work, args=(job, [data], settings, max_side, max_frames), daemon=True).start()
        return key

    def _work(self, job: Job, box: list, settings, max_side: int, max_frames: int) -> None:
        from ..api import Anonymizer
        from ..io.video import VideoReader, open_file
        from ..pipeline import anonymize_video

        with self._run:
            job.status = "running"
            try:
                with tempfile.TemporaryDirectory(prefix="fuzzypeople-", ignore_cleanup_errors=True) as folder:
                    with self._lock:
                        self._folders.add(folder)
                    try:
                        src = Path(folder) / f"upload{job.ext}"
                        dst = Path(folder) / f"result{job.ext}"
                        src.write_bytes(box.pop())  # the only reference to the upload's bytes goes
                        with VideoReader(open_file(src), "video") as reader:
                            w, h = reader.video.width, reader.video.height
                            job.total = reader.estimated_frames()
                        if max(w, h) > max_side:
                            raise FuzzyError(None, f"it is {w}x{h} pixels; the limit is {max_side} pixels a side")
                        if job.total is not None and job.total > max_frames:
                            raise FuzzyError(None, f"it has about {job.total} frames; the limit is {max_frames} "
                                                   "(a short clip). Use the command line for long videos")
                        stages = Counting(Anonymizer(settings=settings), job)
                        res = anonymize_video(stages, src, dst, settings, quiet=True)
                        job.people = int(res.people)
                        job.result = dst.read_bytes()
                    finally:
                        with self._lock:
                            self._folders.discard(folder)
                job.status = "done"
            except FuzzyError as exc:
                job.status, job.message = "error", f"Cannot anonymise this video: {exc.problem}"
            except Exception as exc:  # fail closed: no result, a one-line reason, no content
                job.status, job.message = "error", f"Cannot anonymise this video ({type(exc).__name__})."
