"""Cloak stress test: after cloaking a photo, how many of the person's other clean photos still match it?

    python benchmarks/cloak.py                       # first photo of each of the 26 people, default mode
    python benchmarks/cloak.py --mode high --photos 2 --json /tmp/cloak.json
    python benchmarks/cloak.py --mode none           # the baseline: no cloak

Data: ``../shared/data/faces/identities`` (one folder per person; nothing is
copied into the repository). For each chosen photo (the first ``--photos``
of each person, people with at least two photos), the photo is cloaked with
:func:`fuzzypeople.faceid.cloak.cloak_faces` (the largest face), and each
judge of :mod:`fuzzypeople.audit.cloak` compares the cloaked photo -- re-read,
after JPEG 85, after a 0.5x resize, its face found again each time -- with
every *other* photo of the same person (clean). Printed per judge and
variant: the share of those still matched (Fawkes' measure; mean over
photos), and DSSIM on the face box, PSNR over the image, seconds per face.
``--mode none`` gives the uncloaked baseline (the same comparisons with the
original photo). dlib is never optimised against.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from fuzzypeople.audit.cloak import VARIANTS, face_quality, judges, still_matched  # noqa: E402
from fuzzypeople.detect.centerface import CenterFace  # noqa: E402
from fuzzypeople.faceid import Embedder  # noqa: E402
from fuzzypeople.faceid.cloak import MODES, cloak_faces  # noqa: E402
from fuzzypeople.io.image import read_image  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data" / "faces" / "identities"
EXT = (".jpg", ".jpeg", ".png")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--mode", default="mid", choices=[*MODES, "none"])
    ap.add_argument("--photos", type=int, default=1, help="photos cloaked per person (each in turn)")
    ap.add_argument("--people", type=int, default=0, help="only the first N people (0 = all)")
    ap.add_argument("--judges", default=None, help="comma-separated (default: mobilefacenet, dlib, and faceres when built)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a field of the mode (dssim, linf, steps, eot, smooth, lr), e.g. --set steps=40")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--save", type=Path, help="folder to write each cloaked photo to (PNG)")
    args = ap.parse_args()
    if not args.data.is_dir():
        print(f"{args.data}: not found", file=sys.stderr)
        return 2
    people = sorted(d for d in args.data.iterdir() if d.is_dir())
    people = [p for p in people if len([f for f in p.iterdir() if f.suffix.lower() in EXT]) >= 2]
    if args.people:
        people = people[: args.people]
    js = judges(tuple(args.judges.split(",")) if args.judges else None)
    mode = MODES.get(args.mode)
    if args.set and mode is not None:
        from dataclasses import replace

        mode = replace(mode, **{k: type(getattr(mode, k))(float(v)) for k, v in (s.split("=", 1) for s in args.set)})
    print(f"mode {args.mode}: {mode}")
    det = CenterFace()
    emb = [Embedder("mobilefacenet.onnx")]
    rows = []
    for person in people:
        files = sorted(f for f in person.iterdir() if f.suffix.lower() in EXT)
        images = [read_image(f).rgb for f in files]
        clean = {j.name: [j.embed(im) for im in images] for j in js}
        for i in range(min(args.photos, len(files))):
            rgb = images[i]
            t0 = time.perf_counter()
            if args.mode == "none":
                out, faces = rgb, 1
            else:
                boxes, _, points = det.with_landmarks(rgb)
                if not len(boxes):
                    print(f"{files[i]}: no face found, skipped")
                    continue
                k = int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
                out, res = cloak_faces(rgb, points[k : k + 1], emb, mode, seed=i)
                faces = len(res)
            secs = (time.perf_counter() - t0) / max(faces, 1)
            if args.save:
                from PIL import Image

                args.save.mkdir(parents=True, exist_ok=True)
                Image.fromarray(out).save(args.save / f"{person.name}_{files[i].stem}.png")
            row = {"person": person.name, "file": files[i].name, "seconds": secs, **face_quality(rgb, out)}
            for j in js:
                others = [e for n, e in enumerate(clean[j.name]) if n != i]
                row[j.name] = still_matched(out, [], j, clean_embeddings=others)
            rows.append(row)
            print(f"{person.name}/{files[i].name}: {secs:.1f} s, DSSIM {row['dssim_face'] or 0:.4f}, PSNR {row['psnr']:.1f} | "
                  + " | ".join(f"{j.name} " + " ".join(f"{row[j.name][v]['share']:.2f}" if row[j.name][v]['share'] is not None
                                                     else "-" for v in VARIANTS) for j in js), flush=True)
    print(f"\nmode {args.mode} {mode}, {len(rows)} photos of {len(people)} people; share of the person's other clean photos still matched")
    print("| judge | optimised against | " + " | ".join(VARIANTS) + " |")
    print("|---|---|" + "---|" * len(VARIANTS))
    for j in js:
        cells = []
        for v in VARIANTS:
            s = [r[j.name][v]["share"] for r in rows if r[j.name][v]["share"] is not None]
            cells.append(f"{np.mean(s):.2f}" if s else "-")
        print(f"| {j.name} | {'yes' if j.optimised else 'no'} | " + " | ".join(cells) + " |")
    d = [r["dssim_face"] for r in rows if r["dssim_face"] is not None]
    p = [r["psnr"] for r in rows if np.isfinite(r["psnr"])]
    print(f"DSSIM on the face: mean {np.mean(d) if d else 0:.4f}, max {np.max(d) if d else 0:.4f}; "
          f"PSNR over the image: mean {np.mean(p) if p else float('inf'):.1f} dB, min {np.min(p) if p else float('inf'):.1f} dB; "
          f"seconds per face: mean {np.mean([r['seconds'] for r in rows]):.1f}")
    if args.json:
        args.json.write_text(json.dumps({"mode": args.mode, "rows": rows}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
