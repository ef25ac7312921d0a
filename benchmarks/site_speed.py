"""Seconds to the first result of the in-browser page for a big photo, cold and warm, in headless Chromium.

    PYTHONPATH=src python3 benchmarks/site_speed.py                 # a 12 MP photo (astronaut scaled up)
    PYTHONPATH=src python3 benchmarks/site_speed.py --photo big.jpg --megapixels 0   # a photo as it is
    PYTHONPATH=src python3 benchmarks/site_speed.py --preview-only   # the first result only, cold + 3 warm

Builds the static site (``fuzzypeople site``), serves it with ``python3 -m
http.server`` and measures, from choosing the photo in ``#file`` to the
result on ``#result``:

* **cold**: a fresh browser profile (empty HTTP cache), the photo chosen as
  soon as the page has loaded, so the models are still downloading and
  compiling;
* **warm, reloaded**: the page reloaded (models from the HTTP cache), the
  photo chosen once the models are ready;
* **warm, same page**: a second photo in the same page (sessions kept).

Two times each: the *preview* (the people the whole-image passes find,
hidden, shown while the tiles that find small people run; no download yet)
and the *result* (the complete analysis; the download is offered).

It also prints the page's own split (decode+detect, mask, hide) and, for
scale, the Python pipeline's analysis of the same pixels with the same rules
(``Settings(boxes=True)``), timed in the same run: compare the ratio, not
the seconds, on a shared machine.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def wait_version(page, version: int, timeout: float = 1800) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        v, err = page.evaluate("() => [document.getElementById('result').dataset.version || '0', document.getElementById('error').textContent]")
        if err:
            raise SystemExit(f"page error: {err}")
        if int(v) >= version:
            return time.perf_counter() - t0
        time.sleep(0.05)
    raise SystemExit("timed out")


def models_ready(page, timeout: float = 300) -> None:
    t0 = time.perf_counter()
    while page.evaluate("() => document.getElementById('status').textContent") != "ready":
        if time.perf_counter() - t0 > timeout:
            raise SystemExit("models did not load")
        time.sleep(0.05)


def wait_preview(page, timeout: float = 600) -> dict:
    """The page's timings once its preview is drawn (the complete analysis is left running)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        st = page.evaluate("window.fuzzypeoplePage.stats()")
        if "preview" in st["timings"]:
            return st["timings"]
        err = page.evaluate("() => document.getElementById('error').textContent")
        if err:
            raise SystemExit(f"page error: {err}")
        time.sleep(0.05)
    raise SystemExit("timed out")


def preview_rows(launch, url: str, photo: Path, repeat: int) -> None:
    """--preview-only: seconds from choosing the photo to the preview drawn, cold, then warm: each in a new
    browser on the same profile (models from the HTTP cache), so no earlier complete analysis still runs."""
    print(f"{'':34s} {'preview':>8s}  page's stages (s)")

    def row(name: str, t: dict) -> None:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in t.get("previewStages", t.get("stages", {})).items() if k != "tiles")
        print(f"{name:34s} {t['preview']:7.2f}s  {stages}", flush=True)

    for i in range(repeat + 1):
        ctx = launch()
        page = ctx.new_page()
        page.goto(url)
        if i:
            models_ready(page)
        page.set_input_files("#file", str(photo))
        row(f"warm {i} (new browser, cached)" if i else "cold (empty cache, models loading)", wait_preview(page))
        ctx.close()


