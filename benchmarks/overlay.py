"""Look at what the anonymiser hides, on photos and video frames the models never saw.

Writes one contact sheet: each image with the hidden pixels tinted magenta and
every box drawn in its detector's colour (NanoDet yellow, MoveNet cyan,
faces green, bodies inferred from faces red), and prints per image how many
people each detector found and the share of the image hidden.

    python benchmarks/overlay.py -o sheet.png                 # the held-out set below
    python benchmarks/overlay.py -o sheet.png a.jpg clip.mp4@120 --boxes

A video is given as ``PATH@FRAME``. Without inputs, the held-out set is:
skimage's astronaut and camera, matplotlib's Grace Hopper, OpenCV's sample
photos of people (``apt-get install opencv-doc``), the group photos in
../shared/data/faces/groups and frames of ../shared/data/video.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OPENCV = Path("/usr/share/doc/opencv-doc/examples/data")
COLOURS = {"nanodet": (255, 220, 0), "movenet": (0, 220, 255), "centerface": (0, 255, 0), "face-rule": (255, 0, 0)}


def held_out() -> list[str]:
    """Photos and frames with people that no shipped model was trained on."""
    import matplotlib

    items = ["skimage:astronaut", "skimage:camera",
             str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")]
    items += [str(OPENCV / n) for n in ("messi5.jpg", "basketball1.png", "basketball2.png") if (OPENCV / n).exists()]
    groups = SHARED / "faces" / "groups"
    items += sorted(str(p) for p in groups.glob("*.jpg")) if groups.exists() else []
    for name, frames in (("vtest.avi", (0, 150, 300, 450, 600, 750)), ("Megamind.avi", (30, 120, 200))):
        if (SHARED / "video" / name).exists():
            items += [f"{SHARED / 'video' / name}@{f}" for f in frames]
    return items


def load(item: str) -> np.ndarray:
    """RGB pixels of a photo path, ``skimage:NAME`` or ``VIDEO@FRAME``."""
    if item.startswith("skimage:"):
        from skimage import data

        rgb = getattr(data, item.split(":", 1)[1])()
        return np.ascontiguousarray(np.dstack([rgb] * 3) if rgb.ndim == 2 else rgb[..., :3])
    if "@" in item:
        path, frame = item.rsplit("@", 1)
        cap = cv2.VideoCapture(path)
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(frame))
        ok, bgr = cap.read()
        if not ok:
            raise SystemExit(f"{item}: cannot read that frame")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    from fuzzypeople.io.image import read_image

    return read_image(item).rgb


def overlay(rgb: np.ndarray, people, mask: np.ndarray, width: int = 480) -> np.ndarray:
    vis = rgb.copy()
    vis[mask] = (vis[mask] * 0.35 + np.array([255, 0, 255]) * 0.65).astype(np.uint8)
    for box, source in zip(people.boxes.round().astype(int), people.source):
        cv2.rectangle(vis, tuple(box[:2]), tuple(box[2:]), COLOURS.get(str(source), (255, 255, 255)), 2)
    return cv2.resize(vis, (width, round(width * rgb.shape[0] / rgb.shape[1])), interpolation=cv2.INTER_AREA)


def sheet(tiles: list[np.ndarray], columns: int = 4) -> np.ndarray:
    rows = []
    for i in range(0, len(tiles), columns):
        row = tiles[i : i + columns]
        h = max(t.shape[0] for t in row)
        row = [np.pad(t, ((0, h - t.shape[0]), (0, 0), (0, 0))) for t in row]
        row += [np.zeros_like(row[0])] * (columns - len(row))
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="*", help="photos or VIDEO@FRAME (default: the held-out set)")
    ap.add_argument("-o", "--output", required=True, help="contact sheet PNG to write")
    ap.add_argument("--boxes", action="store_true", help="box masks instead of traced outlines")
    ap.add_argument("--body", default=None, help="body detector(s), comma-separated")
    args = ap.parse_args(argv)
    from PIL import Image

    from fuzzypeople import Anonymizer

    kw = {"boxes": args.boxes}
    if args.body:
        kw["body_detector"] = tuple(args.body.split(","))
    anon = Anonymizer("solid", **kw)
    tiles = []
    for item in args.inputs or held_out():
        rgb = load(item)
        people, mask = anon.analyse(rgb)
        found = Counter(people.source.tolist())
        print(f"{Path(item).name:40s} {dict(sorted(found.items()))}  hidden {mask.mean():.3f}")
        tiles.append(overlay(rgb, people, mask))
    Image.fromarray(sheet(tiles)).save(args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
