"""Every core of one machine: a pool of worker processes, each with its own models.

:func:`run_local` yields one record per job as files finish. With one
worker the files are processed in this process (today's single-process
run). With more, each worker is a fresh process (``spawn``: nothing of this
process's model sessions or threads is inherited) holding one
:class:`~fuzzypeople.batch.jobs.Worker`, so the models are loaded once per
worker, and its inference sessions get ``threads`` threads (workers x
threads = cores). The parent hands each idle worker the next job, so it
always knows which file a worker is on:

* a file that fails is a ``failed`` record, and the worker goes on;
* a worker that dies (killed, out of memory, a crash in native code) fails
  only the file it held, what it was writing for it is removed, and a new worker
  takes its place (unless workers keep dying with no file finished: then
  the files left fail, with the reason);
* Ctrl-C stops every worker (SIGTERM, which they turn into
  ``KeyboardInterrupt``: the file being written is discarded, see
  :func:`fuzzypeople.io.atomic.atomic_path`) and is raised again here.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import queue
import signal
import time
from pathlib import Path
from typing import Iterable, Iterator

from ..pipeline import Settings
from .jobs import FAILED, Job, Worker, record

POLL = 0.5  # seconds between checks that the workers are alive
STOP_WAIT = 15  # seconds a worker gets to discard its file after SIGTERM
MAX_DEATHS = 3  # per worker: more deaths in a row than this, with no file finished, end the run
MTIME_SLACK_NS = 1_000_000_000  # file times come from a coarse clock that may lag time.time_ns()


WORKER_MEMORY = 1 << 30  # bytes a worker may need: ~390 MiB measured for photos, ~550 MiB for video, plus big photos


def default_workers() -> int:
    """All cores, but no more workers than GiB of memory available (each holds its own models)."""
    from ..detect._runtime import cores

    return max(1, min(cores(), _available_memory() // WORKER_MEMORY))


def _available_memory() -> int:
    """Bytes of memory available (Linux MemAvailable; else free pages; else assume plenty)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def split_threads(workers: int, cores: int) -> int:
    """Inference threads per worker so that workers x threads <= cores (at least 1).

    >>> split_threads(1, 8), split_threads(2, 8), split_threads(3, 8), split_threads(4, 2)
    (8, 4, 2, 1)
    """
    return max(1, cores // max(1, workers))


def run_local(jobs: Iterable[Job], settings: Settings, *, workers: int = 1, threads: int | None = None,
              overwrite: bool = False, progress: bool = False) -> Iterator[dict]:
    """Process ``jobs`` with ``workers`` processes (1: in this process); yield each file's record as it finishes.

    ``threads``: inference threads per worker (None: the cores split
    between the workers; one worker then uses all of them, as a plain run).
    ``progress``: a video's progress bar, when processed in this process.
    """
    from ..detect._runtime import cores

    jobs = list(jobs)
    workers = max(1, min(int(workers), len(jobs)))
    if threads is None and workers > 1:
        threads = split_threads(workers, cores())
    if workers == 1:
        worker = Worker(settings, overwrite=overwrite, threads=threads, progress=progress)
        for job in jobs:
            yield worker(job)
        return
    yield from _Pool(settings, workers, threads, overwrite).run(jobs)


class _Pool:
    """Worker processes fed one job at a time from this process."""

    def __init__(self, settings: Settings, workers: int, threads: int, overwrite: bool):
        self.ctx = multiprocessing.get_context("spawn")
        self.args = (settings, overwrite, threads)
        self.size = workers
        self.results = self.ctx.Queue()
        self.procs: dict[int, tuple] = {}  # worker id -> (process, its task queue)
        self.busy: dict[int, tuple[Job, int]] = {}  # worker id -> the job it holds, when it was handed over (ns)
        self.next_id = 0

    def _start(self) -> int:
        wid, self.next_id = self.next_id, self.next_id + 1
        tasks = self.ctx.Queue()
        proc = self.ctx.Process(target=_serve, args=(wid, *self.args, tasks, self.results), daemon=True,
                                name=f"fuzzypeople-worker-{wid}")
        proc.start()
        self.procs[wid] = (proc, tasks)
        return wid

    def run(self, jobs: list[Job]) -> Iterator[dict]:
        todo = collections.deque(jobs)
        try:
            for _ in range(self.size):
                self._start()
            idle = list(self.procs)
            deaths = 0  # workers dead in a row, with no file finished between
            while todo or self.busy:
                while idle and todo:
                    wid = idle.pop()
                    if not self.procs[wid][0].is_alive():  # died between files: replace it, lose nothing
                        self.procs.pop(wid)
                        idle.append(self._start())
                        continue
                    job = todo.popleft()
                    self.busy[wid] = (job, time.time_ns())
                    self.procs[wid][1].put(job)
                try:
                    wid, rec = self.results.get(timeout=POLL)
                except queue.Empty:
                    for wid in [w for w in self.busy if not self.procs[w][0].is_alive()]:
                        job, since = self.busy.pop(wid)
                        code = self.procs.pop(wid)[0].exitcode
                        _remove_leftovers(job, since)
                        yield record(job, FAILED, f"{job.input}: the worker process died while on this file "
                                                  f"({_death(code)}); nothing written")
                        deaths += 1
                        if deaths > MAX_DEATHS * self.size:  # they cannot even start: stop, say why
                            yield from (record(j, FAILED, f"{j.input}: not processed: {deaths} worker processes "
                                                          f"died in a row ({_death(code)})") for j in todo)
                            todo.clear()
                        else:
                            idle.append(self._start())
                    continue
                deaths = 0
                if wid in self.busy:
                    del self.busy[wid]
                    idle.append(wid)
                    yield rec
        except BaseException:
            self._stop()
            raise
        self._close()

    def _close(self) -> None:
        for _, tasks in self.procs.values():
            tasks.put(None)
        for proc, _ in self.procs.values():
            proc.join(STOP_WAIT)
            if proc.is_alive():
                proc.kill()

    def _stop(self) -> None:
        """Interrupted: every worker discards the file it is writing and exits."""
        for proc, _ in self.procs.values():
            if proc.is_alive():
                proc.terminate()
        for proc, _ in self.procs.values():
            proc.join(STOP_WAIT)
            if proc.is_alive():
                proc.kill()
                proc.join()


def _remove_leftovers(job: Job, since: int) -> None:
    """Delete what a killed worker was writing for ``job`` (it had no chance to).

    That is its temporary files, and also an output it had already renamed into
    place (written after ``since``, in ns) when it died before reporting: the log
    says the file failed and nothing was written, so the folder must agree, and a
    resumed run redoes it.
    """
    from ..io.atomic import leftovers
    from .remote import is_uri

    for target in (job.output, job.mask):
        if target and not is_uri(target):
            done = Path(target)
            with contextlib.suppress(OSError):
                if done.stat().st_mtime_ns >= since - MTIME_SLACK_NS:
                    done.unlink()
            for p in leftovers(target):
                with contextlib.suppress(OSError):
                    p.unlink()


def _death(code: int | None) -> str:
    """Why a worker process ended, from its exit code.

    >>> _death(-9), _death(1)
    ('killed by signal 9 (out of memory?)', 'exit status 1')
    """
    if code is not None and code < 0:
        return f"killed by signal {-code}" + (" (out of memory?)" if code == -signal.SIGKILL else "")
    return f"exit status {code}"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _serve(wid: int, settings: Settings, overwrite: bool, threads: int, tasks, results) -> None:
    """A worker process: models loaded once, then one job at a time until told to stop."""
    import warnings

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, _interrupt)  # the parent's stop: discard the file being written
    warnings.simplefilter("ignore")
    try:
        import cv2

        cv2.setNumThreads(threads)
        worker = Worker(settings, overwrite=overwrite, threads=threads)
        while True:
            job = tasks.get()
            if job is None:
                return
            results.put((wid, worker(job)))
    except KeyboardInterrupt:
        return
