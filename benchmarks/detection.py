"""How well the real anonymiser hides the people of COCO photos.

Runs ``fuzzypeople.Anonymizer.analyse`` (the exact mask that ``fuzzypeople``
paints) on ../shared/data/coco-people and compares with the COCO person masks:

* share of person instances (COCO area >= 32x32 px) that are >= 90% hidden,
* the same for small instances (< 32x32 px), and their mean hidden share,
* background altered: share of non-person pixels inside the mask,
* area altered on the images with nobody in them (false alarms),
* seconds per image (models loaded once; reading + detection + mask).

    python benchmarks/detection.py                    # default settings
    python benchmarks/detection.py --threshold 0.1 --dilate 16 --targets bodies
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco-people"


def evaluate(anon, data: Path = DATA, limit: int | None = None) -> dict:
    from pycocotools.coco import COCO

    from fuzzypeople.io.image import read_image

    coco = COCO(str(data / "annotations.json"))
    ids = sorted(coco.getImgIds())[:limit]
    big, small, small_share, bg_alt, bg_n, empty = [], [], [], 0, 0, []
    seconds = 0.0
    for img_id in ids:
        info = coco.loadImgs(img_id)[0]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id, catIds=[1], iscrowd=None))
        t0 = time.perf_counter()
        rgb = read_image(data / "images" / info["file_name"]).rgb
        _, mask = anon.analyse(rgb)
        seconds += time.perf_counter() - t0
        if mask.shape != (info["height"], info["width"]):
            raise SystemExit(f"{info['file_name']}: mask {mask.shape} != annotation size")
        if not anns:
            empty.append(mask.mean())
            continue
        anyone = np.zeros(mask.shape, bool)
        for a in anns:
            m = coco.annToMask(a).astype(bool)
            anyone |= m
            if a.get("iscrowd") or m.sum() == 0:
                continue
            share = (mask & m).sum() / m.sum()
            if a["area"] >= 32 * 32:
                big.append(share >= 0.9)
            else:
                small.append(share >= 0.9)
                small_share.append(share)
        bg_alt += (mask & ~anyone).sum()
        bg_n += (~anyone).sum()
    return {
        "images": len(ids),
        "persons_ge32": len(big),
        "ge32_hidden90": float(np.mean(big)) if big else float("nan"),
        "persons_small": len(small),
        "small_hidden90": float(np.mean(small)) if small else float("nan"),
        "small_mean_hidden": float(np.mean(small_share)) if small_share else float("nan"),
        "background_altered": bg_alt / max(bg_n, 1),
        "empty_images": len(empty),
        "empty_area_altered": float(np.mean(empty)) if empty else float("nan"),
        "seconds_per_image": seconds / len(ids),
    }


# Candidates and combinations measured for issue #7, each through the real API
# (label, Anonymizer options). --candidates runs them all in one process.
CANDIDATES = [
    ("NanoDet + CenterFace, boxes, no face rule", dict(body_detector="nanodet", boxes=True, face_rule=False)),
    ("NanoDet + CenterFace + face rule, boxes", dict(body_detector="nanodet", boxes=True)),
    ("MoveNet 256 + CenterFace + face rule, boxes", dict(body_detector="movenet", boxes=True)),
    ("--boxes: NanoDet + MoveNet + CenterFace + face rule, boxes", dict(boxes=True)),
    ("NanoDet + CenterFace + face rule, outlines", dict(body_detector="nanodet")),
    ("default: NanoDet + MoveNet + CenterFace + face rule, outlines", dict()),
    ("default, --dilate 8", dict(dilate=8)),
    ("default, --dilate 12", dict(dilate=12)),
    ("default, small-people pass in native windows at 2x (as video's), not 416 px tiles at 1.5x",
     dict(tile_windows=True, tile_scale=2.0)),
]


def report(label: str, r: dict) -> None:
    print(f"| {label} | {r['ge32_hidden90']:.3f} | {r['small_hidden90']:.3f} | {r['small_mean_hidden']:.3f} "
          f"| {r['background_altered']:.3f} | {r['empty_area_altered']:.4f} | {r['seconds_per_image']:.3f} |", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", action="store_true", help="measure every candidate in CANDIDATES, one run")
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--dilate", type=int, default=None)
    ap.add_argument("--targets", default="bodies,faces")
    ap.add_argument("--body", default=None, help="body detector module name(s), comma-separated")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--upscale", type=float, default=None, help="tiling upscale of the body detector (0 = whole image only)")
    ap.add_argument("--boxes", action="store_true", help="hide body boxes instead of traced outlines")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"evaluation data not found at {DATA}", file=sys.stderr)
        return 2
    from fuzzypeople import Anonymizer

    print(f"# fuzzypeople detection benchmark, {dt.date.today()}: python benchmarks/detection.py {' '.join(argv or sys.argv[1:])}")
    print("| setting | >= 32 px, >= 90% hidden | small, >= 90% hidden | small, mean hidden "
          "| background altered | empty photos, area altered | s / photo |")
    print("|---|---|---|---|---|---|---|")
    if args.candidates:
        for label, kw in CANDIDATES:
            report(label, evaluate(Anonymizer("solid", **kw), limit=args.limit))
        return 0
    kw = {"targets": args.targets, "threshold": args.threshold, "boxes": args.boxes}
    if args.dilate is not None:
        kw["dilate"] = args.dilate
    if args.body:
        kw["body_detector"] = tuple(args.body.split(","))
    if args.upscale is not None:
        kw["tile_scale"] = args.upscale
    report(", ".join(f"{k}={v}" for k, v in kw.items()), evaluate(Anonymizer("solid", **kw), limit=args.limit))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
