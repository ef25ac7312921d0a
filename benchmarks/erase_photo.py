"""``--method erase`` on package-shipped photos: is the person gone, and is there an outline left?

For skimage's astronaut and a test-made scene (matplotlib's Grace Hopper
pasted small on skimage's coffee, as in tests/conftest.py) it prints:

* people found by the audit's independent detectors (MTCNN faces, OpenCV
  HOG people) before and after erasing, and after ``solid`` for comparison;
* the mean gradient magnitude (Sobel, 8-bit grey levels) along the mask
  border (the 1-pixel-wide rings on either side of it) against the whole
  image's mean: a hard outline of the person would show as a border far
  above the image's mean (``solid`` shows it).

    PYTHONPATH=src python3 benchmarks/erase_photo.py [--save DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from PIL import Image
from skimage import data

GRACE = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def scene() -> np.ndarray:
    background = np.asarray(Image.fromarray(data.coffee()).resize((1200, 800)))
    person = np.asarray(Image.open(GRACE).convert("RGB").resize((256, 300)))
    canvas = background.copy()
    canvas[400:700, 200:456] = person
    return canvas


def gradient(rgb: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)) / 8.0


def border(mask: np.ndarray) -> np.ndarray:
    """The pixels on either side of the mask's edge (1 px each)."""
    k = np.ones((3, 3), np.uint8)
    m = mask.view(np.uint8)
    return cv2.dilate(m, k).astype(bool) & ~cv2.erode(m, k).astype(bool)


def edge_figures(out: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(mean gradient along the mask border, mean gradient of the whole image)."""
    g = gradient(out)
    return float(g[border(mask)].mean()), float(g.mean())


def audit_counts(rgb: np.ndarray, detectors) -> dict:
    p = detectors(rgb)
    return {"faces": int((p.kinds == "face").sum()), "people": int((p.kinds == "body").sum())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--save", type=Path, default=None, help="write the outputs as PNG here")
    args = ap.parse_args()
    from fuzzypeople import Anonymizer
    from fuzzypeople.audit.detectors import Detectors

    detectors = Detectors(("mtcnn", "hog-people"))
    anons = {m: Anonymizer(m) for m in ("erase", "solid")}
    for name, rgb in (("astronaut", data.astronaut()), ("scene (grace on coffee)", scene())):
        print(f"{name} {rgb.shape[1]}x{rgb.shape[0]}: before {audit_counts(rgb, detectors)}")
        for method, anon in anons.items():
            people, mask = anon.analyse(rgb)
            out = anon.hide(rgb, mask)
            b, img = edge_figures(out, mask)
            print(f"  {method:6s} after {audit_counts(out, detectors)}; mask {mask.mean():.1%} of the image; "
                  f"mean gradient along the mask border {b:.1f} vs image {img:.1f} (ratio {b / img:.2f}); "
                  f"original along the same border {edge_figures(rgb, mask)[0]:.1f}")
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                Image.fromarray(out).save(args.save / f"{name.split()[0]}_{method}.png")


if __name__ == "__main__":
    main()
