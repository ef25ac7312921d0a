"""Check the ONNX segmenters (for the browser) against the LiteRT originals, on crops of real photos.

``tools/tflite_to_onnx.py`` converts the two MediaPipe segmenters that trace
body outlines. This feeds both versions the inputs the outliner really makes:
for every body the Python pipeline finds (``Settings(boxes=True)``), the square
crop of :func:`fuzzypeople.detect.outline.square_crop`, resized and scaled as
:meth:`TFLiteSegmenter.prepare` does. Photos: skimage's astronaut, matplotlib's
Grace Hopper, and ../shared/data/coco-people when present. Prints, per
segmenter, the largest difference of the person probability and how many
pixels fall on the other side of the outliner's 0.3 threshold, then the largest
difference of BlazePose's landmarks (x, y) and person presence, which the
aligned second pass is placed by; exit status 1 when a probability differs by
more than ``--tolerance``, more than 0.1% of pixels flip, a landmark moves by
more than 1 px of 256 or the presence by more than 0.01.

    python tools/verify_segmenters.py               # every photo
    python tools/verify_segmenters.py --limit 5     # the first 5 COCO photos only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
COCO = HERE.parent.parent / "shared" / "data" / "coco-people" / "images"
SEGMENTERS = {  # name: (LiteRT file, its output index, logits?, ONNX file, its mask output)
    "selfie": ("selfie_segmentation.tflite", 0, False, "selfie_segmentation.onnx", None),
    "blazepose": ("pose_landmark_full.tflite", 2, True, "pose_landmark_full.onnx", "Identity_2"),
}


def photos(limit: int | None) -> list[tuple[str, np.ndarray]]:
    import matplotlib
    from PIL import Image
    from skimage import data

    out = [("astronaut", data.astronaut()),
           ("grace_hopper", np.asarray(Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB")))]
    if COCO.is_dir():
        for f in sorted(COCO.glob("*.jpg"))[:limit]:
            out.append((f.name, np.asarray(Image.open(f).convert("RGB"))))
    return out


def crops(rgb: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]:
    """The outliner's square crops (zero-padded at the border) for the boxes tall enough to be traced."""
    import cv2

    from fuzzypeople.detect.outline import MIN_HEIGHT, square_crop

    h, w = rgb.shape[:2]
    out = []
    for box in boxes:
        if box[3] - box[1] < MIN_HEIGHT:
            continue
        x0, y0, side = square_crop(box)
        ix1, iy1, ix2, iy2 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
        out.append(cv2.copyMakeBorder(rgb[iy1:iy2, ix1:ix2], iy1 - y0, y0 + side - iy2, ix1 - x0, x0 + side - ix2,
                                      cv2.BORDER_CONSTANT))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="COCO photos to use (default: all)")
    ap.add_argument("--tolerance", type=float, default=0.1,
                    help="largest allowed probability difference (for the masks, what matters is how many pixels flip)")
    args = ap.parse_args(argv)

    import onnxruntime as ort

    from fuzzypeople import Anonymizer, models
    from fuzzypeople.detect._runtime import TFLiteSegmenter, sigmoid
    from fuzzypeople.detect.outline import SIZE, THRESHOLD, AlignedPose
    from fuzzypeople.pipeline import Settings

    stages = Anonymizer(settings=Settings(method="none", boxes=True))
    lite = {k: TFLiteSegmenter(f, output=o, logits=lg) for k, (f, o, lg, *_) in SEGMENTERS.items()}
    onnx = {k: ort.InferenceSession(str(models.path(f)), providers=["CPUExecutionProvider"])
            for k, (_, _, _, f, _) in SEGMENTERS.items()}
    pose = AlignedPose()
    worst_landmark = worst_presence = 0.0
    worst = {k: 0.0 for k in SEGMENTERS}
    flips = {k: 0 for k in SEGMENTERS}
    pixels = n = 0
    for _, rgb in photos(args.limit):
        people = stages.detect(rgb)
        for crop in crops(rgb, people.boxes[people.kinds == "body"]):
            x = TFLiteSegmenter.prepare(crop, SIZE)
            n += 1
            pixels += SIZE * SIZE
            # BlazePose's landmarks and presence (the outliner's aligned pass, the page's too)
            lm, presence, _ = pose.run(x)
            lm_onnx, presence_onnx = onnx["blazepose"].run(["Identity", "Identity_1"], {"input": x[None]})
            worst_landmark = max(worst_landmark, float(np.abs(lm_onnx.reshape(39, 5)[:, :2] - lm[:, :2]).max()))
            worst_presence = max(worst_presence, abs(float(presence_onnx.ravel()[0]) - presence))
            for k, (_, _, logits, _, output) in SEGMENTERS.items():
                ref = lite[k](x)
                y = onnx[k].run([output] if output else None, {"input": x[None]})[0][0, :, :, 0]
                got = sigmoid(y) if logits else y
                worst[k] = max(worst[k], float(np.abs(ref - got).max()))
                flips[k] += int(((ref >= THRESHOLD) != (got >= THRESHOLD)).sum())
    bad = 0
    for k in SEGMENTERS:
        share = flips[k] / max(pixels, 1)
        ok = worst[k] <= args.tolerance and share <= 0.001
        bad += not ok
        print(f"{k}: {n} crops, largest probability difference {worst[k]:.2e}, "
              f"{flips[k]} of {pixels} pixels ({share:.4%}) on the other side of {THRESHOLD}: {'ok' if ok else 'TOO FAR'}")
    ok = worst_landmark <= 1.0 and worst_presence <= 0.01  # input pixels of 256; presence 0-1
    bad += not ok
    print(f"blazepose landmarks: largest x/y difference {worst_landmark:.2e} px of {SIZE}, presence {worst_presence:.2e}: "
          f"{'ok' if ok else 'TOO FAR'}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
