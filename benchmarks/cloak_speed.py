"""Seconds per face of the cloak, per mode, on Grace Hopper (matplotlib's sample photo).

    python benchmarks/cloak_speed.py

Prints wall-clock and CPU seconds (this process) for one face per mode,
after one warm-up run that builds the gradient graph. On a shared machine
the wall time depends on the other load; the CPU seconds much less (a quiet
2-core machine runs the two onnxruntime threads side by side, so wall time
there is at most the CPU time).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fuzzypeople.detect.centerface import CenterFace  # noqa: E402
from fuzzypeople.faceid import Embedder  # noqa: E402
from fuzzypeople.faceid.cloak import MODES, Mode, cloak_faces  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> int:
    rgb = np.asarray(Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB"))
    _, _, points = CenterFace().with_landmarks(rgb)
    emb = [Embedder()]
    cloak_faces(rgb, points[:1], emb, Mode(dssim=0.008, linf=16, steps=2))  # warm-up
    for name, mode in MODES.items():
        c0, t0 = cpu(), time.perf_counter()
        cloak_faces(rgb, points[:1], emb, mode)
        print(f"{name}: {time.perf_counter() - t0:.1f} s wall, {cpu() - c0:.1f} s CPU per face ({mode.steps} steps x {mode.eot})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
