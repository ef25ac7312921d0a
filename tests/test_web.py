"""The web app (``fuzzypeople serve``): API limits and hygiene with TestClient, and the real page in Chromium."""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

fastapi = pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e '.[web,dev]')")
from fastapi.testclient import TestClient  # noqa: E402

from fuzzypeople.web.app import Limits, create_app  # noqa: E402

GRACE_FACE = (slice(140, 320), slice(190, 340))  # rows, columns of Grace Hopper's face in grace_hopper.jpg


def client(limits: Limits = Limits(), **kw) -> TestClient:
    return TestClient(create_app(limits, **kw), base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def app_client():
    return client()


def upload(c: TestClient, data: bytes, kind: str = "image/jpeg", **params):
    return c.post("/api/upload", params=params, content=data, headers={"content-type": kind})


@pytest.fixture(scope="module")
def grace_id(app_client):
    from conftest import GRACE

    r = upload(app_client, GRACE.read_bytes(), name="grace.jpg")
    assert r.status_code == 200, r.text
    return r.json()["id"]


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


# -- headers and static files ---------------------------------------------------------------
def test_page_and_assets_are_served_with_security_headers(app_client):
    for path, kind in [("/", "text/html"), ("/server", "text/html"), ("/static/app.js", "text/javascript"),
                       ("/static/style.css", "text/css")]:
        r = app_client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        h = r.headers
        assert "default-src 'self'" in h["content-security-policy"]
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        assert h["x-frame-options"] == "DENY"
    for path in ("/", "/server"):
        page = app_client.get(path).text
        # Nothing from another origin: every script, style and image comes from this server.
        assert "http://" not in page and "https://" not in page and "<style" not in page and "<script>" not in page


@pytest.mark.parametrize("path", [
    "/static/../pyproject.toml", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/%2e%2e%2f%2e%2e%2fcli.py",
    "/static/..%5capp.py", "/static/%2fetc%2fpasswd", "/static//etc/passwd", "/static/app.py", "/static/__init__.py",
    "/static/static/app.js", "/static/", "/static/.", "/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/api/../static/app.py", "/static/index.html%00.py",
])
def test_no_path_traversal_on_static_routes(app_client, path):
    r = app_client.get(path)
    assert r.status_code in (400, 404, 405), (path, r.status_code)
    assert "import " not in r.text and "root:" not in r.text and "[project]" not in r.text


def test_only_loopback_host_names_are_answered(app_client):
    assert app_client.get("/", headers={"host": "evil.example"}).status_code == 400  # DNS rebinding
    assert app_client.get("/", headers={"host": "localhost:8000"}).status_code == 200


# -- uploads: types and limits ------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["text/plain", "application/octet-stream", "multipart/form-data; boundary=x",
                                  "application/json", ""])
def test_wrong_content_type_is_refused(app_client, kind):
    r = upload(app_client, png_bytes(np.zeros((8, 8, 3), np.uint8)), kind)
    assert r.status_code == 415
    assert "Send a photo" in r.json()["detail"]


@pytest.mark.parametrize("data", [b"not an image at all", b"\xff\xd8\xff\xe0" + b"\0" * 64, b"GIF89a" + b"\0" * 64],
                         ids=["text", "broken-jpeg", "gif"])
def test_non_image_bytes_are_refused_with_a_clear_message(app_client, data):
    r = upload(app_client, data, "image/jpeg")
    assert r.status_code == 415
    assert r.json()["detail"].startswith(("This file is not a photo", "Cannot read this photo"))


def test_empty_upload_is_refused(app_client):
    r = upload(app_client, b"", "image/png")
    assert r.status_code == 400 and "empty" in r.json()["detail"]


def test_upload_size_is_capped():
    c = client(Limits(max_bytes=10_000))
    noise = np.random.default_rng(0).integers(0, 256, (80, 80, 3), np.uint8)  # ~19 kB as PNG
    r = upload(c, png_bytes(noise), "image/png")
    assert r.status_code == 413 and "larger than the" in r.json()["detail"]
    assert upload(c, png_bytes(noise[:20, :20]), "image/png").status_code == 200

    def chunks():  # no Content-Length: the stream is cut at the limit
        data = png_bytes(noise)
        for i in range(0, len(data), 4096):
            yield data[i:i + 4096]

    r = c.post("/api/upload", content=chunks(), headers={"content-type": "image/png"})
    assert r.status_code == 413


