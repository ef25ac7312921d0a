"""The in-browser page's masks against the Python pipeline's, over many real photos.

    PYTHONPATH=src python3 benchmarks/site_parity.py                 # ../shared/data/coco-people, all photos
    PYTHONPATH=src python3 benchmarks/site_parity.py --limit 20 --boxes

Builds the static site, serves it with ``python3 -m http.server``, and for
each photo chooses it in headless Chromium, takes the page's decoded pixels
and mask, runs the Python pipeline (``Settings()``, or ``Settings(boxes=True)``
with ``--boxes``) on the same pixels and prints the IoU of the two masks and
both people counts; then the distribution. ``tests/test_site.py`` asserts
IoU >= 0.95 on four photos; this is the wider look.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COCO = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco-people" / "images"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, default=COCO)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--boxes", action="store_true", help="compare --boxes masks instead of outlines")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from fuzzypeople import Anonymizer
    from fuzzypeople.pipeline import Settings
    from fuzzypeople.web.app import count_people
    from fuzzypeople.web.site import build

    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[: args.limit]
    stages = Anonymizer(settings=Settings(method="none", boxes=args.boxes))
    work = Path(tempfile.mkdtemp(prefix="site_parity_"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = None
    ious, same_count = [], 0
    try:
        build(work / "www")
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1", "-d", str(work / "www")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            if args.boxes:
                page.locator("#boxes").check()
            for n, photo in enumerate(photos, 1):
                page.set_input_files("#file", str(photo))
                while True:
                    v, err = page.evaluate("() => [document.getElementById('result').dataset.version || '0', document.getElementById('error').textContent]")
                    if err:
                        raise SystemExit(err)
                    if int(v) >= n:
                        break
                    time.sleep(0.05)
                r = page.evaluate("window.fuzzypeoplePage.rgb()")
                rgb = np.frombuffer(base64.b64decode(r["data"]), np.uint8).reshape(r["height"], r["width"], 3)
                mask = np.frombuffer(base64.b64decode(page.evaluate("window.fuzzypeoplePage.mask()")), np.uint8).reshape(rgb.shape[:2]).astype(bool)
                people = stages.detect(rgb)
                ref = stages.mask(people, rgb.shape[:2])
                union = (mask | ref).sum()
                iou = float((mask & ref).sum() / union) if union else 1.0
                count, py = int(page.locator("#count").text_content()), count_people(people)["people"]
                ious.append(iou)
                same_count += count == py
                print(f"{photo.name:24s} IoU {iou:.4f}  people {count} (Python {py})  hidden {ref.mean():.3f}", flush=True)
            browser.close()
    finally:
        if server is not None:
            server.terminate()
        shutil.rmtree(work, ignore_errors=True)
    a = np.array(ious)
    print(f"\n{len(a)} photos ({'--boxes' if args.boxes else 'outlines'}): IoU min {a.min():.4f}, median {np.median(a):.4f}, "
          f"mean {a.mean():.4f}; >= 0.95 on {(a >= 0.95).sum()}, >= 0.99 on {(a >= 0.99).sum()}; same people count on {same_count}")


if __name__ == "__main__":
    main()
