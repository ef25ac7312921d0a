"""Many files at once: every core of one machine, or a Ray cluster, with the same outputs.

* :mod:`.jobs`: :func:`plan` (inputs -> one :class:`Job` per file) and
  :class:`Worker`, the per-file function every runner calls (models loaded
  once per worker);
* :mod:`.local`: :func:`run_local`, a pool of worker processes (or this
  process alone);
* :mod:`.ray`: :func:`run_ray`, a Ray Data pipeline whose actors hold the
  models (the ``fuzzypeople[ray]`` extra);
* :mod:`.log`: the JSONL run log and resuming from it.

:func:`process` runs a job list through one of them, skipping what an
earlier run with the same log finished and logging every file;
:func:`run` is the whole thing from paths, for Python callers::

    from fuzzypeople import batch
    records = batch.run(["photos/"], "anonymized/", workers=4, log="run.jsonl", seed=1)
    records = batch.run(["photos/"], "anonymized/", ray="auto")   # join a running Ray cluster

Outputs do not depend on the runner or the number of workers: with a
``seed``, they are byte-identical (the scramble field depends on the seed
and the frame size only, see :mod:`fuzzypeople.obfuscate.scramble`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterable, Iterator

from ..pipeline import Settings
from .jobs import DONE, FAILED, SKIPPED, Job, Worker, plan, record
from .local import default_workers, run_local, split_threads
from .log import RunLog, settings_key

__all__ = ["DONE", "FAILED", "SKIPPED", "Job", "RunLog", "Worker", "default_workers", "plan", "process", "run",
           "run_local",
           "settings_key", "split_threads"]


def process(jobs: Iterable[Job], settings: Settings, *, workers: int | None = None, threads: int | None = None,
            ray: str | None = None, log: str | Path | None = None, overwrite: bool = False,
            ray_cpus: int | None = None, progress: bool = False) -> Iterator[dict]:
    """Anonymise ``jobs``; yield one record per file as it finishes (and append it to ``log``).

    ``workers``: processes (default: all cores, at most one per GiB of
    memory available, see :func:`~.local.default_workers`) or, with ``ray``, actors
    (default: the cluster's CPUs). ``ray``: None for the local pool, else a
    Ray address (``"auto"``, ``"ray://host:10001"``...) or ``"local"`` to
    start a local cluster (of ``ray_cpus`` CPUs, default all). With a
    ``log``, files it records as written with the same settings, whose
    output is still there, are not redone (``skipped``) unless ``overwrite``.
    ``progress``: show a video's progress bar (one file, processed in this process).
    """
    jobs = list(jobs)
    runlog = RunLog(log, settings_key(settings)) if log is not None else None
    finished = runlog.finished() if runlog is not None and not overwrite else {}
    earlier = [bool(finished) and runlog.is_finished(j, finished) for j in jobs]
    todo = [j for j, e in zip(jobs, earlier) if not e]
    done_before = [j for j, e in zip(jobs, earlier) if e]
    with runlog if runlog is not None else contextlib.nullcontext():
        for job in done_before:
            rec = record(job, SKIPPED, note="finished by an earlier run (see the log); --overwrite redoes it")
            if runlog is not None:
                runlog.write(rec)
            yield rec
        if not todo:
            return
        if ray is not None:
            from .ray import run_ray

            records = run_ray(todo, settings, address=None if ray == "local" else ray, workers=workers,
                              threads=threads, overwrite=overwrite, num_cpus=ray_cpus)
        else:
            records = run_local(todo, settings, workers=workers or default_workers(), threads=threads, overwrite=overwrite,
                                progress=progress)
        for rec in records:
            if runlog is not None:
                runlog.write(rec)
            yield rec


def run(inputs, output: str | Path | None = None, *, workers: int | None = None, threads: int | None = None,
        ray: str | None = None, log: str | Path | None = None, overwrite: bool = False, save_mask: bool = False,
        settings: Settings | None = None, ray_cpus: int | None = None, **options) -> list[dict]:
    """Anonymise files and folders (layout kept under ``output``); return every file's record.

    Takes the fields of :class:`~fuzzypeople.pipeline.Settings` as keywords
    (``method="pixelate"``, ``seed=1``...) or a whole ``settings=``. Files
    that fail are records with ``status == "failed"`` and their reason in
    ``error``; nothing is raised for them.

    >>> import tempfile, numpy as np
    >>> from PIL import Image
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "in" / "sub").mkdir(parents=True)
    >>> Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(folder / "in" / "sub" / "empty.png")
    >>> (folder / "in" / "bad.png").write_bytes(b"not a png")
    9
    >>> recs = run([folder / "in"], folder / "out", workers=1, targets="faces")
    >>> sorted((Path(r["input"]).name, r["status"]) for r in recs)
    [('bad.png', 'failed'), ('empty.png', 'done')]
    >>> (folder / "out" / "sub" / "empty.png").is_file()
    True
    """
    settings = settings.replace(**options) if settings is not None else Settings(**options)
    jobs = plan(inputs, output, method=settings.method, save_mask=save_mask)
    return list(process(jobs, settings, workers=workers, threads=threads, ray=ray, log=log, overwrite=overwrite,
                        ray_cpus=ray_cpus))

