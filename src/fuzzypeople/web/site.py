"""``fuzzypeople site OUT_DIR``: the in-browser page as a static site any file server can host.

The page (``static/browser.html``) decodes, analyses and hides a photo in the
browser: the shipped ONNX models run in onnxruntime-web's WebAssembly build
(``static/ort/``, fetched at install time by ``tools/fetch_ort_web.py``) and
the pipeline's pre/post-processing and rules are ported in ``static/fuzzy.js``.
The site is every file it needs and nothing else, no CDN::

    OUT_DIR/index.html                 the page (its Content-Security-Policy forbids uploads)
    OUT_DIR/static/*.js, style.css     the page's script, the ported pipeline, style, icon
    OUT_DIR/static/ort/                onnxruntime-web (JS + wasm)
    OUT_DIR/static/models/*.onnx       NanoDet, MoveNet, CenterFace, the two segmenters

``fuzzypeople serve`` serves the same files at ``/`` (with a link to the
server page, which uploads, for video and the audit).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from .. import models
from ..errors import FuzzyError

PAGE = "browser.html"
STATIC = ("fuzzy.js", "browser.js", "style.css", "favicon.svg")
ORT = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MODELS = ("nanodet.onnx", "movenet.onnx", "centerface.onnx", "selfie_segmentation.onnx", "pose_landmark_full.onnx")
# Lines only `fuzzypeople serve` has: the link to the server page (a static site has no server).
SERVER_ONLY = re.compile(r"\s*<!--server-->.*?<!--/server-->", re.S)


def static_dir() -> Path:
    return Path(str(resources.files(__package__).joinpath("static")))


def ort_file(name: str) -> Path:
    """A file of the onnxruntime-web runtime; FuzzyError naming the fix when it was not installed."""
    if name not in ORT:
        raise FuzzyError(name, "not a file of the onnxruntime-web runtime")
    path = static_dir() / "ort" / name
    if not path.is_file():
        raise FuzzyError(path, "missing; the in-browser page needs onnxruntime-web: run ./install.sh "
                         "(or python tools/fetch_ort_web.py)")
    return path


def page(serve: bool = False) -> bytes:
    """The page's HTML: with the link to the server page when ``serve``, without it for a static site."""
    html = (static_dir() / PAGE).read_text("utf-8")
    return (html if serve else SERVER_ONLY.sub("", html)).encode("utf-8")


def files() -> dict[str, Path | bytes]:
    """Every file of the site: relative path -> a file to copy or the bytes to write."""
    out: dict[str, Path | bytes] = {"index.html": page(serve=False)}
    for name in STATIC:
        out[f"static/{name}"] = static_dir() / name
    for name in ORT:
        out[f"static/ort/{name}"] = ort_file(name)
    for name in MODELS:
        out[f"static/models/{name}"] = models.path(name)  # verified against its sha256
    return out


def build(out_dir: str | Path, overwrite: bool = False) -> int:
    """Write the site into ``out_dir`` (new or empty, or an earlier site replaced with ``overwrite``); returns its size in bytes.

    The site is assembled in a temporary folder beside ``out_dir`` and moved
    into place, so a failure leaves no half-written site.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FuzzyError(out, "exists and is not a folder")
    content = files()
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FuzzyError(out, "folder is not empty (add --overwrite to replace it)")
        # --overwrite replaces an earlier site only: never a folder holding anything else.
        existing = {str(p.relative_to(out)) for p in out.rglob("*") if not p.is_dir()}
        if not existing <= set(content):
            raise FuzzyError(out, "holds files that are not part of a fuzzypeople site; not replaced")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        total = 0
        for rel, src in content.items():
            dst = tmp / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(src, bytes):
                dst.write_bytes(src)
            else:
                shutil.copyfile(src, dst)
            total += dst.stat().st_size
        for d in [tmp, *[p for p in tmp.rglob("*") if p.is_dir()]]:
            d.chmod(0o755)  # mkdtemp makes 0700: a web server must read it
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return total
