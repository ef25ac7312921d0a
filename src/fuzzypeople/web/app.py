"""The web app: a FastAPI application over :class:`fuzzypeople.Anonymizer` and the audit.

Every request that changes pixels goes through the same stages as the
command line: :meth:`Anonymizer.analyse` (detect -> mask) once per upload and
set of targets, :meth:`Anonymizer.hide` for each setting of the slider,
:func:`fuzzypeople.io.image.encode_image` (metadata stripped) for what is
sent back. The privacy meter is :meth:`fuzzypeople.audit.Auditor.compare`.

Privacy: uploads come as the raw request body (no multipart spooling to a
temporary file) and are decoded from an anonymous in-memory file
(``memfd``; elsewhere a private temporary folder removed at once); decoded
uploads stay in memory in a small LRU and are forgotten on request, on
eviction or when the server stops. Nothing outside the packaged assets is
served; every response carries strict security headers; nothing about an
image's content is logged.
"""

from __future__ import annotations

import copy
import io as _io
import os
import re
import secrets
import tempfile
import threading
from collections import OrderedDict
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from PIL import Image, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

from .. import models
from ..errors import FuzzyError
from ..io.image import FORMATS, ImageFile, encode_image, read_image, to_rgb8
from ..obfuscate import METHODS as ALL_METHODS
from ..people import standalone
from ..pipeline import Settings
from . import site
from .video import MAX_VIDEO_BYTES, MAX_VIDEO_FRAMES, MEDIA_TYPES, VIDEO_TYPES, Job, Jobs

# The page offers the methods that hide people (not cloak: seconds per face, and it leaves faces visible).
METHODS = {name: m for name, m in ALL_METHODS.items() if getattr(m, "HIDES", True)}

MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # 25 MiB
MAX_SIDE = 8000  # pixels, either side
MAX_PIXELS = 40_000_000  # 40 megapixels
MAX_UPLOADS = 4  # decoded uploads kept in memory (least recently used dropped)
PREVIEW_SIDE = 1600  # previews are shrunk to this longest side; downloads are full size

# The slider of each method: the Params field it moves, its range and default.
SLIDERS = {
    "scramble": {"param": "radius", "label": "Noise radius", "unit": "px", "min": 0, "max": 128, "step": 1},
    "pixelate": {"param": "block", "label": "Block size", "unit": "px", "min": 1, "max": 96, "step": 1, "default": 16},
    "blur": {"param": "strength", "label": "Blur strength", "unit": "σ px", "min": 0, "max": 80, "step": 1, "default": 25},
}
COLOR_METHODS = {"solid": "#000000", "silhouette": "#808080"}
TARGET_CHOICES = {"bodies,faces": ("bodies", "faces"), "bodies": ("bodies",), "faces": ("faces",)}

