"""Many files at once: photos/s and video seconds with 1 and 2 workers, local pool and Ray, in one run.

    PYTHONPATH=src python3 benchmarks/batch_speed.py [--photos 40] [--end SECONDS] [--no-ray] [--no-video]

The unit is one worker with ONE inference thread: a single process already
runs its models on every core, so "2 workers vs 1 worker" would otherwise
compare 2x1 threads with 1x2. Also measured: today's default, one process
using all cores (``--workers 1``, threads = cores).

Photos: the first ``--photos`` of ``../shared/data/coco-people/images``
(sorted by name), default settings (scramble, ``--seed 1``), through
:func:`fuzzypeople.batch.process` as ``fuzzypeople DIR -o OUT`` runs them.
Per configuration:

* wall: from the call to the last file, start-up included (spawning
  workers, loading models; Ray actors; not the Ray cluster, started once
  before with ``ray.init(num_cpus=cores)``);
* steady photos/s: files finished after each worker's first one, divided by
  the time between (model loading and warm-up left out), the figure that
  matters for hundreds of thousands of photos;
* CPU seconds of this process and its worker processes (not Ray's actors):
  on a machine shared with other work, the wall-clock ratios only show what
  share of the cores the run got, while CPU per photo shows what the
  parallel run costs over one worker.

Video: ``../shared/data/video/vtest.avi`` (795 frames, 768x576; ``--end``
to cut it), whole-video tasks: the video alone (one task: extra workers
cannot help until the video is split into segments, which is not this
module's job), and two copies of it with 1 and 2 workers.

Single-threaded means one inference thread per model session and (set in
each worker) one OpenCV thread; the video decoder and encoder (ffmpeg) keep
their own threads. Ratios are within this run; the machine may be shared with other work, so
compare them, not the absolute figures, with other runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
COCO = SHARED / "coco-people" / "images"
VTEST = SHARED / "video" / "vtest.avi"


def cpu_seconds() -> float:
    """CPU time of this process and its finished (waited-for) children: local workers count, Ray actors do not."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(records, workers: int) -> dict:
    """Consume ``records``; wall seconds, steady files/s (after each worker's first file), CPU s, failures."""
    c0 = cpu_seconds()
    t0 = time.perf_counter()
    stamps, first_of, failed = [], set(), 0
    for rec in records:
        now = time.perf_counter() - t0
        failed += rec["status"] == "failed"
        pid = rec.get("pid")
        stamps.append((now, pid not in first_of))
        first_of.add(pid)
    wall = time.perf_counter() - t0
    warm = [t for t, first in stamps if first]
    steady_from = max(warm) if warm else 0.0
    later = [t for t, first in stamps if not first and t > steady_from]
    steady = len(later) / (later[-1] - steady_from) if len(later) >= 2 else float("nan")
    cpu = cpu_seconds() - c0
    return dict(files=len(stamps), wall=wall, rate=len(stamps) / wall, steady=steady, failed=failed, cpu=cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=40, help="first N coco-people photos (default 40 of 77)")
    ap.add_argument("--end", type=float, default=None, help="video: only the first SECONDS of vtest")
    ap.add_argument("--rounds", type=int, default=1,
                    help="photos: run every configuration this many times, in turn; each keeps its best round")
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--no-video", action="store_true")
    args = ap.parse_args()

    from fuzzypeople import batch
    from fuzzypeople.detect._runtime import cores
    from fuzzypeople.pipeline import Settings

    ncores = cores()
    photos = sorted(COCO.glob("*.jpg"))[: args.photos]
    if not photos:
        sys.exit(f"no photos in {COCO}")
    settings = Settings(seed=1)
    tmp = Path(tempfile.mkdtemp(prefix="batch_speed."))
    print(f"{len(photos)} coco-people photos ({photos[0].name} .. {photos[-1].name}), {ncores} cores, "
          f"machine possibly shared (load average {os.getloadavg()[0]:.1f}); outputs in {tmp}")

    import cv2

    def one_thread(kw):
        """In this process (one worker), OpenCV's threads too follow ``threads`` (pool workers set it themselves)."""
        cv2.setNumThreads(kw.get("threads") or ncores)

    def photo_run(name, **kw) -> dict:
        out = tmp / name
        jobs = batch.plan([p for p in photos], out)
        one_thread(kw)
        res = timed(batch.process(jobs, settings, **kw), kw.get("workers") or 1)
        cv2.setNumThreads(ncores)
        cpu = f"{res['cpu']:6.1f} s" if "ray" not in kw else "   n/a  "
        print(f"  {name:28s} wall {res['wall']:6.1f} s  {res['rate']:5.2f} photos/s (with start-up)  "
              f"steady {res['steady']:5.2f} photos/s  CPU {cpu}  failed {res['failed']}", flush=True)
        return res

    configs = [("default", "default (1 proc, all cores)", dict(workers=1)),
               ("unit", "local 1 worker x 1 thread", dict(workers=1, threads=1)),
               ("local2", "local 2 workers x 1 thread", dict(workers=2, threads=1))]
    if not args.no_ray:
        configs += [("ray1", "ray 1 actor x 1 thread", dict(ray="auto", workers=1, threads=1)),
                    ("ray2", "ray 2 actors x 1 thread", dict(ray="auto", workers=2, threads=1))]
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=ncores, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        print(f"  (ray.init(num_cpus={ncores}) took {time.perf_counter() - t:.1f} s, not counted)")
    rows: dict[str, dict] = {}
    try:
        for r in range(args.rounds):
            print(f" round {r + 1}:")
            for key, name, kw in configs:
                shutil.rmtree(tmp / name, ignore_errors=True)
                res = photo_run(name, **kw)
                if key not in rows or res["steady"] > rows[key]["steady"]:
                    rows[key] = res
    finally:
        if not args.no_ray:
            ray.shutdown()
    files_same = _same(tmp, [k for k in ("default (1 proc, all cores)", "local 1 worker x 1 thread",
                                         "local 2 workers x 1 thread", "ray 1 actor x 1 thread",
                                         "ray 2 actors x 1 thread") if (tmp / k).exists()])
    print(f"  outputs byte-identical across configurations: {files_same}")

    print("\nphotos, ratios (steady rate; wall with start-up in brackets):")
    for key, label in [("local2", "local 2 workers / 1 single-threaded worker (issue: >= 1.8x)"),
                       ("ray2", "ray 2 actors / 1 single-threaded worker"),
                       ("ray1", "ray 1 actor / local 1 worker")]:
        if key in rows:
            base = rows["unit"]
            print(f"  {label:62s} {rows[key]['steady'] / base['steady']:5.2f}x  ({base['wall'] / rows[key]['wall']:.2f}x)")
    print(f"  {'local 2 workers / default single process (issue: > 1)':62s} "
          f"{rows['local2']['steady'] / rows['default']['steady']:5.2f}x  ({rows['default']['wall'] / rows['local2']['wall']:.2f}x)")
    if "ray2" in rows:
        print(f"  {'ray 2 actors / local 2 workers (issue: >= 0.85)':62s} "
              f"{rows['ray2']['steady'] / rows['local2']['steady']:5.2f}x  ({rows['local2']['wall'] / rows['ray2']['wall']:.2f}x)")
    print("CPU seconds per photo (start-up included; what 2 workers cost over 1, whatever else runs on the machine):")
    for key in ("default", "unit", "local2"):
        print(f"  {key:8s} {rows[key]['cpu'] / rows[key]['files']:.2f}")
    print(f"load average after the photos: {os.getloadavg()[0]:.1f}")

    if args.no_video or not VTEST.exists():
        shutil.rmtree(tmp, ignore_errors=True)
        return
    vset = settings if args.end is None else settings.replace(end=args.end)
    vdir = tmp / "videos"
    vdir.mkdir()
    for i in (1, 2):
        os.symlink(VTEST, vdir / f"vtest{i}.avi")

    def video_run(name, inputs, **kw) -> float:
        (tmp / name).mkdir()
        jobs = batch.plan(inputs, tmp / name)
        one_thread(kw)
        c = cpu_seconds()
        t = time.perf_counter()
        recs = list(batch.process(jobs, vset, **kw))
        took = time.perf_counter() - t
        c = cpu_seconds() - c
        cv2.setNumThreads(ncores)
        bad = [r["error"] for r in recs if r["status"] != "done"]
        print(f"  {name:34s} {took:6.1f} s for {len(jobs)} video{'s' * (len(jobs) > 1)}, CPU {c:6.1f} s"
              + (f"  FAILED: {bad}" if bad else ""), flush=True)
        return took

    print(f"\nvideo: {VTEST.name}" + (f", first {args.end:g} s" if args.end else ", whole") + ", whole-video tasks")
    v_default = video_run("1 video, default (all cores)", [vdir / "vtest1.avi"], workers=1)
    v_unit = video_run("1 video, 1 worker x 1 thread", [vdir / "vtest1.avi"], workers=1, threads=1)
    v2_1 = video_run("2 videos, 1 worker x 1 thread", [vdir], workers=1, threads=1)
    v2_2 = video_run("2 videos, 2 workers x 1 thread", [vdir], workers=2, threads=1)
    print("video, ratios:")
    print(f"  {'1 video: default / 1 single-threaded worker':52s} {v_unit / v_default:5.2f}x faster")
    print(f"  {'2 videos: 2 workers / 1 single-threaded worker':52s} {v2_1 / v2_2:5.2f}x faster")
    print(f"  {'2 videos: 2 workers / default one after the other':52s} {2 * v_default / v2_2:5.2f}x faster")
    print(f"  (same bytes for the video, 1 and 2 workers: {_same(tmp, ['2 videos, 1 worker x 1 thread', '2 videos, 2 workers x 1 thread'])})")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    shutil.rmtree(tmp, ignore_errors=True)


def _same(tmp: Path, names: list[str]) -> bool:
    """Do these output folders hold the same files, byte for byte?"""
    def files(root):
        return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    sets = [files(tmp / n) for n in names]
    return all(s == sets[0] for s in sets[1:])


if __name__ == "__main__":
    main()
