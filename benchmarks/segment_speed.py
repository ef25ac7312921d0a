"""Seconds for the street video in one piece and in segments (--segment-seconds), with 1 and 2 workers.

    PYTHONPATH=src python3 benchmarks/segment_speed.py [VIDEO] [--seconds 40] [--rounds 1]

Each setting is the real command, end to end (start-up, model loading, the
join included), run one after the other in this one run:

* ``default``: ``fuzzypeople VIDEO`` in one piece (its inference uses every core);
* ``segments, 1 worker, 1 thread``: ``--segment-seconds S --workers 1`` with
  ``FUZZYPEOPLE_THREADS=1``: one single-threaded worker, the unit;
* ``segments, 2 workers``: ``--segment-seconds S --workers 2`` (one inference
  thread each on two cores).

Printed: wall seconds, CPU seconds (the command and the worker processes it
waited for), frames/s, and the ratios of the wall times, measured in the same
run. With ``--rounds`` > 1 the settings alternate and each keeps its best
round. Every output is checked for its frame count.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import av

HERE = Path(__file__).resolve().parent
VTEST = HERE.parents[1] / "shared" / "data" / "video" / "vtest.avi"
OUT = HERE / "out"


def frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(c.streams.video[0]) if p.size)


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds of ``cmd`` and the children it waited for (the worker processes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", type=Path, default=VTEST)
    ap.add_argument("--seconds", type=float, default=40.0, help="--segment-seconds (default 40: two segments of vtest)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--end", type=float, default=None, help="only the first END seconds (a quick check)")
    args = ap.parse_args()
    if not args.video.exists():
        sys.exit(f"no video at {args.video}")
    OUT.mkdir(exist_ok=True)
    n = frames(args.video)
    base = [sys.executable, "-m", "fuzzypeople", str(args.video), "-q", "--overwrite", "--seed", "1"]
    if args.end:
        base += ["--end", f"{args.end:g}"]
        n = None  # counted from the first output; the others must match it
    seg = ["--segment-seconds", f"{args.seconds:g}"]
    env = {k: v for k, v in os.environ.items() if k != "FUZZYPEOPLE_THREADS"}
    settings = {
        "default (one piece)": (base + ["-o", str(OUT / "seg_default.mp4")], env),
        "segments, 1 worker, 1 thread": (base + ["-o", str(OUT / "seg_w1.mp4"), *seg, "--workers", "1"],
                                         {**env, "FUZZYPEOPLE_THREADS": "1"}),
        "segments, 2 workers": (base + ["-o", str(OUT / "seg_w2.mp4"), *seg, "--workers", "2"], env),
    }
    print(f"{args.video.name}: {n or '?'} frames, {os.cpu_count()} cores, --segment-seconds {args.seconds:g}",
          flush=True)
    best: dict[str, tuple[float, float]] = {}
    for r in range(args.rounds):
        for name, (cmd, e) in settings.items():
            wall, cpu = timed(cmd, e)
            out = Path(cmd[cmd.index("-o") + 1])
            got = frames(out)
            n = got if n is None else n
            if got != n:
                sys.exit(f"{name}: {got} frames written, {n} in the input")
            print(f"  round {r + 1}: {name}: {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
            if name not in best or wall < best[name][0]:
                best[name] = (wall, cpu)
    print()
    print("| setting | s wall | s CPU | frames/s |")
    print("|---|---|---|---|")
    for name, (wall, cpu) in best.items():
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {n / wall:.1f} |")
    d, w1, w2 = (best[k][0] for k in settings)
    print()
    print(f"2 workers vs 1 single-threaded worker: {w1 / w2:.2f}x (target >= 1.7x)")
    print(f"2 workers vs the one-piece default:   {d / w2:.2f}x (target > 1x)")
    print(f"1 single-threaded worker vs default:  {d / w1:.2f}x")


if __name__ == "__main__":
    main()
