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

Memory: the converted graph pads with -inf before its first max-pool (TF.js's
"same" padding). Left alone, that Pad keeps the stem's output in float32 (the
quantiser only wraps convolutions), and a 768x576 window needed 33 MiB of
activations; with the padding folded into the pool (:func:`fold_pool_padding`,
the same outputs bit for bit) the stem stays uint8 and it needs 19 MiB, the
float model's own 18.

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


def fold_pool_padding(model):
    """``model`` (an onnx ModelProto, changed in place) with each ``Pad(-inf) -> MaxPool``
    made one MaxPool with the same padding (a max-pool pads with -inf itself).

    Returns how many were folded.
    """
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    folded = 0
    for pad in [n for n in graph.node if n.op_type == "Pad"]:
        users = [n for n in graph.node if pad.output[0] in n.input]
        if len(pad.input) < 3 or pad.input[1] not in inits or pad.input[2] not in inits:
            continue
        if len(users) != 1 or users[0].op_type != "MaxPool" or numpy_helper.to_array(inits[pad.input[2]]) != -np.inf:
            continue
        b0, b1, t, l, e0, e1, b, r = numpy_helper.to_array(inits[pad.input[1]]).tolist()  # NCHW begins, ends
        pool = users[0]
        pads = next((a for a in pool.attribute if a.name == "pads"), None)
        if b0 or b1 or e0 or e1 or pads is None or any(pads.ints):
            continue
        pads.ints[:] = [t, l, b, r]
        pool.input[0] = pad.input[0]
        graph.node.remove(pad)
        folded += 1
    used = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
    for t in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(t)  # the pads and the -inf, now unused
    return folded


def basic_graph(float_model: Path):
    """``float_model`` after onnxruntime's basic optimisations, as an onnx ModelProto.

    The converted graph has a transpose around every op; these optimisations
    fold them, and the bias adds into the convolutions, before quantising.
    """
    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as d:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = str(Path(d) / "basic.onnx")
        opts.log_severity_level = 3
        ort.InferenceSession(str(float_model), opts, providers=["CPUExecutionProvider"])
        return onnx.load(Path(d) / "basic.onnx")


def quantize(float_model: Path, photos: Path = PHOTOS) -> bytes:
    """The int8 model's bytes, from the shipped float model and the calibration photos."""
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
        import onnx

        basic = basic_graph(float_model)
        fold_pool_padding(basic)
        onnx.save(basic, Path(d) / "basic.onnx")
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
