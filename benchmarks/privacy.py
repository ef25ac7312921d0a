"""Privacy benchmark: anonymise the evaluation photos and videos with the real CLI
(default settings), then audit the outputs with ``fuzzypeople audit``.

    python benchmarks/privacy.py                      # everything
    python benchmarks/privacy.py --no-video -o /tmp/b # photos only, keep outputs in /tmp/b

Data: ``../shared/data/coco-people/images`` (77 COCO photos) and
``../shared/data/video/{vtest,Megamind}.avi``. Prints, with the date and
the exact commands: faces found in the originals by the audit's independent
detectors, the share still re-identified (rank-1: dlib ResNet distance < 0.6
on the same aligned crop *and* nearer its own original than any impostor
face) and the share merely within 0.6 of the original (the plain distance
rule), residual face and person detections, the share of pixels
altered and SSIM outside the people. Outputs and the JSON/HTML audit reports
stay in the output folder (COCO images carry NonCommercial/NoDerivs licences:
never publish them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
CLI = [sys.executable, "-m", "fuzzypeople"]


def sh(args: list, log: list) -> subprocess.CompletedProcess:
    cmd = [*CLI, *map(str, args)]
    shown = "fuzzypeople " + " ".join(shlex.quote(str(a)) for a in args)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    log.append((shown, r.returncode, time.perf_counter() - t0))
    return r


def pct(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def num(v, d=3):
    return "-" if v is None else (v if isinstance(v, str) else f"{v:.{d}f}")


def face_sizes(doc: dict, small: int = 40) -> dict:
    """Re-identification split by face size (dlib's ResNet is unreliable on tiny faces)."""
    out = {}
    for label, keep in (("faces >= 40 px", lambda s: s >= small), ("faces < 40 px", lambda s: s < small)):
        faces = [f for it in doc["items"] for fr in it["frames"] for f in fr["faces"]
                 if keep(min(f["box"][2] - f["box"][0], f["box"][3] - f["box"][1]))]
        re = sum(bool(f["reidentified"]) for f in faces)
        mo = sum(bool(f.get("matches_original")) for f in faces)
        out[label] = (len(faces), re, mo, sum(f["residual"] for f in faces))
    return out


def report(title: str, doc: dict) -> None:
    s = doc["summary"]
    print(f"\n## {title}")
    print(f"audited {s['audited']} ({s['frames']} pictures), errors {s['errors']}; "
          f"verdicts: {s['private']} private, {s['at_risk']} at risk")
    print(f"faces found in originals            {s['faces']}")
    print(f"  re-identified (rank-1, d < 0.6)   {s['faces_reidentified']}  ({pct(s['reidentified_share'])})")
    print(f"  within 0.6 of original (plain)    {s.get('faces_matching_original', '-')}  "
          f"({pct(s.get('matching_original_share'))})")
    print(f"  still detected (residual)         {s['faces_residual']}  ({pct(s['faces_residual_share'])})")
    for label, (n, re, mo, res) in face_sizes(doc).items():
        print(f"    {label:<30}  {n} found, {re} re-identified, {mo} within 0.6, {res} still detected")
    print(f"people (bodies) found in originals  {s['people']}")
    print(f"  still detected (residual)         {s['people_residual']}  ({pct(s['people_residual_share'])})")
    print(f"share of pixels altered (mean)      {pct(s['altered_share_mean'])}")
    print(f"SSIM inside the people (mean)       {num(s['ssim_inside_mean'])}")
    print(f"SSIM outside the people (mean)      {num(s['ssim_outside_mean'])}")
    print(f"PSNR outside the people (min, dB)   {num(s['psnr_outside_min_db'], 1)}")
    risky = [it for it in doc["items"] if it["verdict"] != "private"]
    for it in risky[:8]:
        print(f"  at risk: {Path(it['original']).name}: {'; '.join(it['reasons'][:2])}")
    if len(risky) > 8:
        print(f"  ... and {len(risky) - 8} more at risk (see the HTML report)")
    for e in doc["errors"]:
        print(f"  error: {e['path']}: {e['message']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", type=Path, default=None, help="output folder (default: a new temporary folder)")
    ap.add_argument("--frames", type=int, default=16, help="frames audited per video")
    ap.add_argument("--no-video", action="store_true")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos (quick runs)")
    ap.add_argument("--anon-args", default="", help="extra anonymiser options, e.g. \"--radius 32\" (default: none)")
    args = ap.parse_args()
    extra = shlex.split(args.anon_args)

    images = DATA / "coco-people" / "images"
    if not images.is_dir():
        print(f"evaluation data not found: {images}")
        return 1
    out = args.out or Path(tempfile.mkdtemp(prefix="fuzzypeople-privacy-"))
    out.mkdir(parents=True, exist_ok=True)
    log: list = []
    print(f"# fuzzypeople privacy benchmark, {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"# python benchmarks/privacy.py {' '.join(sys.argv[1:])}")
    print(f"# outputs and reports in {out}")

    src = images
    if args.limit:
        src = out / "originals"
        src.mkdir(exist_ok=True)
        for f in sorted(images.glob("*.jpg"))[: args.limit]:
            dst = src / f.name
            if not dst.exists():
                dst.symlink_to(f)
    anon = out / "images"
    r = sh([src, "-o", anon, *extra], log)
    if r.returncode not in (0, 1):
        print(f"anonymising the photos failed: {r.stderr.strip()}")
        return 1
    sh(["audit", src, anon, "--json", out / "audit_images.json", "--html", out / "audit_images.html", "-q"], log)
    docs = [("COCO people photos (77 photos)" if not args.limit else f"COCO people photos (first {args.limit})",
             out / "audit_images.json")]

    if args.no_video:
        print("\nvideos: skipped (--no-video)")
    else:
        vids = [DATA / "video" / n for n in ("vtest.avi", "Megamind.avi")]
        vids = [v for v in vids if v.is_file()]
        vout = out / "video"
        vout.mkdir(exist_ok=True)
        ok = True
        for v in vids:
            r = sh([v, "-o", vout / f"{v.stem}_anonymized.mp4", *extra], log)
            if r.returncode != 0:
                ok = False
                msg = (r.stderr.strip().splitlines() or ["no message"])[-1]
                print(f"\nvideos: SKIPPED - the video command failed on {v.name} (exit {r.returncode}): {msg}")
                break
        if ok and vids:
            sh(["audit", vids[0].parent, vout, "--frames", args.frames, "--json", out / "audit_video.json",
                "--html", out / "audit_video.html", "-q"], log)
            docs.append((f"videos ({', '.join(v.name for v in vids)}; {args.frames} frames each)", out / "audit_video.json"))

    for title, path in docs:
        if not path.is_file():
            print(f"\n## {title}\nno audit report written (see the commands below)")
            continue
        report(title, json.loads(path.read_text()))

    print("\n## commands (exit status, seconds)")
    for shown, code, secs in log:
        print(f"  {shown}   -> {code}, {secs:.0f} s")
    print("Audit exit status: 0 all private, 1 some at risk, 2 some inputs could not be audited.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
