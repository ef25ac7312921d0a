"""Model files shipped inside the package, with their expected sha256.

They come from registry packages (see ``tools/vendor_models.py`` and
``LICENSES.md``), so ``pip install fuzzypeople`` works offline and nothing is
downloaded at run time. :func:`path` verifies a file once before first use.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent

FILES: dict[str, str] = {
    "centerface.onnx": "5aaf17b351911ad4a27f126d2de45809710c458b95cba4a6478c4fd4e2e9d978",
    "mobilefacenet.onnx": "9fff317e34b8a8623c258afba8f03c0fe4e10a1bc8de9269d5c34525ca4ce2cf",
    "movenet.onnx": "336f793ab38671c9728a8736b1399bf29b2b90827cfc3d7aa271a112d008cb98",
    # MoveNet with its largest convolutions in int8, for video (tools/quantize_movenet.py).
    "movenet_int8.onnx": "13e7e5ddf0dd86e58c0793d2eaf88b404b74b9d8c31ff2f35a4852914c975e97",
    "mtcnn_onet.onnx": "d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52",
    "mtcnn_pnet.onnx": "07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35",
    "mtcnn_rnet.onnx": "de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004",
    "nanodet.onnx": "1b34088d1f0a0390809347ab3fc79f24dc48d507f4a4eef7a2beb8703afd8380",
    # NanoDet with int8 convolutions, for video (tools/quantize_nanodet.py).
    "nanodet_int8.onnx": "dffa7bc3e0434eb9636c5d554cd24184cfd120c7cb74a988f81a72ca2580b1ac",
    # The two segmenters as ONNX for the in-browser page (tools/tflite_to_onnx.py; BlazePose: its mask,
    # landmarks and presence outputs, as the outliner's aligned second pass needs them).
    "pose_landmark_full.onnx": "e48640fad22a4817b1042a7765946ad998f16be8e16cf7d8ea7a13cf470fb7e5",
    "pose_landmark_full.tflite": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "selfie_segmentation.onnx": "249965b11555110f4709572c5ec2c4c4553983190b1d5313e5a4037ecf567d60",
    "selfie_segmentation.tflite": "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
}


# Models we may not redistribute (unclear weight licence): a user builds them
# locally from their registry package, into user_dir(), with
# ``python tools/vendor_models.py --user NAME``; they are verified the same way.
OPTIONAL: dict[str, str] = {
    "centernet.onnx": "10f1e9fe9dc1caaadafc4303016c55fa7ab1cc66e78ad2f39ceca7b23f8f1aa6",
    "faceres.onnx": "5dbbe64cfbe2a64c6bf6b8133373ad5ce4ef79891236e372fe4a3c2594a8b83b",
}


def user_dir() -> Path:
    """Where optional models live: $FUZZYPEOPLE_MODELS, else ~/.cache/fuzzypeople/models."""
    import os

    env = os.environ.get("FUZZYPEOPLE_MODELS")
    return Path(env) if env else Path.home() / ".cache" / "fuzzypeople" / "models"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=None)
def path(name: str) -> Path:
    """Path of a shipped model file, after checking it is whole and unaltered."""
    from ..errors import FuzzyError

    if name in FILES:
        p, digest, fix = HERE / name, FILES[name], "reinstall fuzzypeople"
    elif name in OPTIONAL:
        p, digest = user_dir() / name, OPTIONAL[name]
        fix = f"build it with: python tools/vendor_models.py --user {name} (see models/LICENSES.md)"
    else:
        raise FuzzyError(name, "unknown model file")
    if not p.is_file():
        raise FuzzyError(p, f"model file missing; {fix}")
    if sha256(p) != digest:
        raise FuzzyError(p, f"model file is corrupt (sha256 mismatch); {fix}")
    return p
