"""What hiding a fully masked full-HD frame costs, as a multiple of copying it.

Copy and each method are timed interleaved in the same run (the machine is
shared and noisy, so only ratios measured side by side mean anything).

    python benchmarks/scramble_speed.py [--repeats 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np

from fuzzypeople.obfuscate import METHODS, Params, obfuscate
from fuzzypeople.obfuscate.scramble import offset_field


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--radius", type=int, default=16)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    mask = np.ones(frame.shape[:2], bool)
    params = Params(radius=args.radius, seed=1)

    t0 = time.perf_counter()
    offset_field(1080, 1920, args.radius, "square", 1)
    field_ms = (time.perf_counter() - t0) * 1000

    methods = [m for m in METHODS if m != "none"]
    totals = {"copy": 0.0, **{m: 0.0 for m in methods}}
    for m in methods:  # warm up caches and the offset field
        obfuscate(frame, mask, m, params)
    for _ in range(args.repeats):
        t = time.perf_counter()
        frame.copy()
        totals["copy"] += time.perf_counter() - t
        for m in methods:
            t = time.perf_counter()
            obfuscate(frame, mask, m, params)
            totals[m] += time.perf_counter() - t
    copy_ms = totals["copy"] / args.repeats * 1000
    print(f"# {dt.date.today()} python benchmarks/scramble_speed.py --repeats {args.repeats} --radius {args.radius}")
    print(f"1920x1080 frame, fully masked; plain copy {copy_ms:.2f} ms")
    print(f"scramble offset field, drawn once per video/size: {field_ms:.0f} ms")
    for m in methods:
        ms = totals[m] / args.repeats * 1000
        print(f"{m:10s} {ms:7.2f} ms  = {ms / copy_ms:5.1f} x copy")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
