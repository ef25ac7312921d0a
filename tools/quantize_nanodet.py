"""Build ``nanodet_int8.onnx``: NanoDet-m with int8 convolutions, for video.

Video analyses thousands of frames, and NanoDet was the largest share of that
work (benchmarks/video_speed.py profile). Its convolutions quantised to int8
(onnxruntime static quantisation, QDQ format, weights per channel) run about
twice as fast on CPUs with int8 dot products (AVX-512 VNNI / AVX2), at a
cost in exactness: a cell's person score moves by up to ~0.12. What counts is
what it finds, measured on video the calibration never saw
(``benchmarks/video_recall.py --sweeps 3``): on vtest 0.984 of the moving
people the every-frame float detector finds end up >= 90% hidden (float: 0.981),
on Megamind 0.998 (float: 0.995). Photos keep the float model.

Calibration (the activation ranges): the 77 photos of the dev set
``../shared/data/coco-people`` (not the videos it is judged on), each cropped
to the 416x320 input the video's whole-frame pass uses, ranges at the 99.999th
percentile (min/max ranges found fewer people). Same inputs and onnxruntime
version give the same file (``tools/vendor_models.py nanodet_int8.onnx``).

    python tools/quantize_nanodet.py [--photos DIR] [-o FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PHOTOS = ROOT.parent / "shared" / "data" / "coco-people" / "images"
HEIGHT, WIDTH = 320, 416  # the video whole-frame pass of a 4:3 frame (nanodet.preprocess(square=False))


def calibration_inputs(photos: Path) -> list[np.ndarray]:
    """Each photo cropped to fill ``WIDTH x HEIGHT``, as NanoDet's input tensor."""
    from fuzzypeople.detect.nanodet import preprocess
    from fuzzypeople.io.image import read_image

    files = sorted(photos.glob("*.jpg"))
    if not files:
        raise SystemExit(f"{photos}: no calibration photos (*.jpg) there; pass --photos DIR")
    inputs = []
    for f in files:
        rgb = read_image(f).rgb
        h, w = rgb.shape[:2]
        s = max(HEIGHT / h, WIDTH / w)
        rgb = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        y0, x0 = (rgb.shape[0] - HEIGHT) // 2, (rgb.shape[1] - WIDTH) // 2
        inputs.append(preprocess(rgb[y0 : y0 + HEIGHT, x0 : x0 + WIDTH], None)[0])
    return inputs


def quantize(float_model: Path, photos: Path = PHOTOS) -> bytes:
    """The int8 model's bytes, from the shipped float model and the calibration photos."""
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    inputs = calibration_inputs(photos)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(inputs)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"input_1": x}

    with tempfile.TemporaryDirectory() as d:
        # The converted graph has a transpose around every op; onnxruntime's basic
        # optimisations fold them and the bias adds into the convolutions first.
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = str(Path(d) / "basic.onnx")
        opts.log_severity_level = 3
        ort.InferenceSession(str(float_model), opts, providers=["CPUExecutionProvider"])
        quantize_static(str(Path(d) / "basic.onnx"), str(Path(d) / "int8.onnx"), Reader(),
                        quant_format=QuantFormat.QDQ, per_channel=True, op_types_to_quantize=["Conv"],
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Percentile)
        return (Path(d) / "int8.onnx").read_bytes()


def main() -> int:
    from fuzzypeople import models

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, default=PHOTOS, help="calibration photos (default: the coco-people dev set)")
    ap.add_argument("-o", "--output", type=Path, default=models.HERE / "nanodet_int8.onnx")
    args = ap.parse_args()
    data = quantize(models.path("nanodet.onnx"), args.photos)
    args.output.write_bytes(data)
    print(f"{args.output}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