@pytest.mark.parametrize("size, limits", [((3000, 10), Limits(max_side=2000)), ((1500, 1500), Limits(max_pixels=2_000_000))])
def test_image_dimensions_are_capped(size, limits):
    w, h = size
    r = upload(client(limits), png_bytes(np.zeros((h, w, 3), np.uint8)), "image/png")
    assert r.status_code == 413
    assert f"{w}x{h} pixels" in r.json()["detail"] and "limit" in r.json()["detail"]


def test_bad_settings_and_unknown_uploads_are_refused(app_client, grace_id):
    assert app_client.get("/api/result/nope").status_code == 404
    assert "upload it again" in app_client.get("/api/download/nope").json()["detail"]
    assert app_client.get(f"/api/result/{grace_id}", params={"method": "zap"}).status_code == 422
    assert app_client.get(f"/api/result/{grace_id}", params={"value": 10_000}).status_code == 422
    assert app_client.get(f"/api/result/{grace_id}", params={"targets": "cats"}).status_code == 422
    assert app_client.get(f"/api/result/{grace_id}", params={"method": "solid", "color": "red"}).status_code == 422


def test_uploads_are_kept_in_a_small_lru():
    c = client(Limits(max_uploads=2))
    img = png_bytes(np.full((16, 16, 3), 90, np.uint8))
    ids = [upload(c, img, "image/png").json()["id"] for _ in range(3)]
    assert c.get(f"/api/result/{ids[0]}").status_code == 404  # evicted
    assert all(c.get(f"/api/result/{i}").status_code == 200 for i in ids[1:])
    assert c.delete(f"/api/upload/{ids[2]}").json() == {"forgotten": True}
    assert c.get(f"/api/result/{ids[2]}").status_code == 404


# -- results -------------------------------------------------------------------------------------
def test_result_hides_the_face_and_the_slider_only_re_hides(app_client, grace_id, monkeypatch):
    from conftest import GRACE

    original = np.asarray(Image.open(GRACE).convert("RGB")).astype(int)
    info = app_client.get(f"/api/people/{grace_id}").json()
    assert info["people"] >= 1 and info["faces"] >= 1 and info["auto_radius"] >= 16
    # Detection ran at upload: moving the slider must not detect again.
    from fuzzypeople.api import Anonymizer

    monkeypatch.setattr(Anonymizer, "detect", lambda self, rgb: pytest.fail("detected again on a slider move"))
    outs = {}
    for value in (4, 32):
        r = app_client.get(f"/api/result/{grace_id}", params={"method": "scramble", "value": value})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        outs[value] = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")).astype(int)
        assert outs[value].shape == original.shape
        assert np.abs(outs[value][GRACE_FACE] - original[GRACE_FACE]).mean() > 10
    assert np.abs(outs[4] - outs[32]).mean() > 1  # the slider changes the result
    again = app_client.get(f"/api/result/{grace_id}", params={"method": "scramble", "value": 32})
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(again.content)).convert("RGB")), outs[32])  # one seed per upload
    for method in ("pixelate", "blur", "solid", "silhouette", "none"):
        assert app_client.get(f"/api/result/{grace_id}", params={"method": method}).status_code == 200