ASSETS = {  # the only files served: name -> media type
    "server.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "browser.js": "text/javascript; charset=utf-8",
    "fuzzy.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
# 'wasm-unsafe-eval': the in-browser page compiles onnxruntime-web's WebAssembly (no JS eval).
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
NO_STORE = {"Cache-Control": "no-store"}
RUNTIME_TYPES = {".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".wasm": "application/wasm"}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/tiff", "image/bmp", "image/x-ms-bmp"}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass(frozen=True)
class Limits:
    """What the server accepts."""

    max_bytes: int = MAX_UPLOAD_BYTES
    max_side: int = MAX_SIDE
    max_pixels: int = MAX_PIXELS
    max_uploads: int = MAX_UPLOADS
    max_video_bytes: int = MAX_VIDEO_BYTES
    max_video_frames: int = MAX_VIDEO_FRAMES


@dataclass
class Upload:
    """One decoded photo, kept in memory while the page works on it."""

    image: ImageFile
    name: str
    seed: int  # scramble's random field: secret, stays on the server
    analysed: dict = field(default_factory=dict)  # targets -> (people, mask)
    studied: object = None  # the audit's view of the original (Auditor.study)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def rgb(self) -> np.ndarray:
        return self.image.rgb


class Uploads:
    """A small thread-safe LRU of uploads, by random id."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, Upload] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, upload: Upload) -> str:
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._items[key] = upload
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> Upload:
        with self._lock:
            upload = self._items.get(key)
            if upload is None:
                raise HTTPException(404, "This photo is no longer on the server (it keeps only the last few); upload it again.")
            self._items.move_to_end(key)
            return upload

    def drop(self, key: str) -> bool:
        with self._lock:
            return self._items.pop(key, None) is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def asset(name: str) -> bytes:
    """A packaged asset's bytes (only names in :data:`ASSETS`)."""
    return resources.files(__package__).joinpath("static", name).read_bytes()


@contextmanager
def in_memory_file(data: bytes):
    """A path that reads ``data``: an anonymous in-memory file, or a private temp file removed on exit."""
    if hasattr(os, "memfd_create") and Path("/proc/self/fd").is_dir():
        fd = os.memfd_create("fuzzypeople-upload", getattr(os, "MFD_CLOEXEC", 0))
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            yield Path(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="fuzzypeople-") as folder:  # mode 0700
        path = Path(folder) / "upload"
        path.write_bytes(data)
        yield path


def decode(data: bytes, limits: Limits) -> ImageFile:
    """Check the size and dimensions, then decode with :func:`fuzzypeople.io.image.read_image`."""
    if not data:
        raise HTTPException(400, "The upload is empty.")
    try:
        with Image.open(_io.BytesIO(data)) as im:  # reads the header only
            w, h = im.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise HTTPException(415, "This file is not a photo fuzzypeople can read (JPEG, PNG, WebP, TIFF or BMP).") from None
    except Image.DecompressionBombError:
        raise HTTPException(413, f"This image is too large; the limit is {limits.max_pixels // 1_000_000} megapixels.") from None
    if max(w, h) > limits.max_side or w * h > limits.max_pixels:
        raise HTTPException(413, f"This image is {w}x{h} pixels; the limit is {limits.max_side} pixels a side and "
                                 f"{limits.max_pixels // 1_000_000} megapixels. Resize it and try again.")
    try:
        with in_memory_file(data) as path:
            return read_image(path, max_pixels=limits.max_pixels)
    except FuzzyError as exc:
        raise HTTPException(415, f"Cannot read this photo: {exc.problem}") from None


def safe_name(name: str | None) -> str:
    """A plain file stem for the download (letters, digits, ``._-``), never a path.

    >>> safe_name("../../etc/pass wd.jpg"), safe_name(None)
    ('pass_wd', 'photo')
    """
    stem = Path(str(name or "").replace("\\", "/")).stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:80]
    return stem or "photo"


