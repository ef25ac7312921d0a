"""Before/after picture of the cloak for the README: Grace Hopper (matplotlib's sample photo).

    python benchmarks/cloak_figure.py docs/cloak_grace_hopper.png [--mode mid]

Left to right: the face before, after ``--method cloak`` (the real method
through :class:`fuzzypeople.Anonymizer`), and the difference amplified 10x
around mid-grey. Prints the DSSIM on the face box and the PSNR over the photo,
and MobileFaceNet's and dlib's view of the change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from fuzzypeople import Anonymizer  # noqa: E402
from fuzzypeople.audit.cloak import face_quality  # noqa: E402
from fuzzypeople.detect.centerface import CenterFace  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--mode", default="mid")
    args = ap.parse_args()
    rgb = np.asarray(Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB"))
    out = Anonymizer("cloak", cloak=args.mode).anonymize(rgb)
    q = face_quality(rgb, out)
    x1, y1, x2, y2 = np.round(CenterFace().with_landmarks(rgb)[0][0]).astype(int)
    pad = (x2 - x1) // 6
    ys, xs = slice(max(y1 - pad, 0), y2 + pad), slice(max(x1 - pad, 0), x2 + pad)
    a, b = rgb[ys, xs], out[ys, xs]
    diff = np.clip(128 + 10 * (b.astype(int) - a.astype(int)), 0, 255).astype(np.uint8)
    h, w = a.shape[:2]
    sheet = Image.new("RGB", (3 * w + 20, h + 24), "white")
    for i, (img, label) in enumerate([(a, "before"), (b, f"cloak {args.mode}"), (diff, "difference x10")]):
        sheet.paste(Image.fromarray(img), (i * (w + 10), 24))
        ImageDraw.Draw(sheet).text((i * (w + 10) + 4, 6), label, fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"{args.out}: DSSIM on the face {q['dssim_face']:.4f}, PSNR {q['psnr']:.1f} dB, "
          f"largest change {np.abs(out.astype(int) - rgb.astype(int)).max()} levels")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