def test_download_is_the_photo_with_people_hidden_and_no_metadata(app_client, tmp_path):
    from conftest import GRACE

    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS
    src = tmp_path / "with exif.jpg"
    Image.open(GRACE).save(src, exif=exif, quality=95)
    key = upload(app_client, src.read_bytes(), name="../holiday/with exif.jpg").json()["id"]
    r = app_client.get(f"/api/download/{key}", params={"method": "solid", "color": "#ff00ff"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.headers["content-disposition"] == 'attachment; filename="with_exif_anonymized.jpg"'
    out = Image.open(io.BytesIO(r.content))
    assert out.format == "JPEG" and out.size == Image.open(src).size
    assert len(out.getexif()) == 0 and b"SecretCam" not in r.content
    face = np.asarray(out.convert("RGB")).astype(int)[GRACE_FACE]
    assert np.abs(face - [255, 0, 255]).mean() < 12  # solid magenta over the face


def test_privacy_meter_reports_the_current_setting(app_client, grace_id):
    pytest.importorskip("dlib", reason="the audit extra (dlib) is not installed")
    weak = app_client.get(f"/api/audit/{grace_id}", params={"method": "scramble", "value": 1}).json()
    strong = app_client.get(f"/api/audit/{grace_id}", params={"method": "solid"}).json()
    assert weak["faces"] == strong["faces"] == 1
    assert weak["faces_reidentified"] == 1 and weak["verdict"] == "at risk"
    assert strong["faces_reidentified"] == 0 and strong["faces_still_detected"] == 0 and strong["verdict"] == "private"
    assert 0 < strong["altered_share"] <= 1 and strong["hidden_share"] > 0


def test_no_uploaded_file_remains_on_disk(tmp_path, monkeypatch):
    from conftest import GRACE

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    big = np.random.default_rng(1).integers(0, 256, (900, 900, 3), np.uint8)  # > 1 MB: past any spooling threshold
    payloads = [(GRACE.read_bytes(), "image/jpeg"), (png_bytes(big), "image/png")]
    for memfd in (True, False):  # the in-memory file, and the private temp folder where memfd is missing
        if not memfd:
            monkeypatch.delattr(os, "memfd_create", raising=False)
        c = client()
        for data, kind in payloads:
            key = upload(c, data, kind).json()["id"]
            c.get(f"/api/result/{key}")
            c.get(f"/api/download/{key}")
            assert list(scratch.iterdir()) == [], "an upload was left on disk"
    assert len(payloads[1][0]) > 1024 * 1024


def test_no_image_content_or_name_is_logged(caplog):
    from conftest import GRACE

    c = client()
    with caplog.at_level(logging.DEBUG):
        key = upload(c, GRACE.read_bytes(), name="secret-name.jpg").json()["id"]
        c.get(f"/api/result/{key}")
        c.get(f"/api/download/{key}")
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not the test's client
    text = "\n".join(r.getMessage() for r in server_side)
    assert "secret-name" not in text and key not in text and "\\xff\\xd8" not in text


def test_serve_warns_when_bound_beyond_loopback(monkeypatch):
    import uvicorn
    from click.testing import CliRunner

    from fuzzypeople.cli import main

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    r = CliRunner().invoke(main, ["serve"])
    assert r.exit_code == 0 and "warning" not in r.stderr
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 8000 and calls[-1]["access_log"] is False
    r = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert r.exit_code == 0 and "warning" in r.stderr and "0.0.0.0" in r.stderr
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 8123


# -- short videos ------------------------------------------------------------------------------------
def grace_clip(frames: int = 12) -> tuple[bytes, np.ndarray]:
    """An MP4 of Grace Hopper's portrait standing still, and the frame."""
    import av

    from conftest import GRACE

    still = np.asarray(Image.open(GRACE).convert("RGB").resize((256, 300)))
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 256, 300, "yuv420p"
        for _ in range(frames):
            c.mux(s.encode(av.VideoFrame.from_ndarray(still, "rgb24")))
        c.mux(s.encode(None))
    return buf.getvalue(), still


def wait_for_job(c: TestClient, key: str) -> list[dict]:
    """Poll the job until it ends (bounded by a count of polls, not by a clock); returns every status seen."""
    seen = []
    for _ in range(2000):
        seen.append(c.get(f"/api/video/{key}").json())
        if seen[-1]["status"] in ("done", "error"):
            return seen
        threading.Event().wait(0.1)
    pytest.fail(f"the video job never ended: {seen[-1]}")


def test_video_is_anonymised_in_a_job_with_progress_and_leaves_nothing_on_disk(tmp_path, monkeypatch):
    import av

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    data, still = grace_clip()
    c = client()
    r = c.post("/api/video", params={"method": "solid", "color": "#00ff00", "name": "my clip.mp4"}, content=data,
               headers={"content-type": "video/mp4"})
    assert r.status_code == 202
    key = r.json()["id"]
    assert c.get(f"/api/video/{key}/result").status_code in (409, 200)
    seen = wait_for_job(c, key)
    final = seen[-1]
    assert final["status"] == "done", final
    assert final["total"] == 12 and final["done"] == 12 and final["people"] >= 1
    assert all(s["done"] <= 12 for s in seen)
    r = c.get(f"/api/video/{key}/result", params={"download": True})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.headers["content-disposition"] == 'attachment; filename="my_clip_anonymized.mp4"'
    with av.open(io.BytesIO(r.content)) as got:
        frames = [f.to_ndarray(format="rgb24") for f in got.decode(video=0)]
    assert len(frames) == 12
    face = (slice(70, 160), slice(90, 170))  # Grace's face in the 256x300 frame
    for f in frames:
        assert np.abs(f[face].astype(int) - [0, 255, 0]).mean() < 40, "a frame shows the face"
    assert list(scratch.iterdir()) == [], "the video or its result was left on disk"
    assert c.delete(f"/api/video/{key}").json() == {"forgotten": True}
    assert c.get(f"/api/video/{key}").status_code == 404


def test_stopping_the_server_removes_a_running_video_from_disk(tmp_path, monkeypatch):
    import fuzzypeople.pipeline

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    started, release = threading.Event(), threading.Event()

    def stuck(stages, src, dst, settings, quiet=True):  # a job still running when the server stops
        started.set()
        release.wait(60)
        raise RuntimeError("stopped")

    monkeypatch.setattr(fuzzypeople.pipeline, "anonymize_video", stuck)
    with TestClient(create_app(), base_url="http://127.0.0.1") as c:  # runs the app's startup and shutdown
        key = c.post("/api/video", content=grace_clip(4)[0], headers={"content-type": "video/mp4"}).json()["id"]
        assert started.wait(60)
        assert len(list(scratch.iterdir())) == 1  # the job's private folder, while it runs
        assert c.get(f"/api/video/{key}").json()["status"] == "running"
    assert list(scratch.iterdir()) == [], "the running video was left on disk after the server stopped"
    release.set()


def test_video_uploads_are_checked():
    c = client(Limits(max_video_bytes=50_000, max_video_frames=5))
    data, _ = grace_clip()
    r = c.post("/api/video", content=data, headers={"content-type": "video/ogg"})
    assert r.status_code == 415 and "Send a video" in r.json()["detail"]
    r = c.post("/api/video", params={"method": "none"}, content=data, headers={"content-type": "video/mp4"})
    assert r.status_code == 422
    r = c.post("/api/video", content=b"\0" * 60_000, headers={"content-type": "video/mp4"})
    assert r.status_code == 413 and "larger than the" in r.json()["detail"]
    key = c.post("/api/video", content=data, headers={"content-type": "video/mp4"}).json()["id"]
    final = wait_for_job(c, key)[-1]
    assert final["status"] == "error" and "the limit is 5" in final["message"]
    assert c.get(f"/api/video/{key}/result").status_code == 409
    key = c.post("/api/video", content=b"not a video" * 50, headers={"content-type": "video/mp4"}).json()["id"]
    final = wait_for_job(c, key)[-1]
    assert final["status"] == "error" and final["message"].startswith("Cannot anonymise this video")
    assert "/tmp" not in final["message"] and "upload" not in final["message"]


# -- the real page in headless Chromium ------------------------------------------------------------
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _browser():
    """``(Chromium's path, playwright.sync_api)``, or skip the test when either is missing."""
    chrome = _chromium()
    if chrome is None:
        pytest.skip("no Chromium found (install.sh apt-installs the Debian chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    return chrome, sync_api


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server():
    """The app served by uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Limits(max_bytes=2 * 1024 * 1024)), host="127.0.0.1",
                                           port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


PIXEL_SUM = """img => { const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0); const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = 0; for (let i = 0; i < d.length; i += 7) s = (s * 31 + d[i]) % 1000000007; return s; }"""


def test_page_in_headless_chromium(live_server, tmp_path):
    from conftest import GRACE

    chrome, sync_api = _browser()
    expect = sync_api.expect
    photo = tmp_path / "grace.jpg"
    shutil.copy(GRACE, photo)
    console, failed = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chrome, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
            page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
            page.on("response", lambda r: failed.append((r.status, r.url.replace(live_server, ""))) if r.status >= 400 else None)
            page.goto(live_server + "/server")
            expect(page.locator("body")).to_have_attribute("data-ready", "1")

            page.set_input_files("#file", str(photo))
            after = page.locator("#after")
            expect(after).to_have_attribute("data-version", "1", timeout=120_000)
            expect(page.locator("#before")).to_have_js_property("complete", True)
            assert int(page.locator("#people").inner_text()) >= 1
            first = after.evaluate(PIXEL_SUM)

            page.locator("#slider").fill("2")  # the noise slider: re-hides only
            expect(page.locator("#slider-value")).to_have_text("2 px")
            expect(after).to_have_attribute("data-version", "2", timeout=60_000)
            assert after.evaluate(PIXEL_SUM) != first, "moving the slider did not change the result"
            page.locator("#slider").fill("48")
            expect(after).to_have_attribute("data-version", "3", timeout=60_000)

            expect(page.locator("#verdict")).to_have_text(re.compile("^(private|at risk)$"), timeout=120_000)
            expect(page.locator("#spinner")).to_be_hidden()
            assert page.locator("#m-faces").inner_text().endswith("of 1")
            page.locator(".modes button[data-mode=swipe]").click()
            page.locator("#swipe").fill("35")
            assert "inset" in page.locator("figure.after").evaluate("f => f.style.clipPath")
            page.screenshot(path=str(tmp_path / "web-swipe.png"))
            page.locator(".modes button[data-mode=toggle]").click()
            expect(page.locator("figure.before")).to_be_hidden()
            page.locator("#flip").click()  # show the original
            expect(page.locator("figure.before")).to_be_visible()
            expect(page.locator("figure.after")).to_be_hidden()
            page.locator(".modes button[data-mode=side]").click()
            expect(page.locator("figure.after")).to_be_visible()
            page.screenshot(path=str(tmp_path / "web.png"), full_page=True)

            with page.expect_download() as dl:
                page.locator("#download").click()
            assert dl.value.suggested_filename == "grace_anonymized.jpg"
            got = Path(dl.value.path()).read_bytes()
            out = Image.open(io.BytesIO(got))
            assert out.format == "JPEG" and len(out.getexif()) == 0
            before = np.asarray(Image.open(photo).convert("RGB")).astype(int)
            hidden = np.asarray(out.convert("RGB")).astype(int)
            assert hidden.shape == before.shape
            assert np.abs(hidden[GRACE_FACE] - before[GRACE_FACE]).mean() > 10, "the face was not hidden"

            # A file that is not a photo, and one over the limit: the page says so.
            error = page.locator("#error")
            page.set_input_files("#file", files=[{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"hello" * 50}])
            expect(error).to_be_visible()
            expect(error).to_contain_text("not a photo")
            page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
            expect(error).to_contain_text("Send a photo")
            page.set_input_files("#file", files=[{"name": "huge.jpg", "mimeType": "image/jpeg",
                                                  "buffer": b"\xff\xd8" + b"\0" * (3 * 1024 * 1024)}])
            expect(error).to_contain_text("larger than the 2 MB limit")
            assert page.locator("#file").evaluate("f => f.files.length") == 0  # the picker names no refused file
            page.screenshot(path=str(tmp_path / "web-error.png"), full_page=True)
            expect(after).to_have_attribute("data-version", "3")  # the last good result is still shown

            # Drag and drop works too, and hiding faces only finds fewer people than whole people.
            drop = page.evaluate_handle("""bytes => { const t = new DataTransfer();
                t.items.add(new File([new Uint8Array(bytes)], 'dropped.jpg', {type: 'image/jpeg'})); return t; }""",
                                        list(photo.read_bytes()))
            page.dispatch_event("#drop", "drop", {"dataTransfer": drop})
            expect(after).to_have_attribute("data-version", "4", timeout=120_000)
            expect(error).to_be_hidden()
            whole = page.locator("#people-kinds").inner_text()
            page.select_option("#targets", "faces")
            expect(page.locator("#people-kinds")).to_have_text("0 bodies, 1 face detected", timeout=120_000)
            expect(after).to_have_attribute("data-version", "5", timeout=60_000)
            assert whole != "0 bodies, 1 face detected"
        finally:
            browser.close()
    # The only failed requests are the two refused uploads; no other error reached the console.
    assert [status for status, url in failed] == [415, 415] and all(u.startswith("/api/upload") for _, u in failed), failed
    assert [m for m in console if "status of 415" not in m] == [], console


def test_short_video_in_headless_chromium(live_server, tmp_path):
    chrome, sync_api = _browser()
    expect = sync_api.expect
    import av

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(grace_clip()[0])
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chrome, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
            page.goto(live_server + "/server")
            expect(page.locator("body")).to_have_attribute("data-ready", "1")
            page.select_option("#method", "pixelate")
            page.set_input_files("#file", str(clip))
            expect(page.locator("#video-view")).to_be_visible()
            expect(page.locator("#video-download")).to_be_visible(timeout=180_000)
            expect(page.locator("#video-status")).to_contain_text("Done: 12 frames")
            assert page.locator("#video-progress").evaluate("p => p.value === p.max")
            expect(page.locator("#stage")).to_be_hidden()
            page.screenshot(path=str(tmp_path / "web-video.png"))
            with page.expect_download() as dl:
                page.locator("#video-download").click()
            assert dl.value.suggested_filename == "clip_anonymized.mp4"
            with av.open(dl.value.path()) as got:
                assert sum(1 for _ in got.decode(video=0)) == 12
        finally:
            browser.close()