def serve_row(p, chrome, photo: Path):
    """A second photo in the same page, served by `fuzzypeople serve`."""
    import threading

    import uvicorn

    from fuzzypeople.web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        browser = p.chromium.launch(executable_path=chrome, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        models_ready(page)
        threads = page.evaluate("() => ort.env.wasm.numThreads")
        page.set_input_files("#file", str(photo))
        wait_version(page, 1)
        page.set_input_files("#file", str(photo))
        row = (f"warm, same page, `fuzzypeople serve` ({threads} threads)", wait_version(page, 2), page.evaluate("window.fuzzypeoplePage.stats()"))
        browser.close()
        return row
    finally:
        server.should_exit = True
        thread.join(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photo", type=Path, help="photo to use (default: skimage's astronaut)")
    ap.add_argument("--megapixels", type=float, default=12.0, help="scale the photo to this size (0: as it is)")
    ap.add_argument("--no-python", action="store_true", help="skip the Python pipeline's timing")
    ap.add_argument("--preview-only", action="store_true",
                    help="time only the preview (the page is reloaded instead of waiting for the complete result)")
    ap.add_argument("--repeat", type=int, default=3, help="with --preview-only: warm runs (each after a reload)")
    ap.add_argument("--serve", action="store_true",
                    help="also time a second photo through `fuzzypeople serve`")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from fuzzypeople.web.site import build

    work = Path(tempfile.mkdtemp(prefix="site_speed_"))
    try:
        site = work / "www"
        size = build(site)
        if args.photo:
            img = Image.open(args.photo).convert("RGB")
        else:
            from skimage import data

            img = Image.fromarray(data.astronaut())
        if args.megapixels:
            f = (args.megapixels * 1e6 / (img.width * img.height)) ** 0.5
            img = img.resize((round(img.width * f), round(img.height * f)), Image.LANCZOS)
        photo = work / "big.jpg"
        img.save(photo, quality=92)
        print(f"site: {size / 1e6:.1f} MB; photo: {img.width}x{img.height} ({img.width * img.height / 1e6:.1f} MP, {photo.stat().st_size / 1e6:.1f} MB JPEG)")

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1", "-d", str(site)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        url = f"http://127.0.0.1:{port}/"
        chrome = shutil.which("chromium") or shutil.which("chromium-browser")
        rows = []
        try:
            with sync_playwright() as p:
                def launch():
                    return p.chromium.launch_persistent_context(str(work / "profile"), executable_path=chrome,
                                                                headless=True, args=["--no-sandbox"])

                if args.preview_only:
                    preview_rows(launch, url, photo, args.repeat)
                    return
                ctx = launch()
                page = ctx.new_page()
                page.goto(url)
                page.set_input_files("#file", str(photo))
                rows.append(("cold (empty cache, models loading)", wait_version(page, 1), page.evaluate("window.fuzzypeoplePage.stats()")))
                page.reload()
                models_ready(page)
                page.set_input_files("#file", str(photo))
                rows.append(("warm, page reloaded (models from cache)", wait_version(page, 1), page.evaluate("window.fuzzypeoplePage.stats()")))
                page.set_input_files("#file", str(photo))
                rows.append(("warm, same page (second photo)", wait_version(page, 2), page.evaluate("window.fuzzypeoplePage.stats()")))
                tiles = page.evaluate("() => document.getElementById('status').textContent")
                ctx.close()
                if args.serve:
                    rows.append(serve_row(p, chrome, photo))
        finally:
            server.terminate()
            server.wait(10)

        print(f"{'':42s} {'preview':>8s} {'result':>8s} {'models':>7s} {'detect':>7s} {'mask':>6s} {'hide':>6s}  people")
        for name, secs, st in rows:
            t = st["timings"]
            print(f"{name:42s} {t.get('preview', float('nan')):7.2f}s {secs:7.2f}s {t.get('models', 0):6.2f}s "
                  f"{t.get('detect', 0):6.2f}s {t.get('mask', 0):5.2f}s {t.get('hide', 0):5.2f}s  {len(st['people'] or [])}")
        for name, _, st in rows:
            parts = ", ".join(f"{k} {v:.2f}s" for k, v in st["timings"].get("stages", {}).items())
            print(f"  {name}: {parts}; outlines {st['timings'].get('outline', 0):.2f}s")
        print("preview: the whole-image passes hidden, shown while the tiles look for small people (no download);\n"
              "result: the complete analysis, the same as the command line's (download offered). "
              "'models' is the page's own model load (cold: with the download).")
        print(f"last status: {tiles}")
        if not args.no_python:
            from fuzzypeople import Anonymizer
            from fuzzypeople.pipeline import Settings

            stages = Anonymizer(settings=Settings(method="none", boxes=True))
            rgb = np.asarray(img)
            stages.detect(rgb[:64, :64])  # load the models first
            t0 = time.perf_counter()
            people = stages.detect(rgb)
            stages.mask(people, rgb.shape[:2])
            py = time.perf_counter() - t0
            print(f"Python pipeline, same rules and pixels: detect+mask {py:.2f}s "
                  f"(browser warm/same page detect+mask is {(rows[-1][2]['timings']['detect'] + rows[-1][2]['timings']['mask']) / py:.1f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
