"""The in-browser mode: ``fuzzypeople site DIR`` served by a plain ``python3 -m http.server``, driven in
headless Chromium; the browser's masks against the Python pipeline's; ``fuzzypeople serve`` at ``/``."""

from __future__ import annotations

import base64
import io
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import GRACE, SHARED

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (install.sh apt-installs Debian's chromium)")

RESULT_RGB = """() => { const c = document.getElementById('result');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = '';
  for (let i = 0; i < d.length; i += 4) s += String.fromCharCode(d[i], d[i + 1], d[i + 2]);
  return {width: c.width, height: c.height, data: btoa(s)}; }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    """The static site, written by the real command."""
    out = tmp_path_factory.mktemp("site") / "www"
    r = subprocess.run([sys.executable, "-m", "fuzzypeople", "site", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def static_server(site_dir):
    """``python3 -m http.server`` on the site, in a subprocess; yields its origin."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1", "-d", str(site_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium (install.sh apt-installs Debian's chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


class Page:
    """One page of the site with every request it makes recorded."""

    def __init__(self, browser, origin: str):
        self.origin = origin
        self.requests: list[tuple[str, str, bytes | None]] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.page.on("request", lambda r: self.requests.append((r.method, r.url, r.post_data_buffer)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(origin + "/")

    def choose(self, path: Path, version: int = 1) -> None:
        self.page.set_input_files("#file", str(path))
        self.wait_version(version)

    def wait_version(self, version: int, timeout: float = 240) -> None:
        """Wait for the #version-th result (the page's CSP forbids Playwright's eval-based waits)."""
        end = time.time() + timeout
        while time.time() < end:
            state = self.page.evaluate("() => [document.getElementById('result').dataset.version || '0',"
                                       " document.getElementById('error').textContent]")
            if int(state[0]) >= version:
                return
            assert not state[1], state[1]
            time.sleep(0.1)
        raise AssertionError(f"no result {version} within {timeout} s")

    def result(self) -> np.ndarray:
        r = self.page.evaluate(RESULT_RGB)
        return np.frombuffer(base64.b64decode(r["data"]), np.uint8).reshape(r["height"], r["width"], 3)

    def mask(self) -> np.ndarray:
        rgb = self.decoded()
        m = self.page.evaluate("window.fuzzypeoplePage.mask()")
        return np.frombuffer(base64.b64decode(m), np.uint8).reshape(rgb.shape[:2]).astype(bool)

    def decoded(self) -> np.ndarray:
        r = self.page.evaluate("window.fuzzypeoplePage.rgb()")
        return np.frombuffer(base64.b64decode(r["data"]), np.uint8).reshape(r["height"], r["width"], 3)

    def stats(self) -> dict:
        return self.page.evaluate("window.fuzzypeoplePage.stats()")


@pytest.fixture(scope="module")
def site_page(browser, static_server):
    page = Page(browser, static_server)
    yield page
    page.page.close()


@pytest.fixture(scope="module")
def astronaut_png(tmp_path_factory, astronaut) -> Path:
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    return path


# -- the command ------------------------------------------------------------------------------------------
def test_site_is_every_file_with_a_policy_that_blocks_uploads(site_dir):
    names = sorted(str(p.relative_to(site_dir)) for p in site_dir.rglob("*") if p.is_file())
    assert names == ["index.html", "static/browser.js", "static/favicon.svg", "static/fuzzy.js",
                     "static/models/centerface.onnx", "static/models/movenet.onnx", "static/models/nanodet.onnx",
                     "static/models/pose_landmark_full.onnx", "static/models/selfie_segmentation.onnx",
                     "static/ort/ort-wasm-simd-threaded.mjs", "static/ort/ort-wasm-simd-threaded.wasm",
                     "static/ort/ort.wasm.min.js", "static/style.css"]
    html = (site_dir / "index.html").read_text()
    csp = html.split('http-equiv="Content-Security-Policy" content="')[1].split('"')[0]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "form-action 'none'" in csp
    assert "http://" not in html and "https://" not in html and "<script>" not in html and "<style" not in html
    assert "/server" not in html  # the link to the uploading server page is for `fuzzypeople serve` only
    for id_ in ("file", "method", "strength", "result", "count", "download"):
        assert f'id="{id_}"' in html


def test_site_refuses_a_folder_that_is_not_empty(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    r = subprocess.run([sys.executable, "-m", "fuzzypeople", "site", str(out)], capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [f"fuzzypeople: error: {out}: folder is not empty (add --overwrite to replace it)"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["busy"]  # no half-written site beside it
    # --overwrite replaces an earlier site, never a folder that holds anything else.
    r = subprocess.run([sys.executable, "-m", "fuzzypeople", "site", str(out), "--overwrite"], capture_output=True, text=True)
    assert r.returncode == 1 and "not part of a fuzzypeople site" in r.stderr and (out / "keep.txt").read_text() == "mine"


def test_site_without_the_runtime_says_how_to_get_it(tmp_path, monkeypatch):
    """A clone where ./install.sh has not fetched onnxruntime-web: one line naming the file and the fix, nothing written."""
    from fuzzypeople.errors import FuzzyError
    from fuzzypeople.web import site

    bare = tmp_path / "static"
    shutil.copytree(site.static_dir(), bare, ignore=shutil.ignore_patterns("ort"))
    monkeypatch.setattr(site, "static_dir", lambda: bare)
    with pytest.raises(FuzzyError, match=r"ort\.wasm\.min\.js: missing; .*run \./install\.sh"):
        site.build(tmp_path / "www")
    assert not (tmp_path / "www").exists()


def test_site_overwrite_replaces_an_earlier_site(site_dir, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(site_dir, out)
    (out / "index.html").write_text("stale")
    r = subprocess.run([sys.executable, "-m", "fuzzypeople", "site", str(out), "--overwrite"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (out / "index.html").read_bytes() == (site_dir / "index.html").read_bytes()


# -- the static site in Chromium ------------------------------------------------------------------------------
@needs_chromium
def test_static_site_hides_people_and_sends_nothing(site_page, site_dir, astronaut_png, tmp_path):
    page = site_page
    page.choose(astronaut_png)
    original = np.asarray(Image.open(astronaut_png).convert("RGB"))
    out, mask = page.result(), page.mask()
    assert out.shape == original.shape and mask.shape == original.shape[:2]
    assert 0.2 < mask.mean() < 0.7
    assert (out[~mask] == original[~mask]).all()  # the background is untouched, byte for byte
    assert (out[mask] != original[mask]).any(axis=1).mean() > 0.8  # the person turned to noise
    face = (slice(70, 170), slice(190, 260))  # Eileen Collins' face
    assert mask[face].all() and (out[face] != original[face]).any(axis=2).mean() > 0.8
    assert int(page.page.locator("#count").text_content()) >= 1
    assert page.page.locator("#result").get_attribute("data-preview") == "0"  # the complete analysis, not the preview
    page.page.screenshot(path=str(tmp_path / "site_astronaut.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'site_astronaut.png'}")

    # The download is the result, encoded in the page, without metadata.
    sync_api.expect(page.page.locator("#download")).to_have_attribute("aria-disabled", "false")
    with page.page.expect_download() as info:
        page.page.click("#download")
    assert info.value.suggested_filename == "astronaut_anonymized.png"
    img = Image.open(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert (np.asarray(img.convert("RGB")) == out).all()
    assert not img.getexif() and not {"exif", "xmp", "XML:com.adobe.xmp"} & set(img.info)

    # The slider re-hides without detecting again: stronger noise, same mask, background still untouched.
    before = page.stats()["detections"]
    page.page.locator("#strength").fill("2")
    page.wait_version(2)
    stronger = page.result()
    assert page.stats()["detections"] == before
    assert (stronger[~mask] == original[~mask]).all() and (stronger[mask] != out[mask]).any(axis=1).mean() > 0.5
    page.page.select_option("#method", "pixelate")
    page.wait_version(3)
    pix = page.result()
    assert (pix[~mask] == original[~mask]).all() and (pix[face] != original[face]).any(axis=2).mean() > 0.8
    page.page.select_option("#method", "solid")
    page.wait_version(4)
    assert (page.result()[mask] == 0).all()
    page.page.select_option("#method", "scramble")
    page.page.locator("#strength").fill("1")
    page.wait_version(6)

    # Nothing left the page: every request was a GET of the site's own files, with no body.
    origin = page.origin + "/"
    assert page.requests and all(m == "GET" and body is None and url.startswith(origin) for m, url, body in page.requests), page.requests
    site_files = {origin, *(origin + str(p.relative_to(site_dir)) for p in site_dir.rglob("*") if p.is_file())}
    assert {url for _, url, _ in page.requests} <= site_files
    assert not page.errors


PREVIEW_STATE = """() => { const c = document.getElementById('result');
  if (c.dataset.preview !== '1') return null;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = '';
  for (let i = 0; i < d.length; i += 4) s += String.fromCharCode(d[i], d[i + 1], d[i + 2]);
  return {width: c.width, height: c.height, data: btoa(s), preview: c.dataset.preview, version: c.dataset.version || '0',
          caption: document.getElementById('caption').textContent, status: document.getElementById('status').textContent,
          download: document.getElementById('download').getAttribute('aria-disabled')}; }"""


@needs_chromium
def test_a_big_photo_shows_a_hidden_preview_before_the_complete_analysis(browser, static_server, astronaut, tmp_path):
    """A photo over 1280 px: the first result is a preview from a small copy of it (the whole-image passes),
    with the astronaut's face already hidden, labelled a preview and without a download, while the complete
    analysis (the full-size passes and the 1.5x tiles) still runs."""
    big = Image.fromarray(astronaut).resize((2048, 2048), Image.LANCZOS)
    path = tmp_path / "big_astronaut.png"
    big.save(path)
    page = Page(browser, static_server)
    try:
        page.page.select_option("#method", "solid")  # hidden pixels are exactly black
        page.page.set_input_files("#file", str(path))
        end = time.time() + 240
        # One evaluate both sees the preview and reads it: the page may be busy for long right after.
        while (shot := page.page.evaluate(PREVIEW_STATE)) is None:
            assert time.time() < end, "no preview"
            assert not page.page.evaluate("document.getElementById('error').textContent")
            time.sleep(0.05)
        assert shot["preview"] == "1" and shot["version"] == "0"  # the complete result is not there yet
        assert "preview" in shot["caption"] and "preview" in shot["status"]
        assert shot["download"] == "true"  # nothing offered for download
        out = np.frombuffer(base64.b64decode(shot["data"]), np.uint8).reshape(shot["height"], shot["width"], 3)
        assert out.shape == (1280, 1280, 3)
        hidden = (out == 0).all(axis=2)
        k = 1280 / 512
        face = (slice(int(70 * k), int(170 * k)), slice(int(190 * k), int(260 * k)))  # Eileen Collins' face
        assert hidden[face].all()
        assert 0.1 < hidden.mean() < 0.9  # her grown box (the preview hides boxes), not the whole photo
        # The rest is the photo, drawn smaller by the browser: close to Pillow's own downscale.
        small = np.asarray(big.resize((1280, 1280), Image.BOX)).astype(int)
        assert np.abs(out[~hidden].astype(int) - small[~hidden]).mean() < 4
        assert not page.errors
    finally:
        page.page.close()


@needs_chromium
def test_a_file_that_is_not_a_photo_gets_a_one_line_error_and_no_result(site_page, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    page = site_page.page
    page.set_input_files("#file", str(bad))
    error = page.locator("#error")
    sync_api.expect(error).to_be_visible(timeout=30_000)
    assert error.text_content().startswith("broken.jpg: cannot read this photo")
    assert "\n" not in error.text_content()
    assert "empty" in page.locator("#stage").get_attribute("class")
    assert page.locator("#download").get_attribute("aria-disabled") == "true"


# -- parity with the Python pipeline ------------------------------------------------------------------------
def _parity_photos() -> list[Path]:
    photos = [GRACE]
    coco = SHARED / "coco-people" / "images"
    # Crowds of 14 and 12 annotated people, both with an ICC profile (Chromium converts to sRGB: see decode()).
    for name in ("000000000257.jpg", "000000000368.jpg"):
        if (coco / name).is_file():
            photos.append(coco / name)
    return photos


@pytest.fixture(scope="module")
def python_stages():
    """The Python pipeline's stages with the default rules (outlines) and with ``--boxes``."""
    from fuzzypeople import Anonymizer
    from fuzzypeople.pipeline import Settings

    return {False: Anonymizer(settings=Settings(method="none")), True: Anonymizer(settings=Settings(method="none", boxes=True))}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@needs_chromium
@pytest.mark.parametrize("photo", ["astronaut", *_parity_photos()], ids=lambda p: Path(str(p)).name)
def test_browser_mask_matches_the_python_pipeline(site_page, python_stages, astronaut_png, photo, tmp_path):
    """The browser's mask vs the Python pipeline's on the same decoded pixels: IoU >= 0.95 and the same
    people count, with the default rules (outlines) and, switched in the page without detecting again, --boxes."""
    from fuzzypeople.web.app import count_people

    path = astronaut_png if photo == "astronaut" else Path(photo)
    src = tmp_path / path.name
    shutil.copy(path, src)
    page = site_page.page
    if page.locator("#boxes").is_checked():
        page.locator("#boxes").uncheck()
    version = int(page.evaluate("document.getElementById('result').dataset.version || '0'"))
    site_page.choose(src, version + 1)
    rgb = site_page.decoded()  # the browser's decode (EXIF orientation, sRGB): both sides see the same pixels
    count = int(page.locator("#count").text_content())
    detections = site_page.stats()["detections"]
    # The boxes of things people hold, whose selfie spill the outlines drop: the same as NanoDet's in Python.
    held = python_stages[False].detector.bodies[0].find(rgb, held=True)[1]
    assert np.allclose(np.array(site_page.stats()["held"]).reshape(-1, 4), held, atol=0.5)
    for boxes in (False, True):
        if boxes:
            page.locator("#boxes").check()
            site_page.wait_version(version + 2)
            assert site_page.stats()["detections"] == detections
        stages = python_stages[boxes]
        people = stages.detect(rgb)
        python_mask = stages.mask(people, rgb.shape[:2])
        iou = _iou(site_page.mask(), python_mask)
        print(f"{path.name} {'boxes' if boxes else 'outlines'}: IoU {iou:.4f} (hidden {python_mask.mean():.3f} of the photo), "
              f"people {count} (Python {count_people(people)['people']})")
        assert iou >= 0.95
        assert count == count_people(people)["people"]
    page.locator("#boxes").uncheck()
    site_page.wait_version(version + 3)


# -- fuzzypeople serve shows the same page ---------------------------------------------------------------------
def test_serve_root_is_the_in_browser_page_with_its_runtime_and_models():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from fuzzypeople import models
    from fuzzypeople.web.app import create_app

    c = TestClient(create_app(), base_url="http://127.0.0.1")
    r = c.get("/")
    assert r.status_code == 200 and 'id="result"' in r.text and 'href="/server"' in r.text
    assert "'wasm-unsafe-eval'" in r.headers["content-security-policy"]
    wasm = c.get("/static/ort/ort-wasm-simd-threaded.wasm")
    assert wasm.status_code == 200 and wasm.headers["content-type"] == "application/wasm" and wasm.content[:4] == b"\0asm"
    assert c.get("/static/ort/ort-wasm-simd-threaded.mjs").headers["content-type"].startswith("text/javascript")
    assert c.get("/static/models/nanodet.onnx").content == models.path("nanodet.onnx").read_bytes()
    for path in ("/static/models/selfie_segmentation.tflite", "/static/models/..%2fapi.py", "/static/ort/..%2f..%2fapp.py",
                 "/static/ort/ort.min.js", "/static/models/"):
        assert c.get(path).status_code in (404, 405), path
    assert c.get("/server").status_code == 200 and 'id="after"' in c.get("/server").text


# -- the ported helpers against the Python/OpenCV originals, in Node ------------------------------------------
def test_ported_helpers_match_opencv_and_the_pipeline(tmp_path, monkeypatch):
    """fuzzy.js's resizes, dilation, tiles, big-photo rule and mask upscaling against the Python they port."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node (install.sh apt-installs nodejs)")
    import cv2

    from fuzzypeople.detect._runtime import tile_starts
    from fuzzypeople.masks import dilate
    from fuzzypeople.pipeline.photo import ScaledMasker, analysis_size
    from fuzzypeople.web.site import static_dir

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (90, 130, 3), np.uint8)
    mask = np.zeros((90, 130), bool)
    mask[10:30, 20:25] = mask[50, 60] = mask[70:89, 100:129] = True
    (tmp_path / "img.bin").write_bytes(img.tobytes())
    (tmp_path / "mask.bin").write_bytes(mask.astype(np.uint8).tobytes())
    from fuzzypeople.detect.outline import SIZE, Outliner

    pose = np.zeros((SIZE, SIZE), np.float32)
    pose[60:150, 100:140] = 0.9  # BlazePose's mask; the selfie's spreads all over
    selfie = rng.random((SIZE, SIZE), np.float32)
    (tmp_path / "pose.bin").write_bytes(pose.tobytes())
    (tmp_path / "selfie.bin").write_bytes(selfie.tobytes())
    script = f"""
      require({json.dumps(str(static_dir() / "fuzzy.js"))});
      const FP = globalThis.FuzzyPeople, fs = require('fs'), dir = {json.dumps(str(tmp_path))};
      const img = {{data: new Uint8Array(fs.readFileSync(dir + '/img.bin')), width: 130, height: 90}};
      const mask = new Uint8Array(fs.readFileSync(dir + '/mask.bin'));
      const out = {{}};
      for (const [w, h] of [[50, 40], [300, 200], [130, 90], [65, 45], [200, 60]]) {{
        out['area' + w] = Array.from(FP.resizeAreaAny(img, w, h).data);
        out['linear' + w] = Array.from(FP.resizeLinear(img, w, h).data);
      }}
      out.dilate = Array.from(FP.dilate(mask, 130, 90, 4));
      out.up = Array.from(FP.scaleMaskUp(mask, 130, 90, 1000, 700));
      out.tiles = [1000, 416, 417, 5196, 300].map((n) => FP.tileStarts(n, 416, 0.25));
      out.sizes = [[14400, 10000], [4032, 3024], [5000, 4999]].map(([w, h]) => FP.analysisSize(w, h));
      out.held = Array.from(FP.NANODET.held).sort((a, b) => a - b);
      out.heldFace = FP.OUTLINE.heldFace;
      const f32 = (name) => new Float32Array(new Uint8Array(fs.readFileSync(dir + name)).buffer);
      out.gated = Array.from(FP.gated(f32('/selfie.bin'), f32('/pose.bin'), 200));
      fs.writeFileSync(dir + '/out.json', JSON.stringify(out));
    """
    r = subprocess.run([node, "-e", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    for w, h in [(50, 40), (300, 200), (130, 90), (65, 45), (200, 60)]:
        for name, interp in (("area", cv2.INTER_AREA), ("linear", cv2.INTER_LINEAR)):
            ref = cv2.resize(img, (w, h), interpolation=interp).astype(int)
            got = np.array(out[f"{name}{w}"]).reshape(h, w, 3)
            assert (got == ref).all(), (name, w)  # bit for bit: scores near a threshold depend on the last bit
    assert (np.array(out["dilate"], bool).reshape(90, 130) == dilate(mask, 4)).all()
    [(_, up)] = ScaledMasker(None, (700, 1000))._up([(0, mask)])
    assert (np.array(out["up"], bool).reshape(700, 1000) == up).all()
    assert out["tiles"] == [tile_starts(n, 416, 0.25) for n in (1000, 416, 417, 5196, 300)]
    from fuzzypeople.detect.nanodet import HELD
    from fuzzypeople.detect.outline import HELD_FACE

    assert out["held"] == sorted(int(i) for i in HELD) and out["heldFace"] == HELD_FACE  # the same held things
    outliner = Outliner.__new__(Outliner)
    outliner.threshold = 0.3
    want = outliner.gated(selfie, pose, 200)  # the gate, its cone below, and the cone's stop at the box's foot
    assert np.array_equal(np.array(out["gated"], np.float32).reshape(SIZE, SIZE), want)
    assert (want[201:] < 0.3).sum() > (outliner.gated(selfie, pose)[201:] < 0.3).sum()  # (the stop mattered)
    monkeypatch.setattr("fuzzypeople.detect.outline.CONE_THRESHOLD", 0.0)
    assert (outliner.gated(selfie, pose, 200) >= 0.3).sum() > (want >= 0.3).sum()  # (so did the cone's threshold)
    assert [tuple(s) if s else None for s in out["sizes"]] == [analysis_size(h, w) for w, h in [(14400, 10000), (4032, 3024), (5000, 4999)]]


@needs_chromium
def test_serve_runs_the_same_page_in_the_browser_without_uploading(browser, tmp_path):
    """`fuzzypeople serve` at /: the in-browser page, its photo hidden in the browser, nothing POSTed."""
    pytest.importorskip("fastapi")
    import threading

    import uvicorn

    from fuzzypeople.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started or not thread.is_alive():
                break
            time.sleep(0.05)
        assert server.started
        page = Page(browser, f"http://127.0.0.1:{port}")
        photo = tmp_path / "grace.jpg"
        shutil.copy(GRACE, photo)
        page.choose(photo)
        face = (slice(140, 320), slice(190, 340))  # Grace Hopper's face in grace_hopper.jpg
        assert page.mask()[face].all()
        assert page.page.locator("a[href='/server']").count() == 1  # the uploading page is a labelled link away
        assert all(m == "GET" and body is None for m, _, body in page.requests), page.requests
        assert not any("/api/" in url for _, url, _ in page.requests)
        assert not page.errors
        page.page.close()
    finally:
        server.should_exit = True
        thread.join(30)
