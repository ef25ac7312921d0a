"""``--method erase`` on a street video: are the people gone, and does the street stay?

Erases the people in a video (default OpenCV's ``vtest.avi``: a static
camera over a walkway) through the real pipeline
(``Anonymizer.anonymize_video``, the same call the CLI makes), then counts
the people found on evenly sampled frames of the original and of the output
by OpenCV's HOG people detector (the audit's independent one) and by
NanoDet (the anonymiser's own body detector, whole image, no tiles), and
writes a few frames, original above erased, as PNG to look at.

    PYTHONPATH=src python3 benchmarks/erase_video.py [VIDEO] [-o DIR] [--frames 16]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

VTEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "video" / "vtest.avi"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("video", nargs="?", type=Path, default=VTEST)
    ap.add_argument("-o", "--out", type=Path, default=Path("erase_video_out"))
    ap.add_argument("--frames", type=int, default=16, help="frames sampled for the counts")
    ap.add_argument("--png", type=int, default=4, help="of which this many are written as PNG")
    ap.add_argument("--output", type=Path, default=None, help="use this already erased video instead of making one")
    args = ap.parse_args()
    from fuzzypeople import Anonymizer
    from fuzzypeople.audit.detectors import HOGPeople
    from fuzzypeople.audit.media import read_video_frames
    from fuzzypeople.pipeline import Settings

    args.out.mkdir(parents=True, exist_ok=True)
    dst = args.output
    if dst is None:
        dst = args.out / f"{args.video.stem}_erased.mp4"
        t0 = time.perf_counter()
        res = Anonymizer(settings=Settings(method="erase").for_video()).anonymize_video(args.video, dst)
        print(f"erased {args.video.name} -> {dst} in {time.perf_counter() - t0:.0f} s "
              f"({res.people} people tracked, {res.hidden_share:.1%} of each frame hidden on average)")
    import av

    with av.open(str(args.video)) as c:
        total = c.streams.video[0].frames or 0
    if not total:
        total = 795
    idx = [int(i) for i in np.linspace(5, total - 6, args.frames).round()]
    before = read_video_frames(args.video, idx)
    after = read_video_frames(dst, idx)
    hog = HOGPeople()
    nanodet = Anonymizer(targets="bodies", body_detector="nanodet", tile_scale=0, face_rule=False, boxes=True)
    counts = {"hog-people": [0, 0], "nanodet": [0, 0]}
    print("frame  hog before/after  nanodet before/after")
    for k, i in enumerate(idx):
        b, a = before[i][0], after[i][0]
        row = []
        for name, det in (("hog-people", hog), ("nanodet", nanodet.detect)):
            nb, na = len(det(b)), len(det(a))
            counts[name][0] += nb
            counts[name][1] += na
            row.append(f"{nb:3d} / {na:3d}")
        print(f"{i:5d}  {row[0]:>16s}  {row[1]:>20s}")
        if k in set(np.linspace(0, len(idx) - 1, args.png).round().astype(int).tolist()):
            Image.fromarray(np.concatenate([b, a], axis=0)).save(args.out / f"frame_{i:04d}.png")
    for name, (nb, na) in counts.items():
        print(f"{name}: {nb} people on {len(idx)} original frames, {na} on the erased frames")


if __name__ == "__main__":
    main()
