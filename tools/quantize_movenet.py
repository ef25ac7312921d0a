"""Build ``movenet_int8.onnx``: MoveNet MultiPose with its largest convolutions in int8, for video.

Why: memory. ``movenet.onnx`` keeps its weights as float16 (9.6 MB), but
onnxruntime computes in float32, so a session holds them as float32 plus the
float16 originals and layout copies: about 30 MiB of the video command's peak
memory for a model that runs every other analysed frame
(``benchmarks/video_memory.py``). Here the 13 largest convolutions (1x1, at
least 100k weights each; the last MobileNetV2 blocks, 82% of the weights)
get int8 weights, and their inputs are quantised on the fly at each run
(onnxruntime *dynamic* quantisation: ranges are measured per run, so no
calibration set and nothing tuned on the test videos). The small
convolutions, the FPN and the heads stay float.

Measured on 468 boxes found by the float model (every 4th vtest frame, the
coco-people photos, every 10th Megamind frame): 457 found again with IoU >= 0.5
(median IoU 0.98), box score within 0.04, 13 new boxes, all at the 0.2 score
threshold's edge; the same speed, and the session's memory 34 -> 16 MiB.
Static quantisation of the whole graph (as ``quantize_nanodet.py`` does) broke
it: 0.199 of the frame hidden instead of 0.146, from false boxes. Photos keep
the float model.

Same input file and onnxruntime version give the same bytes
(``tools/vendor_models.py movenet_int8.onnx``).

    python tools/quantize_movenet.py [-o FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tools"))  # quantize_nanodet, beside this script

MIN_WEIGHTS = 100_000  # a 1x1 convolution with at least this many weights gets int8 weights


def quantize(float_model: Path) -> bytes:
    """The int8 model's bytes, from the shipped float model."""
    import numpy as np
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from quantize_nanodet import basic_graph

    with tempfile.TemporaryDirectory() as d:
        # The converted graph casts float16 weights to float32 and transposes them from TF.js's
        # layout; onnxruntime's basic optimisations fold both, leaving float32 weights on the
        # convolutions, which the quantiser needs.
        basic, out = Path(d) / "basic.onnx", Path(d) / "int8.onnx"
        model = basic_graph(float_model)
        onnx.save(model, basic)
        graph = model.graph
        shapes = {t.name: tuple(t.dims) for t in graph.initializer}
        big = [n.name for n in graph.node
               if n.op_type == "Conv" and len(shapes.get(n.input[1], ())) == 4
               and shapes[n.input[1]][2:] == (1, 1) and int(np.prod(shapes[n.input[1]])) >= MIN_WEIGHTS]
        if not big:
            raise SystemExit(f"{float_model}: no 1x1 convolution with >= {MIN_WEIGHTS} weights; not MoveNet?")
        quantize_dynamic(str(basic), str(out), op_types_to_quantize=["Conv"], nodes_to_quantize=big,
                         per_channel=False, weight_type=QuantType.QUInt8)
        return out.read_bytes()


def main() -> int:
    from fuzzypeople import models

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", type=Path, default=models.HERE / "movenet_int8.onnx")
    args = ap.parse_args()
    data = quantize(models.path("movenet.onnx"))
    args.output.write_bytes(data)
    print(f"{args.output}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
