"""Convert the two MediaPipe segmenters (.tflite) to ONNX, for the in-browser page; no TensorFlow needed.

    python tools/tflite_to_onnx.py selfie_segmentation.tflite out.onnx
    python tools/tflite_to_onnx.py pose_landmark_full.tflite out.onnx --output Identity_2

The browser runs ONNX models (onnxruntime-web), not LiteRT; general converters
failed on these files (tflite2onnx 0.4.1: no HARD_SWISH, a PAD bug; tf2onnx
needs TensorFlow). This converter covers exactly the operators the two
segmenters use: CONV_2D, DEPTHWISE_CONV_2D, the MediaPipe custom
Convolution2DTransposeBias, ADD, MUL, RELU, HARD_SWISH, LOGISTIC,
AVERAGE_POOL_2D, MAX_POOL_2D, PAD, RESIZE_BILINEAR, RESHAPE and DEQUANTIZE
(float16 weights, widened to float32 exactly). Anything else stops it with
the operator's name. ``--output`` keeps only what one output needs (BlazePose:
its person mask, not the landmarks).

The graph keeps the model's NHWC input and output; inside, tensors are NCHW
(one Transpose at each end). ``tools/verify_conversion.py --segmenters``
compares the result with LiteRT on real photos. Reads the file with the
``tflite`` package (the flatbuffer schema, pure Python).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TYPES = {0: np.float32, 1: np.float16, 2: np.int32}
ACTIVATIONS = {0: None, 1: "Relu", 3: "Relu6"}
OPSET = 17


class Converter:
    def __init__(self, path: Path, outputs: list[str] | None):
        import tflite
        from tflite.BuiltinOperator import BuiltinOperator

        self.tfl = tflite
        self.opnames = {v: k for k, v in BuiltinOperator.__dict__.items() if not k.startswith("_")}
        self.model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
        self.g = self.model.Subgraphs(0)
        self.nodes, self.inits = [], []
        self.consts: dict[int, np.ndarray] = {}  # tensor index -> value (NHWC layout, as stored)
        self.names: dict[int, str] = {}
        self.counter = 0
        outs = [self.g.Outputs(i) for i in range(self.g.OutputsLength())]
        if outputs:
            outs = [t for t in outs if self.tensor_name(t) in outputs]
            if len(outs) != len(outputs):
                sys.exit(f"tflite_to_onnx: outputs {outputs} not all found")
        self.outputs = outs

    # -- tensors --------------------------------------------------------------------------------
    def tensor_name(self, i: int) -> str:
        return self.g.Tensors(i).Name().decode()

    def shape(self, i: int) -> list[int]:
        return self.g.Tensors(i).ShapeAsNumpy().tolist()

    def buffer(self, i: int) -> np.ndarray | None:
        t = self.g.Tensors(i)
        buf = self.model.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            return None
        return np.frombuffer(buf.DataAsNumpy().tobytes(), TYPES[t.Type()]).reshape(self.shape(i))

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}_{self.counter}"

    def const(self, value: np.ndarray, stem: str = "c") -> str:
        name = self.fresh(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def value(self, i: int) -> str:
        """The ONNX name of activation tensor ``i`` (NCHW)."""
        return self.names[i]

    def operand(self, i: int) -> str:
        """An activation, or a constant broadcast in NCHW (a per-channel vector becomes [1, C, 1, 1])."""
        if i in self.names:
            return self.names[i]
        c = self.consts[i].astype(np.float32)
        if c.ndim == 4:
            c = c.transpose(0, 3, 1, 2)
        elif c.ndim == 1 and c.size > 1:
            c = c.reshape(1, -1, 1, 1)
        return self.const(c)

    # -- graph ------------------------------------------------------------------------------------
    def ops(self):
        for k in range(self.g.OperatorsLength()):
            op = self.g.Operators(k)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            name = self.opnames.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
            if name == "CUSTOM":
                name = code.CustomCode().decode()
            ins = [op.Inputs(j) for j in range(op.InputsLength())]
            outs = [op.Outputs(j) for j in range(op.OutputsLength())]
            yield name, op, ins, outs

    def needed(self) -> set[int]:
        """Operators (by index) that the kept outputs depend on."""
        producer = {}
        for k, (_, _, ins, outs) in enumerate(self.ops()):
            for o in outs:
                producer[o] = (k, ins)
        keep, todo = set(), list(self.outputs)
        while todo:
            t = todo.pop()
            if t in producer and producer[t][0] not in keep:
                keep.add(producer[t][0])
                todo.extend(i for i in producer[t][1] if i >= 0)
        return keep

    def act(self, out: str, fused: int) -> str:
        kind = ACTIVATIONS.get(fused, "?")
        if kind == "?":
            sys.exit(f"tflite_to_onnx: fused activation {fused} not supported")
        if kind is None:
            return out
        y = self.fresh("act")
        if kind == "Relu":
            self.nodes.append(helper.make_node("Relu", [out], [y]))
        else:
            self.nodes.append(helper.make_node("Clip", [out, self.const(np.float32(0)), self.const(np.float32(6))], [y]))
        return y

    @staticmethod
    def same_pads(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        return total // 2, total - total // 2

    def pads(self, padding: int, hw: list[int], k: list[int], s: list[int], d=(1, 1)) -> list[int]:
        if padding == 0:  # the schema's Padding.SAME (VALID is 1)
            (t, b), (l, r) = self.same_pads(hw[0], k[0], s[0], d[0]), self.same_pads(hw[1], k[1], s[1], d[1])
            return [t, l, b, r]
        return [0, 0, 0, 0]

    def convert(self) -> onnx.ModelProto:
        tfl = self.tfl
        keep = self.needed()
        inp = self.g.Inputs(0)
        self.names[inp] = "nchw_input"
        self.nodes.append(helper.make_node("Transpose", ["input"], ["nchw_input"], perm=[0, 3, 1, 2]))
        for k, (name, op, ins, outs) in enumerate(self.ops()):
            if k not in keep:
                continue
            out = outs[0]
            y = self.fresh(name.lower())
            if name == "DEQUANTIZE":
                self.consts[out] = self.buffer(ins[0]).astype(np.float32)
                continue
            for i in ins:
                if i >= 0 and i not in self.names and i not in self.consts:
                    b = self.buffer(i)
                    if b is None:
                        sys.exit(f"tflite_to_onnx: {name}: input {self.tensor_name(i)} has no producer")
                    self.consts[i] = b
            if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                o = (tfl.Conv2DOptions if name == "CONV_2D" else tfl.DepthwiseConv2DOptions)()
                t = op.BuiltinOptions()
                o.Init(t.Bytes, t.Pos)
                w = self.consts[ins[1]]
                hw = self.shape(ins[0])[1:3]
                if name == "CONV_2D":
                    wt, group = w.transpose(0, 3, 1, 2), 1
                else:
                    wt, group = w.transpose(3, 0, 1, 2), self.shape(ins[0])[3]
                kk, s, d = list(wt.shape[2:]), [o.StrideH(), o.StrideW()], [o.DilationHFactor(), o.DilationWFactor()]
                args = [self.value(ins[0]), self.const(wt.astype(np.float32), "w")]
                if len(ins) > 2 and ins[2] >= 0:
                    args.append(self.const(self.consts[ins[2]].astype(np.float32), "b"))
                self.nodes.append(helper.make_node("Conv", args, [y], kernel_shape=kk, strides=s, dilations=d, group=group,
                                                   pads=self.pads(o.Padding(), hw, kk, s, d)))
                y = self.act(y, o.FusedActivationFunction())
            elif name == "Convolution2DTransposeBias":
                # TfLiteTransposeConvParams: padding (C enum: 1 = same, 2 = valid), stride_w, stride_h
                opts = op.CustomOptionsAsNumpy().view(np.int32)
                padding, sw, sh = (int(v) for v in opts[:3])
                w = self.consts[ins[1]]  # OHWI
                kh, kw = w.shape[1:3]
                pt, pl = max(kh - sh, 0), max(kw - sw, 0)
                pads = [pt // 2, pl // 2, pt - pt // 2, pl - pl // 2] if padding == 1 else [0, 0, 0, 0]
                self.nodes.append(helper.make_node(
                    "ConvTranspose", [self.value(ins[0]), self.const(w.transpose(3, 0, 1, 2).astype(np.float32), "w"),
                                      self.const(self.consts[ins[2]].astype(np.float32), "b")], [y],
                    kernel_shape=[kh, kw], strides=[sh, sw], pads=pads))
            elif name in ("ADD", "MUL"):
                o = (tfl.AddOptions if name == "ADD" else tfl.MulOptions)()
                t = op.BuiltinOptions()
                fused = 0
                if t is not None:
                    o.Init(t.Bytes, t.Pos)
                    fused = o.FusedActivationFunction()
                self.nodes.append(helper.make_node(name.title(), [self.operand(ins[0]), self.operand(ins[1])], [y]))
                y = self.act(y, fused)
            elif name in ("RELU", "LOGISTIC", "HARD_SWISH"):
                onnx_op = {"RELU": "Relu", "LOGISTIC": "Sigmoid", "HARD_SWISH": "HardSwish"}[name]
                self.nodes.append(helper.make_node(onnx_op, [self.value(ins[0])], [y]))
            elif name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
                o = tfl.Pool2DOptions()
                t = op.BuiltinOptions()
                o.Init(t.Bytes, t.Pos)
                kk, s = [o.FilterHeight(), o.FilterWidth()], [o.StrideH(), o.StrideW()]
                onnx_op = "AveragePool" if name == "AVERAGE_POOL_2D" else "MaxPool"
                self.nodes.append(helper.make_node(onnx_op, [self.value(ins[0])], [y], kernel_shape=kk, strides=s,
                                                   pads=self.pads(o.Padding(), self.shape(ins[0])[1:3], kk, s)))
                y = self.act(y, o.FusedActivationFunction())
            elif name == "PAD":
                p = self.consts[ins[1]].astype(np.int64)  # [4, 2] in NHWC
                order = [0, 3, 1, 2]
                pads = [p[d, 0] for d in order] + [p[d, 1] for d in order]
                self.nodes.append(helper.make_node("Pad", [self.value(ins[0]), self.const(np.array(pads, np.int64))], [y]))
            elif name == "RESIZE_BILINEAR":
                o = tfl.ResizeBilinearOptions()
                t = op.BuiltinOptions()
                o.Init(t.Bytes, t.Pos)
                mode = "align_corners" if o.AlignCorners() else "half_pixel" if o.HalfPixelCenters() else "asymmetric"
                n, _, _, c = self.shape(ins[0])
                size = self.consts[ins[1]].astype(np.int64).tolist()
                self.nodes.append(helper.make_node("Resize", [self.value(ins[0]), "", "", self.const(np.array([n, c, *size], np.int64))],
                                                   [y], mode="linear", coordinate_transformation_mode=mode))
            elif name == "RESHAPE":
                # Back to NHWC, reshape as the model says, and keep that layout (only rank-4 NCHW is transposed back).
                nhwc = self.fresh("nhwc")
                self.nodes.append(helper.make_node("Transpose", [self.value(ins[0])], [nhwc], perm=[0, 2, 3, 1]))
                self.nodes.append(helper.make_node("Reshape", [nhwc, self.const(np.array(self.shape(out), np.int64))], [y]))
                self.names[out] = y
                self.flat = getattr(self, "flat", set()) | {out}
                continue
            else:
                sys.exit(f"tflite_to_onnx: operator {name} is not supported")
            self.names[out] = y
        outputs = []
        for t in self.outputs:
            name = self.tensor_name(t)
            if t in getattr(self, "flat", set()) or len(self.shape(t)) != 4:
                self.nodes.append(helper.make_node("Identity", [self.names[t]], [name]))
            else:
                self.nodes.append(helper.make_node("Transpose", [self.names[t]], [name], perm=[0, 2, 3, 1]))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, self.shape(t)))
        graph = helper.make_graph(self.nodes, "segmenter",
                                  [helper.make_tensor_value_info("input", TensorProto.FLOAT, self.shape(inp))],
                                  outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="fuzzypeople tools/tflite_to_onnx.py")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def convert(src: Path, dst: Path | None = None, outputs: list[str] | None = None) -> bytes:
    """The ONNX bytes for ``src``; written to ``dst`` when given."""
    data = Converter(Path(src), outputs).convert().SerializeToString()
    if dst is not None:
        Path(dst).write_bytes(data)
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--output", action="append", help="keep only this output (repeatable)")
    args = ap.parse_args()
    convert(args.src, args.dst, args.output)


if __name__ == "__main__":
    main()