def create_app(limits: Limits = Limits(), allowed_hosts: list[str] | None = None) -> FastAPI:
    """The web app. ``allowed_hosts``: Host header values accepted (default: loopback names)."""
    jobs = Jobs()

    @asynccontextmanager
    async def lifespan(app):
        yield
        jobs.close()  # stopping: no video left behind in a temporary folder

    app = FastAPI(title="fuzzypeople", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.limits = limits
    app.state.uploads = uploads = Uploads(limits.max_uploads)
    app.state.jobs = jobs
    hosts = sorted(set(allowed_hosts or []) | {"127.0.0.1", "localhost", "[::1]", "::1"})
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)  # no DNS rebinding onto the local server
    anonymizers: dict[tuple, object] = {}
    models_lock = threading.Lock()
    # One analysis at a time: the detectors' LiteRT interpreters and dlib are not thread-safe, and
    # the machine's cores are better spent on one photo than shared by two. Hiding runs in parallel.
    compute_lock = threading.Lock()
    auditor_box: dict = {}

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def anonymizer(targets: tuple[str, ...], method: str = "none"):
        """The :class:`~fuzzypeople.Anonymizer` for these targets and method, made when first needed.

        One per set of targets loads the detectors; the others are copies
        sharing its detectors, differing only in their settings' method.
        """
        from ..api import Anonymizer

        with models_lock:
            if (targets, "none") not in anonymizers:
                anonymizers[(targets, "none")] = Anonymizer(settings=Settings(method="none", targets=targets))
            if (targets, method) not in anonymizers:
                stages = copy.copy(anonymizers[(targets, "none")])
                stages.method = method  # replaces the copy's settings only
                anonymizers[(targets, method)] = stages
            return anonymizers[(targets, method)]

    def auditor():
        with models_lock:
            if "auditor" not in auditor_box:
                try:
                    from ..audit.core import Auditor
                except ImportError as exc:
                    raise HTTPException(501, f"The privacy meter needs the audit extra (pip install 'fuzzypeople[audit]'): {exc}") from None
                auditor_box["auditor"] = Auditor()
            return auditor_box["auditor"]

    def parse_targets(targets: str) -> tuple[str, ...]:
        try:
            return TARGET_CHOICES[targets]
        except KeyError:
            raise HTTPException(422, f"targets must be one of {', '.join(TARGET_CHOICES)}") from None

    def parse_color(color: str | None) -> tuple[int, int, int] | None:
        if not color:
            return None
        if not re.fullmatch(r"#?[0-9a-fA-F]{6}", color):
            raise HTTPException(422, "color must be #RRGGBB")
        c = color.lstrip("#")
        return tuple(int(c[i:i + 2], 16) for i in (0, 2, 4))

    def setting_changes(method: str, value: float | None, color: str | None) -> dict:
        """The slider's value and the colour, as changes to the method's parameters."""
        changes: dict = {}
        slider = SLIDERS.get(method)
        if slider and value is not None:
            if not slider["min"] <= value <= slider["max"]:
                raise HTTPException(422, f"{slider['param']} must be between {slider['min']} and {slider['max']}")
            changes[slider["param"]] = value if slider["param"] == "strength" else int(value)
        rgb = parse_color(color)
        if rgb is not None and method in COLOR_METHODS:
            changes["color"] = rgb
        return changes

    def analysed(upload: Upload, targets: tuple[str, ...]):
        """Detection and mask for these targets: computed once per upload, then cached."""
        with upload.lock:
            if targets not in upload.analysed:
                anon = anonymizer(targets, "none")
                try:
                    with compute_lock:
                        upload.analysed[targets] = anon.analyse(upload.rgb)
                except Exception as exc:  # fail closed: nothing is shown half-hidden
                    raise HTTPException(500, f"Analysis failed ({type(exc).__name__}); nothing to show.") from None
            return upload.analysed[targets]

    def hidden(upload: Upload, method: str, value: float | None, targets: str, color: str | None):
        """The upload with its people hidden at this setting: ``(pixels, people, mask, params)``."""
        if method not in METHODS:
            raise HTTPException(422, f"method must be one of {', '.join(METHODS)}")
        t = parse_targets(targets)
        people, mask = analysed(upload, t)
        anon = anonymizer(t, method)
        params = replace(anon.params, seed=upload.seed, **setting_changes(method, value, color))
        return anon.hide(upload.image.pixels, mask, params), people, mask, params

    def found(people, mask) -> dict:
        from ..obfuscate.scramble import auto_radius

        return {
            **count_people(people),
            "hidden_share": float(mask.mean()),
            "auto_radius": int(auto_radius(mask)) if mask.any() else 0,
        }

    def image_response(upload: Upload, pixels: np.ndarray, fmt: str, preview: bool, filename: str | None = None):
        img = upload.image
        if preview:
            h, w = pixels.shape[:2]
            if max(h, w) > PREVIEW_SIDE:  # shrink the finished picture only: never hide at a lower resolution
                s = PREVIEW_SIDE / max(h, w)
                small = Image.fromarray(to_rgb8(pixels)).resize((max(1, round(w * s)), max(1, round(h * s))), Image.BILINEAR)
                img, pixels = ImageFile(np.asarray(small), None, "JPEG", "RGB"), np.asarray(small)
        data = encode_image(img, pixels, keep_metadata=False, fmt=fmt)  # metadata stripped
        media = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff", "BMP": "image/bmp"}[fmt]
        headers = dict(NO_STORE)
        if filename:
            headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return Response(data, media_type=media, headers=headers)

    def preview_format(img: ImageFile) -> str:
        return "PNG" if img.pixels.dtype == np.uint16 or img.alpha is not None else "JPEG"

    async def read_body(request: Request, limit: int) -> bytes:
        """The request body, in memory, refused as soon as it passes ``limit`` bytes."""
        too_big = f"This file is larger than the {limit / 1024 / 1024:.0f} MB limit."
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, too_big)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise HTTPException(413, too_big)
        return bytes(body)

    # -- pages and assets ------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def index():
        """The in-browser page (as ``fuzzypeople site`` writes it, plus a link to the server page)."""
        return Response(site.page(serve=True), media_type="text/html; charset=utf-8")

    @app.get("/server", include_in_schema=False)
    def server_page():
        """The page that uploads to this server: video, and the privacy meter (the audit)."""
        return Response(asset("server.html"), media_type=ASSETS["server.html"])

    @app.get("/static/ort/{name}", include_in_schema=False)
    def ort_runtime(name: str):
        if name not in site.ORT:  # a fixed list: no path is ever built from the request
            raise HTTPException(404, "Not found")
        try:
            path = site.ort_file(name)
        except FuzzyError as exc:
            raise HTTPException(404, str(exc)) from None
        return FileResponse(path, media_type=RUNTIME_TYPES[Path(name).suffix])

    @app.get("/static/models/{name}", include_in_schema=False)
    def model_file(name: str):
        if name not in site.MODELS:
            raise HTTPException(404, "Not found")
        return FileResponse(models.path(name), media_type="application/octet-stream")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(asset("favicon.svg"), media_type=ASSETS["favicon.svg"])

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        if name not in ASSETS:  # a fixed list: no path is ever built from the request
            raise HTTPException(404, "Not found")
        return Response(asset(name), media_type=ASSETS[name])

    # -- the API -------------------------------------------------------------------------
    @app.get("/api/config")
    def config():
        return {
            "methods": list(METHODS),
            "sliders": SLIDERS,
            "colors": COLOR_METHODS,
            "targets": list(TARGET_CHOICES),
            "max_bytes": limits.max_bytes,
            "max_video_bytes": limits.max_video_bytes,
            "max_side": limits.max_side,
            "max_pixels": limits.max_pixels,
        }

    @app.post("/api/upload")
    async def upload(request: Request, targets: str = Query("bodies,faces"), name: str | None = Query(None)):
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in IMAGE_TYPES:
            raise HTTPException(415, f"Send a photo (JPEG, PNG, WebP, TIFF or BMP); got content type {kind or 'none'}.")
        t = parse_targets(targets)
        data = await read_body(request, limits.max_bytes)
        image = await run_in_threadpool(decode, data, limits)
        del data
        up = Upload(image, safe_name(name), secrets.randbits(63))
        people, mask = await run_in_threadpool(analysed, up, t)
        key = uploads.add(up)
        h, w = image.pixels.shape[:2]
        return JSONResponse({"id": key, "width": w, "height": h, "format": image.format, **found(people, mask)},
                            headers=NO_STORE)

    @app.get("/api/people/{key}")
    def people(key: str, targets: str = "bodies,faces"):
        """Who is found with these targets (detected once per upload and targets, then cached)."""
        up = uploads.get(key)
        return found(*analysed(up, parse_targets(targets)))

    # -- short videos: a background job with progress -------------------------------------
    @app.post("/api/video")
    async def video_upload(request: Request, targets: str = Query("bodies,faces"), method: str = "scramble",
                           value: float | None = None, color: str | None = None, name: str | None = Query(None)):
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in VIDEO_TYPES:
            raise HTTPException(415, f"Send a video (MP4, MOV, WebM, MKV or AVI); got content type {kind or 'none'}.")
        if method not in METHODS or method == "none":
            raise HTTPException(422, f"method must be one of {', '.join(m for m in METHODS if m != 'none')}")
        changes = setting_changes(method, value, color)
        settings = Settings(method=method, targets=parse_targets(targets), **changes).for_video()
        data = await read_body(request, limits.max_video_bytes)
        if not data:
            raise HTTPException(400, "The upload is empty.")
        ext = VIDEO_TYPES[kind]
        key = jobs.start(data, Job(safe_name(name), ext), settings, limits.max_side, limits.max_video_frames)
        return JSONResponse({"id": key}, status_code=202, headers=NO_STORE)

    @app.get("/api/video/{key}")
    def video_status(key: str):
        return job_or_404(key).public()

    @app.get("/api/video/{key}/result")
    def video_result(key: str, download: bool = False):
        job = job_or_404(key)
        if job.status != "done" or job.result is None:
            raise HTTPException(409, "This video is not ready yet.")
        headers = dict(NO_STORE)
        if download:
            headers["Content-Disposition"] = f'attachment; filename="{job.name}_anonymized{job.ext}"'
        return Response(job.result, media_type=MEDIA_TYPES[job.ext], headers=headers)

    @app.delete("/api/video/{key}")
    def video_forget(key: str):
        return {"forgotten": jobs.drop(key)}

    def job_or_404(key: str) -> Job:
        job = jobs.get(key)
        if job is None:
            raise HTTPException(404, "This video is no longer on the server; upload it again.")
        return job

    @app.delete("/api/upload/{key}")
    def forget(key: str):
        return {"forgotten": uploads.drop(key)}

    @app.get("/api/original/{key}")
    def original(key: str):
        up = uploads.get(key)
        return image_response(up, up.image.pixels, preview_format(up.image), preview=True)

    @app.get("/api/result/{key}")
    def result(key: str, method: str = "scramble", value: float | None = None, targets: str = "bodies,faces",
               color: str | None = None):
        up = uploads.get(key)
        pixels, people, mask, _ = hidden(up, method, value, targets, color)
        response = image_response(up, pixels, preview_format(up.image), preview=True)
        response.headers["X-People"] = str(count_people(people)["people"])
        response.headers["X-Hidden-Share"] = f"{float(mask.mean()):.4f}"
        return response

    @app.get("/api/download/{key}")
    def download(key: str, method: str = "scramble", value: float | None = None, targets: str = "bodies,faces",
                 color: str | None = None):
        up = uploads.get(key)
        pixels, _, _, _ = hidden(up, method, value, targets, color)
        fmt = up.image.format if up.image.format in FORMATS else "PNG"
        return image_response(up, pixels, fmt, preview=False, filename=f"{up.name}_anonymized{FORMATS[fmt]}")

    @app.get("/api/audit/{key}")
    def audit(key: str, method: str = "scramble", value: float | None = None, targets: str = "bodies,faces",
              color: str | None = None):
        up = uploads.get(key)
        pixels, people, mask, _ = hidden(up, method, value, targets, color)
        aud = auditor()
        with up.lock, compute_lock:
            if up.studied is None:
                up.studied = aud.study(up.rgb)
            frame = aud.compare(up.studied, to_rgb8(pixels), 0)
        faces, bodies = frame["faces"], frame["people"]
        return {
            "verdict": frame["verdict"],
            "reasons": frame["reasons"],
            "faces": len(faces),
            "faces_still_detected": sum(bool(f["residual"]) for f in faces),
            "faces_reidentified": sum(bool(f["reidentified"]) for f in faces),
            "faces_match_original": sum(bool(f["matches_original"]) for f in faces),
            "bodies": len(bodies),
            "bodies_still_detected": sum(bool(b["residual"]) for b in bodies),
            "altered_share": frame["change"]["altered_share"],
            "hidden_share": float(mask.mean()),
            "ssim_outside": frame["change"]["ssim_outside"],
            "detectors": list(aud.detect.names),
        }

    return app


def count_people(people) -> dict:
    """People found: every body, plus every face whose centre lies in no body box (:func:`standalone`).

    >>> from fuzzypeople.people import People
    >>> count_people(People(np.array([[0, 0, 50, 100], [10, 5, 30, 25], [80, 10, 90, 20]]), [1, 1, 1],
    ...                     ["body", "face", "face"]))
    {'people': 2, 'bodies': 1, 'faces': 2}
    """
    bodies = int((people.kinds == "body").sum())
    return {"people": int(standalone(people).sum()), "bodies": bodies, "faces": len(people) - bodies}


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    import ipaddress

    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
