"""Peak memory for a very large photo: a 144 MP PNG (14400 x 10000) with people in it.

    python benchmarks/big_photo.py [--width 14400 --height 10000] [--format png] [--args "--method solid"]

The photo is made here (the coffee photo tiled as a background, Grace Hopper
and the astronaut pasted in at a few places and sizes), written once, then
anonymised by the ``fuzzypeople`` command; the command's own peak RSS (its
rusage, not this script's), wall time and exit status are printed, and the
share of each pasted person's pixels that changed. The photo is analysed at a
bounded working size (``pipeline.photo.ANALYSIS_MAX_SIDE``) with the mask
scaled back up, the full-size pixels let go meanwhile and decoded again for
hiding (``pipeline.photo.Redecode``), and hidden in bands (``BAND_PIXELS``;
scramble in place, ``obfuscate.scramble.scramble_in_place``).

To compare two versions of the code, run it once per version, e.g.
``PYTHONPATH=/tmp/base/src python benchmarks/big_photo.py`` then with
``PYTHONPATH=src`` (the command inherits PYTHONPATH).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

import cv2
import matplotlib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import measure  # noqa: E402

GRACE = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def make_photo(path: Path, w: int, h: int) -> list[tuple[int, int, int, int]]:
    """Write the big photo; returns the pasted people's boxes (x0, y0, x1, y1)."""
    from skimage import data

    tile = cv2.resize(data.coffee(), (1200, 800))
    img = np.tile(tile, (-(-h // 800), -(-w // 1200), 1))[:h, :w]
    grace = cv2.cvtColor(cv2.imread(str(GRACE)), cv2.COLOR_BGR2RGB)
    astro = data.astronaut()
    boxes = []
    for i, (person, scale, fx, fy) in enumerate([(grace, 4.0, 0.1, 0.2), (astro, 3.0, 0.6, 0.5),
                                                 (grace, 1.0, 0.45, 0.1), (astro, 6.0, 0.2, 0.55)]):
        ph, pw = int(person.shape[0] * scale), int(person.shape[1] * scale)
        x0, y0 = int(fx * w), int(fy * h)
        if x0 + pw > w or y0 + ph > h:
            continue
        img[y0 : y0 + ph, x0 : x0 + pw] = cv2.resize(person, (pw, ph))
        boxes.append((x0, y0, x0 + pw, y0 + ph))
    ok = cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    assert ok, path
    return boxes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=14400)
    ap.add_argument("--height", type=int, default=10000)
    ap.add_argument("--format", default="png")
    ap.add_argument("--args", default="", help="extra fuzzypeople options, e.g. '--method solid'")
    ap.add_argument("--keep", action="store_true", help="keep the temporary files")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="big_photo."))
    src, dst = tmp / f"big.{a.format}", tmp / f"big_out.{a.format}"
    boxes = make_photo(src, a.width, a.height)
    mp = a.width * a.height / 1e6
    print(f"input: {src.name}, {a.width}x{a.height} ({mp:.0f} MP), {src.stat().st_size / 2**20:.0f} MiB on disk")
    r = measure([sys.executable, "-m", "fuzzypeople", str(src), "-o", str(dst), *shlex.split(a.args)])
    print(f"fuzzypeople {a.args or '(defaults)'}: exit {r['rc']}, {r['seconds']:.1f} s wall, {r['cpu']:.1f} s CPU, "
          f"peak RSS {r['rss_mib']:.0f} MiB")
    if r["rc"] != 0:
        print(r["stderr"])
    elif dst.exists():
        before = cv2.imread(str(src), cv2.IMREAD_COLOR)
        after = cv2.imread(str(dst), cv2.IMREAD_COLOR)
        for x0, y0, x1, y1 in boxes:
            changed = (np.abs(after[y0:y1, x0:x1].astype(np.int16) - before[y0:y1, x0:x1]).max(axis=2) > 8).mean()
            print(f"  person {x1 - x0}x{y1 - y0} px at ({x0}, {y0}): {changed:.0%} of the box changed")
        del before, after
    if not a.keep:
        for f in (src, dst):
            f.unlink(missing_ok=True)
        tmp.rmdir()


if __name__ == "__main__":
    main()
