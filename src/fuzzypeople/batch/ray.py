"""A Ray cluster: the same jobs and the same per-file function, run by Ray Data actors.

:func:`run_ray` builds a Ray Data pipeline: the job list (``from_items``,
one block per job or so) -> ``map_batches`` over a pool of actors, each
holding one :class:`~fuzzypeople.batch.jobs.Worker` (models loaded once per
actor) -> one record per file back to this process, which writes the log.
Actors read their input and write their output themselves, so every node
must see the same paths (a shared file system); outputs are written
atomically by the same code as a local run, so they are the same bytes.

Resources are sized from the cluster: an actor asks for
``min(1, CPUs / (actors + 1))`` CPUs, so that a CPU's worth is always left
for Ray Data's own tasks. With whole-CPU actors on a 2-CPU machine the
actors hold every CPU, Ray Data's other tasks wait forever and the run
hangs (issue #15). Each actor's inference sessions get the cluster's CPUs
split between the actors (at most one node's CPUs).

Without an address a local cluster is started for the run and stopped at
the end; with one (``"auto"``, ``"ray://head:10001"``, ``"10.0.0.5:6379"``)
the run joins that cluster and leaves it running.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from typing import Iterable, Iterator

import numpy as np

from ..pipeline import Settings
from .jobs import FAILED, Job, Worker, record
from .local import split_threads

MAX_BLOCKS = 10_000  # jobs are spread over this many blocks at most (one per job below it)


def actor_cpus(cluster_cpus: float, actors: int) -> float:
    """CPUs each of ``actors`` asks for: at most 1, leaving room for one more (Ray Data's own tasks).

    >>> actor_cpus(2, 2), actor_cpus(2, 1), actor_cpus(64, 64)
    (0.66, 1.0, 0.98)
    """
    return min(1.0, math.floor(100 * cluster_cpus / (actors + 1)) / 100)


class _Actor:
    """A Ray Data actor: one :class:`Worker` (models loaded once) applied to batches of jobs."""

    def __init__(self, settings: Settings, overwrite: bool, threads: int):
        import cv2

        warnings.simplefilter("ignore")
        cv2.setNumThreads(threads)
        self.worker = Worker(settings, overwrite=overwrite, threads=threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[str]]:
        n = len(batch["input"])
        jobs = [Job.from_dict({k: _plain(v[i]) for k, v in batch.items()}) for i in range(n)]
        return {"record": [json.dumps(self.worker(job)) for job in jobs]}


def _plain(value):
    """A numpy scalar from a batch as a plain Python value."""
    return value.item() if isinstance(value, np.generic) else value


def run_ray(jobs: Iterable[Job], settings: Settings, *, address: str | None = None, workers: int | None = None,
            threads: int | None = None, overwrite: bool = False, num_cpus: int | None = None) -> Iterator[dict]:
    """Process ``jobs`` on a Ray cluster; yield each file's record as it comes back.

    ``address``: a running cluster to join (None: start a local one with
    ``num_cpus`` CPUs, default all). ``workers``: actors (default: one per
    cluster CPU). ``threads``: inference threads per actor (default: the
    CPUs split between the actors, at most one node's).
    """
    try:
        import ray
    except ImportError:
        from ..errors import FuzzyError

        raise FuzzyError("--ray", "needs Ray: pip install 'fuzzypeople[ray]'") from None
    jobs = list(jobs)
    if not jobs:
        return
    started = False
    if not ray.is_initialized():
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                      configure_logging=True)
        if address is None:
            ray.init(num_cpus=num_cpus, **kwargs)
        else:
            ray.init(address=address, **kwargs)
        started = True
    try:
        yield from _pipeline(ray, jobs, settings, workers, threads, overwrite)
    finally:
        if started:
            ray.shutdown()  # a local cluster stops; a joined one only loses this driver


def _pipeline(ray, jobs: list[Job], settings: Settings, workers, threads, overwrite) -> Iterator[dict]:
    """The Ray Data pipeline: jobs -> actors -> records."""
    import ray.data

    cpus = float(ray.cluster_resources().get("CPU", 1))
    node_cpus = max([n["Resources"].get("CPU", 1) for n in ray.nodes() if n.get("Alive")] or [1])
    actors = max(1, min(int(workers or cpus), len(jobs)))
    if threads is None:
        threads = min(split_threads(actors, int(cpus)), int(node_cpus))
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # no "execution finished" lines
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    ds = ray.data.from_items([{**j.to_dict(), "mask": j.mask or ""} for j in jobs],
                             override_num_blocks=min(len(jobs), MAX_BLOCKS))
    # max_restarts=0: an actor that dies (a file crashing native code) is not restarted to crash again
    # on the same file; the files left are then failed below.
    # (Ray 2.60 warns that extra remote arguments will go in 2.64; max_restarts is still how Ray Data's
    # own docs turn restarts off, and the extra pins the version.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ds.map_batches(_Actor, fn_constructor_kwargs=dict(settings=settings, overwrite=overwrite, threads=threads),
                            batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors),
                            num_cpus=actor_cpus(cpus, actors), max_restarts=0)
    seen = set()
    try:
        for row in ds.iter_rows():
            rec = json.loads(row["record"])
            seen.add(rec["input"])
            yield rec
    except Exception as exc:  # the cluster failed (an actor kept dying, a node was lost...)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        for job in jobs:
            if job.input not in seen:
                yield record(job, FAILED, f"{job.input}: the Ray run failed before this file was done "
                                          f"({type(exc).__name__}: {reason}); nothing written")
