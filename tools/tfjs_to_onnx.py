"""Convert a TensorFlow.js *graph model* (model.json + weight shards) to ONNX.

No TensorFlow needed: the graph JSON (a serialised TF GraphDef) is walked node by
node and each TF op is translated to one or more ONNX ops with the `onnx` package.

Layout strategy: every tensor keeps the layout it has in TF (NHWC for images).
Spatial ops (convolutions, pooling, resize) are wrapped as
    Transpose(NHWC->NCHW) -> ONNX op -> Transpose(NCHW->NHWC)
and onnxruntime's transpose optimizer cancels the redundant pairs between
consecutive layers, so the layout bookkeeping stays trivial and exact.

Usage:
    python tools/tfjs_to_onnx.py [--fp16-weights] model.json out.onnx [output_name ...]
    # or
    from tfjs_to_onnx import convert
    convert("centernet.json", "centernet.onnx", outputs=["tower_0/detections"])
"""
from __future__ import annotations

import base64
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17

TF_DTYPES = {
    "DT_FLOAT": TensorProto.FLOAT, "DT_INT32": TensorProto.INT32, "DT_INT64": TensorProto.INT64,
    "DT_BOOL": TensorProto.BOOL, "DT_HALF": TensorProto.FLOAT16, "DT_UINT8": TensorProto.UINT8,
    "DT_INT8": TensorProto.INT8, "DT_DOUBLE": TensorProto.DOUBLE,
}
NHWC_TO_NCHW = [0, 3, 1, 2]
NCHW_TO_NHWC = [0, 2, 3, 1]


# --------------------------------------------------------------------------- weights
def load_weights(model_json: dict, base_dir: str) -> dict[str, np.ndarray]:
    """Read the weight shards listed in weightsManifest; dequantize to the original dtype."""
    weights = {}
    for group in model_json["weightsManifest"]:
        buf = b"".join(open(os.path.join(base_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            shape = w["shape"]
            count = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if w["dtype"] == "string":
                raise NotImplementedError("string weights")
            stored = np.dtype(q["dtype"] if q else w["dtype"])
            arr = np.frombuffer(buf, stored, count, offset).reshape(tuple(shape))
            offset += count * stored.itemsize
            if q:
                target = np.dtype(q.get("original_dtype", w["dtype"]))
                if q["dtype"] in ("uint8", "uint16"):
                    arr = arr.astype(np.float32) * q["scale"] + q["min"]
                arr = arr.astype(target)
            weights[w["name"]] = np.array(arr)  # copy; keeps 0-d scalars 0-d
    return weights


# --------------------------------------------------------------------------- attrs
def _attr(node: dict, key: str, default=None):
    """Decode one TF AttrValue from the JSON form (strings are base64)."""
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        return []
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    if "type" in a:
        return a["type"]
    return a


def _pad_attrs(pads):
    """Explicit ONNX pads, or SAME_UPPER when they depend on a run-time size."""
    return {"pads": pads} if pads is not None else {"auto_pad": "SAME_UPPER"}


def _tensor_name(tf_input: str) -> str:
    """TF input reference -> ONNX tensor name ('^ctrl' deps are dropped by caller)."""
    name, _, idx = tf_input.partition(":")
    return name if idx in ("", "0") else f"{name}:{idx}"


# --------------------------------------------------------------------------- converter
class Converter:
    def __init__(self, model_json: dict, weights: dict[str, np.ndarray]):
        self.nodes_tf = model_json["modelTopology"]["node"]
        self.weights = weights
        self.consts: dict[str, np.ndarray] = {}      # TF const name -> value
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, np.ndarray] = {}
        self.inputs: list[onnx.ValueInfoProto] = []
        self.shape_cache: dict[str, list] = {}
        self.type_cache: dict[str, int] = {}
        self._uid = 0

    # ---- helpers
    def uid(self, base: str) -> str:
        self._uid += 1
        return f"{base}__{self._uid}"

    def add(self, op: str, inputs: list[str], outputs: list[str] | None = None, name=None, **attrs):
        name = name or self.uid(op)
        outputs = outputs or [name + ":out"]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def const(self, value, base="const") -> str:
        name = self.uid(base)
        self.initializers[name] = np.asarray(value)
        return name

    def i64(self, values, base="i64") -> str:
        return self.const(np.asarray(values, np.int64), base)

    def const_value(self, tensor: str) -> np.ndarray:
        if tensor not in self.consts:
            raise ValueError(f"{tensor} must be a constant for this conversion")
        return self.consts[tensor]

    def shape(self, tensor: str) -> list:
        """Static shape of an already-emitted tensor via ONNX shape inference."""
        if tensor in self.consts:
            return list(self.consts[tensor].shape)
        if tensor in self.shape_cache:
            return self.shape_cache[tensor]
        # big initializers are declared as inputs (shape only) to keep this cheap
        small = {k: v for k, v in self.initializers.items() if v.size <= 64}
        decl = [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
                for k, v in self.initializers.items() if v.size > 64]
        graph = helper.make_graph(self.nodes, "tmp", self.inputs + decl, [],
                                  [numpy_helper.from_array(v, k) for k, v in small.items()])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
        for vi in list(inferred.graph.value_info) + list(inferred.graph.input):
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in vi.type.tensor_type.shape.dim]
            self.shape_cache[vi.name] = dims
            self.type_cache[vi.name] = vi.type.tensor_type.elem_type
        if tensor not in self.shape_cache:
            raise ValueError(f"could not infer shape of {tensor}")
        return self.shape_cache[tensor]

    def to_nchw(self, x):
        return self.add("Transpose", [x], perm=NHWC_TO_NCHW)

    def to_nhwc(self, x, out):
        return self.add("Transpose", [x], [out], perm=NCHW_TO_NHWC)

    @staticmethod
    def same_pads(in_hw, kernel_hw, strides, dilations):
        """TF 'SAME' padding as explicit ONNX pads [top, left, bottom, right] (extra pad at end)."""
        begin, end = [], []
        for size, k, s, d in zip(in_hw, kernel_hw, strides, dilations):
            k_eff = (k - 1) * d + 1
            out = -(-size // s)
            total = max((out - 1) * s + k_eff - size, 0)
            begin.append(total // 2)
            end.append(total - total // 2)
        return begin + end

    def pads_for(self, node, x, kernel_hw, strides, dilations):
        padding = _attr(node, "padding", "VALID")
        if padding == "VALID":
            return [0, 0, 0, 0]
        if padding == "SAME":
            in_hw = self.shape(x)[1:3]
            if min(in_hw) <= 0:
                return None  # size known only at run time: ONNX SAME_UPPER == TF SAME (extra pad at end)
            return self.same_pads(in_hw, kernel_hw, strides, dilations)
        if padding == "EXPLICIT":
            p = _attr(node, "explicit_paddings")  # NHWC pairs
            return [p[2], p[4], p[3], p[5]]
        raise NotImplementedError(padding)

    # ---- conversion entry
    def run(self, outputs: list[str]):
        for node in self.nodes_tf:
            op = node["op"]
            handler = getattr(self, "op_" + op, None)
            if handler is None:
                raise NotImplementedError(f"TF op {op} ({node['name']})")
            inputs = [_tensor_name(i) for i in node.get("input", []) if not i.startswith("^")]
            handler(node, inputs, node["name"])
        return self.build(outputs)

    def build(self, outputs):
        used = {i for n in self.nodes for i in n.input}
        inits = [numpy_helper.from_array(v, k) for k, v in self.initializers.items() if k in used]
        outs = []
        for o in outputs:
            shp = self.shape(o)
            outs.append(helper.make_tensor_value_info(o, self.type_cache.get(o, TensorProto.FLOAT),
                                                      [d if d > 0 else None for d in shp]))
        graph = helper.make_graph(self.nodes, "tfjs_graph", self.inputs, outs, inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="tfjs2onnx.py")
        model.ir_version = 8
        # drop nodes not needed for the requested outputs
        model = _prune(model)
        onnx.checker.check_model(model, full_check=True)
        return model

    # ---- inputs / constants
    def op_Placeholder(self, node, inputs, out):
        dims = [int(d.get("size", -1)) for d in _attr(node, "shape")["shape"].get("dim", [])]
        dtype = TF_DTYPES[_attr(node, "dtype")]
        names = "NHWC" if len(dims) == 4 else [f"d{i}" for i in range(len(dims))]  # unknown sizes stay symbolic
        self.inputs.append(helper.make_tensor_value_info(out, dtype, [d if d > 0 else names[i] for i, d in enumerate(dims)]))

    def op_Const(self, node, inputs, out):
        if out in self.weights:
            value = self.weights[out]
        else:  # inline constant (rare in tfjs graph models)
            t = node["attr"]["value"]["tensor"]
            raise NotImplementedError(f"inline const {out}: {t}")
        self.consts[out] = value
        self.initializers[out] = value

    def op_Identity(self, node, inputs, out):
        if inputs[0] in self.consts:
            self.consts[out] = self.consts[inputs[0]]
        self.add("Identity", inputs[:1], [out], name=out)

    op_StopGradient = op_Identity

    # ---- convolutions
    def _conv(self, node, inputs, out, depthwise: bool):
        if _attr(node, "data_format", "NHWC") != "NHWC":
            raise NotImplementedError("only NHWC convolutions")
        x, w = inputs[0], self.const_value(inputs[1]).astype(np.float32)
        strides = _attr(node, "strides", [1, 1, 1, 1])[1:3]
        dilations = _attr(node, "dilations", [1, 1, 1, 1])[1:3]
        kh, kw = w.shape[:2]
        if depthwise:  # HWCM -> (C*M, 1, H, W), group = C
            c, m = w.shape[2], w.shape[3]
            w = w.reshape(kh, kw, c * m, 1).transpose(2, 3, 0, 1)
            group = c
        else:          # HWIO -> OIHW (grouped conv if input channels > I)
            w = w.transpose(3, 2, 0, 1)
            group = max(self.shape(x)[3] // w.shape[1], 1)
        bias = np.zeros(w.shape[0], np.float32)

        # fused ops: BiasAdd / FusedBatchNorm(V3) followed by an optional activation
        fused = _attr(node, "fused_ops", [])
        extra = [self.const_value(i).astype(np.float32) for i in inputs[2:]]
        activation = None
        for f in fused:
            if f == "BiasAdd":
                bias = bias + extra.pop(0)
            elif f.startswith("FusedBatchNorm"):
                scale, offset, mean, var = (extra.pop(0) for _ in range(4))
                k = scale / np.sqrt(var + _attr(node, "epsilon", 1e-3))
                w = w * k[:, None, None, None]
                bias = (bias - mean) * k + offset
            elif f in ("Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu", "Prelu"):
                activation = f
            else:
                raise NotImplementedError(f"fused op {f}")
        pads = self.pads_for(node, x, (kh, kw), strides, dilations)
        y = self.add("Conv", [self.to_nchw(x), self.const(w, out + "/W"), self.const(bias, out + "/B")],
                     kernel_shape=[kh, kw], strides=strides, dilations=dilations, group=group, **_pad_attrs(pads))
        if activation == "Relu6":
            y = self.add("Clip", [y, self.const(np.float32(0)), self.const(np.float32(6))])
        elif activation == "LeakyRelu":
            y = self.add("LeakyRelu", [y], alpha=_attr(node, "leakyrelu_alpha", 0.2))
        elif activation == "Prelu":
            alpha = extra.pop(0).reshape(-1, 1, 1)
            y = self.add("PRelu", [y, self.const(alpha.astype(np.float32))])
        elif activation:
            y = self.add(activation, [y])
        self.to_nhwc(y, out)

    def op_Conv2D(self, node, inputs, out):
        self._conv(node, inputs, out, depthwise=False)

    op__FusedConv2D = op_Conv2D

    def op_DepthwiseConv2dNative(self, node, inputs, out):
        self._conv(node, inputs, out, depthwise=True)

    op_FusedDepthwiseConv2dNative = op_DepthwiseConv2dNative

    # ---- pooling / resize
    def _pool(self, node, inputs, out, onnx_op):
        ksize = _attr(node, "ksize")[1:3]
        strides = _attr(node, "strides")[1:3]
        pads = self.pads_for(node, inputs[0], ksize, strides, [1, 1])
        extra = {"count_include_pad": 0} if onnx_op == "AveragePool" else {}
        y = self.add(onnx_op, [self.to_nchw(inputs[0])], kernel_shape=ksize, strides=strides, **_pad_attrs(pads), **extra)
        self.to_nhwc(y, out)

    def op_MaxPool(self, node, inputs, out):
        self._pool(node, inputs, out, "MaxPool")

    def op_AvgPool(self, node, inputs, out):
        self._pool(node, inputs, out, "AveragePool")

    def _resize(self, node, inputs, out, mode):
        dynamic = inputs[1] not in self.consts
        if not dynamic:
            n, _, _, c = self.shape(inputs[0])
            h, w = (int(v) for v in self.const_value(inputs[1]))
        if _attr(node, "align_corners", False):
            ctm, nearest = "align_corners", "round_prefer_ceil"
        elif _attr(node, "half_pixel_centers", False):
            # TF half-pixel bilinear == ONNX half_pixel; TF half-pixel nearest rounds half up
            ctm, nearest = ("half_pixel", "floor") if mode == "linear" else ("tf_half_pixel_for_nn", "floor")
        else:  # legacy TF: src = dst * in/out, nearest = floor
            ctm, nearest = "asymmetric", "floor"
        attrs = {"mode": mode, "coordinate_transformation_mode": ctm}
        if mode == "nearest":
            attrs["nearest_mode"] = nearest
        if dynamic:  # output size computed in the graph (e.g. 2 x the input's): N, C from the input
            x = self.to_nchw(inputs[0])
            nc = self.add("Slice", [self.add("Shape", [x]), self.i64([0]), self.i64([2])])
            sizes = self.add("Concat", [nc, self.add("Cast", [inputs[1]], to=TensorProto.INT64)], axis=0)
            y = self.add("Resize", [x, "", "", sizes], **attrs)
        else:
            y = self.add("Resize", [self.to_nchw(inputs[0]), "", "", self.i64([n, c, h, w])], **attrs)
        self.to_nhwc(y, out)

    def op_ResizeBilinear(self, node, inputs, out):
        self._resize(node, inputs, out, "linear")

    def op_ResizeNearestNeighbor(self, node, inputs, out):
        self._resize(node, inputs, out, "nearest")

    # ---- elementwise
    def _binary(onnx_op):
        def handler(self, node, inputs, out):
            a, b = inputs[:2]
            if onnx_op in ("Add", "Sub", "Mul", "Div") and a in self.consts and b in self.consts:
                fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[onnx_op]
                self.consts[out] = fn(self.consts[a], self.consts[b])
            self.add(onnx_op, [a, b], [out], name=out)
        return handler

    op_Add = op_AddV2 = op_BiasAdd = _binary("Add")
    op_Sub = _binary("Sub")
    op_Mul = _binary("Mul")
    op_RealDiv = op_Div = _binary("Div")
    op_Maximum = _binary("Max")
    op_Minimum = _binary("Min")
    op_Pow = _binary("Pow")
    op_Equal = _binary("Equal")
    op_Greater = _binary("Greater")
    op_Less = _binary("Less")
    op_GreaterEqual = _binary("GreaterOrEqual")
    op_LessEqual = _binary("LessOrEqual")
    op_LogicalAnd = _binary("And")

    def _unary(onnx_op, **attrs):
        def handler(self, node, inputs, out):
            self.add(onnx_op, inputs[:1], [out], name=out, **attrs)
        return handler

    op_Relu = _unary("Relu")
    op_Sigmoid = _unary("Sigmoid")
    op_Tanh = _unary("Tanh")
    op_Elu = _unary("Elu")
    op_Exp = _unary("Exp")
    op_Log = _unary("Log")
    op_Sqrt = _unary("Sqrt")
    op_Neg = _unary("Neg")
    op_Abs = _unary("Abs")
    op_Floor = _unary("Floor")
    op_Softplus = _unary("Softplus")
    op_Reciprocal = _unary("Reciprocal")

    def op_Relu6(self, node, inputs, out):
        self.add("Clip", [inputs[0], self.const(np.float32(0)), self.const(np.float32(6))], [out], name=out)

    def op_LeakyRelu(self, node, inputs, out):
        self.add("LeakyRelu", inputs[:1], [out], name=out, alpha=_attr(node, "alpha", 0.2))

    def op_Rsqrt(self, node, inputs, out):
        self.add("Reciprocal", [self.add("Sqrt", inputs[:1])], [out], name=out)

    def op_Square(self, node, inputs, out):
        self.add("Mul", [inputs[0], inputs[0]], [out], name=out)

    def op_SquaredDifference(self, node, inputs, out):
        d = self.add("Sub", inputs[:2])
        self.add("Mul", [d, d], [out], name=out)

    def op_Prelu(self, node, inputs, out):
        self.add("PRelu", inputs[:2], [out], name=out)

    def op_MatMul(self, node, inputs, out):
        """MatMul of 2-D tensors; ``_FusedMatMul`` adds its fused BiasAdd and activation."""
        a, b = inputs[:2]
        if _attr(node, "transpose_a", False):
            a = self.add("Transpose", [a], perm=[1, 0])
        if _attr(node, "transpose_b", False):
            b = self.add("Transpose", [b], perm=[1, 0])
        fused = _attr(node, "fused_ops", [])
        extra = list(inputs[2:])
        y = self.add("MatMul", [a, b])
        activation = None
        for f in fused:
            if f == "BiasAdd":
                y = self.add("Add", [y, extra.pop(0)])
            elif f in ("Relu", "Relu6", "Sigmoid", "Tanh", "Elu"):
                activation = f
            else:
                raise NotImplementedError(f"fused op {f} in _FusedMatMul")
        if activation == "Relu6":
            y = self.add("Clip", [y, self.const(np.float32(0)), self.const(np.float32(6))])
        elif activation:
            y = self.add(activation, [y])
        self.add("Identity", [y], [out], name=out)

    op__FusedMatMul = op_MatMul

    def op_Softmax(self, node, inputs, out):
        self.add("Softmax", inputs[:1], [out], name=out, axis=-1)

    def op_FloorDiv(self, node, inputs, out):
        a, b = inputs[:2]
        if a in self.consts and b in self.consts:
            self.consts[out] = np.floor_divide(self.consts[a], self.consts[b])
        # exact for int32 via float64 (|a|,|b| < 2^31), and correct floor semantics for negatives
        a64 = self.add("Cast", [a], to=TensorProto.DOUBLE)
        b64 = self.add("Cast", [b], to=TensorProto.DOUBLE)
        q = self.add("Floor", [self.add("Div", [a64, b64])])
        dtype = self._dtype_of(a)
        self.add("Cast", [q], [out], name=out, to=dtype)

    def op_FloorMod(self, node, inputs, out):
        a, b = inputs[:2]
        if self._dtype_of(a) in (TensorProto.INT32, TensorProto.INT64):
            self.add("Mod", [a, b], [out], name=out, fmod=0)  # sign of divisor, like TF
        else:
            q = self.add("Floor", [self.add("Div", [a, b])])
            self.add("Sub", [a, self.add("Mul", [q, b])], [out], name=out)

    def _dtype_of(self, tensor):
        for n in self.nodes_tf:
            if n["name"] == tensor.split(":")[0]:
                if n["op"] == "ArgMax":  # T is the input's type; the result is output_type (int32 stays int32)
                    return TF_DTYPES[_attr(n, "output_type", "DT_INT64")]
                if n["op"] in ("Shape", "Size"):
                    return TF_DTYPES[_attr(n, "out_type", "DT_INT32")]
                t = _attr(n, "T") or _attr(n, "dtype") or _attr(n, "DstT")
                if n["op"] == "TopKV2" and tensor.endswith(":1"):
                    return TensorProto.INT32
                if t:
                    return TF_DTYPES[t]
        if tensor in self.consts:
            return helper.np_dtype_to_tensor_dtype(self.consts[tensor].dtype)
        return TensorProto.FLOAT

    def op_Cast(self, node, inputs, out):
        self.add("Cast", inputs[:1], [out], name=out, to=TF_DTYPES[_attr(node, "DstT")])

    # ---- reductions
    def _reduce(onnx_op):
        def handler(self, node, inputs, out):
            axes = [int(a) for a in np.atleast_1d(self.const_value(inputs[1]))]
            keep = int(_attr(node, "keep_dims", False))
            if onnx_op == "ReduceSum":  # axes is an input since opset 13
                self.add(onnx_op, [inputs[0], self.i64(axes)], [out], name=out, keepdims=keep)
            else:
                self.add(onnx_op, [inputs[0]], [out], name=out, axes=axes, keepdims=keep)
        return handler

    op_Mean = _reduce("ReduceMean")
    op_Sum = _reduce("ReduceSum")
    op_Max = _reduce("ReduceMax")
    op_Min = _reduce("ReduceMin")
    op_Prod = _reduce("ReduceProd")

    def op_ArgMax(self, node, inputs, out):
        axis = int(self.const_value(inputs[1]))
        y = self.add("ArgMax", [inputs[0]], axis=axis, keepdims=0)
        self.add("Cast", [y], [out], name=out, to=TF_DTYPES[_attr(node, "output_type", "DT_INT64")])

    # ---- shape manipulation
    def op_ConcatV2(self, node, inputs, out):
        *data, axis = inputs
        self.add("Concat", data, [out], name=out, axis=int(self.const_value(axis)))

    def op_Reshape(self, node, inputs, out):
        if inputs[1] in self.consts:
            shape = self.i64(self.consts[inputs[1]])
        else:
            shape = self.add("Cast", [inputs[1]], to=TensorProto.INT64)
        self.add("Reshape", [inputs[0], shape], [out], name=out)

    def op_Squeeze(self, node, inputs, out):
        axes = _attr(node, "squeeze_dims", []) or _attr(node, "axis", [])
        self.add("Squeeze", [inputs[0]] + ([self.i64(axes)] if axes else []), [out], name=out)

    def op_ExpandDims(self, node, inputs, out):
        axis = int(self.const_value(inputs[1]))
        self.add("Unsqueeze", [inputs[0], self.i64([axis])], [out], name=out)

    def op_Transpose(self, node, inputs, out):
        self.add("Transpose", inputs[:1], [out], name=out, perm=[int(p) for p in self.const_value(inputs[1])])

    def op_Pack(self, node, inputs, out):
        axis = _attr(node, "axis", 0)
        parts = [self.add("Unsqueeze", [i, self.i64([axis])]) for i in inputs]
        self.add("Concat", parts, [out], name=out, axis=axis)

    def op_Shape(self, node, inputs, out):
        y = self.add("Shape", inputs[:1])
        self.add("Cast", [y], [out], name=out, to=TF_DTYPES[_attr(node, "out_type", "DT_INT32")])

    def op_Pad(self, node, inputs, out):
        p = self.const_value(inputs[1]).astype(np.int64)  # [rank, 2]
        value = [self.const(np.float32(self.const_value(inputs[2])))] if len(inputs) > 2 else []
        self.add("Pad", [inputs[0], self.i64(np.concatenate([p[:, 0], p[:, 1]]))] + value, [out],
                 name=out, mode="constant")

    op_PadV2 = op_Pad

    def op_MirrorPad(self, node, inputs, out):
        p = self.const_value(inputs[1]).astype(np.int64)
        mode = {"REFLECT": "reflect", "SYMMETRIC": "edge"}[_attr(node, "mode")]
        self.add("Pad", [inputs[0], self.i64(np.concatenate([p[:, 0], p[:, 1]]))], [out], name=out, mode=mode)

    def op_GatherV2(self, node, inputs, out):
        if _attr(node, "batch_dims", 0) != 0:
            raise NotImplementedError("GatherV2 batch_dims")
        axis = int(self.const_value(inputs[2]))
        self.add("Gather", inputs[:2], [out], name=out, axis=axis)

    def op_TopKV2(self, node, inputs, out):
        k = self.i64([int(self.const_value(inputs[1]))])
        idx = self.uid(out + "/idx64")
        self.add("TopK", [inputs[0], k], [out, idx], name=out, axis=-1, largest=1, sorted=1)
        self.add("Cast", [idx], [out + ":1"], to=TensorProto.INT32)  # TF returns int32 indices

    def op_StridedSlice(self, node, inputs, out):
        begin, end, strides = (self.const_value(i).astype(np.int64) for i in inputs[1:4])
        masks = {m: _attr(node, m + "_mask", 0) for m in ("begin", "end", "ellipsis", "new_axis", "shrink_axis")}
        if masks["ellipsis"]:
            raise NotImplementedError("StridedSlice ellipsis mask")
        if masks["new_axis"]:
            return self._strided_slice_new_axis(inputs[0], begin, end, strides, masks, out)
        big = np.iinfo(np.int64).max
        starts, ends, axes, steps, squeeze = [], [], [], [], []
        for i in range(len(begin)):
            s, e, st = int(begin[i]), int(end[i]), int(strides[i])
            if masks["shrink_axis"] >> i & 1:
                e, st = (s + 1 if s != -1 else big), 1
                squeeze.append(i)
            else:
                if masks["begin"] >> i & 1:
                    s = 0 if st > 0 else -1
                if masks["end"] >> i & 1:
                    e = big if st > 0 else -big
            if (s, e, st) in ((0, big, 1),):
                continue  # full range: nothing to slice
            starts.append(s); ends.append(e); axes.append(i); steps.append(st)
        y = inputs[0]
        if axes:
            y = self.add("Slice", [y, self.i64(starts), self.i64(ends), self.i64(axes), self.i64(steps)])
        if squeeze:
            y = self.add("Squeeze", [y, self.i64(squeeze)])
        self.add("Identity", [y], [out], name=out)

    def _strided_slice_new_axis(self, x, begin, end, strides, masks, out):
        """StridedSlice whose spec inserts axes: slice the input axes, squeeze, then unsqueeze."""
        big = np.iinfo(np.int64).max
        starts, ends, axes, steps, squeeze, new = [], [], [], [], [], []
        in_axis = out_axis = 0
        for i in range(len(begin)):
            if masks["new_axis"] >> i & 1:  # begin/end/stride ignored; a size-1 axis in the output
                new.append(out_axis)
                out_axis += 1
                continue
            s, e, st = int(begin[i]), int(end[i]), int(strides[i])
            if masks["shrink_axis"] >> i & 1:
                e, st = (s + 1 if s != -1 else big), 1
                squeeze.append(in_axis)
            else:
                if masks["begin"] >> i & 1:
                    s = 0 if st > 0 else -1
                if masks["end"] >> i & 1:
                    e = big if st > 0 else -big
                out_axis += 1
            if (s, e, st) != (0, big, 1):
                starts.append(s); ends.append(e); axes.append(in_axis); steps.append(st)
            in_axis += 1
        y = x
        if axes:
            y = self.add("Slice", [y, self.i64(starts), self.i64(ends), self.i64(axes), self.i64(steps)])
        if squeeze:
            y = self.add("Squeeze", [y, self.i64(squeeze)])
        self.add("Unsqueeze", [y, self.i64(new)], [out], name=out)

    def op_Unpack(self, node, inputs, out):
        num, axis = _attr(node, "num"), _attr(node, "axis", 0)
        names = [out] + [f"{out}:{i}" for i in range(1, num)]
        parts = [self.uid(n + "/part") for n in names]
        self.add("Split", [inputs[0], self.i64([1] * num)], parts, axis=axis)
        for part, name in zip(parts, names):
            self.add("Squeeze", [part, self.i64([axis])], [name], name=name)

    def op_GatherNd(self, node, inputs, out):
        self.add("GatherND", [inputs[0], self.add("Cast", [inputs[1]], to=TensorProto.INT64)], [out], name=out)

    def op_Range(self, node, inputs, out):
        self.add("Range", inputs[:3], [out], name=out)

    def op_Size(self, node, inputs, out):
        y = self.add("Size", inputs[:1])
        self.add("Cast", [y], [out], name=out, to=TF_DTYPES[_attr(node, "out_type", "DT_INT32")])

    def op_Tile(self, node, inputs, out):
        if inputs[1] in self.consts:
            reps = self.i64(self.consts[inputs[1]])
        else:
            reps = self.add("Cast", [inputs[1]], to=TensorProto.INT64)
        self.add("Tile", [inputs[0], reps], [out], name=out)

    def op_Select(self, node, inputs, out):
        cond, a, b = inputs[:3]
        rank_c, rank_a = len(self.shape(cond)), len(self.shape(a))
        if node["op"] == "Select" and rank_c == 1 and rank_a > 1:  # TF1 Select: a vector picks rows
            cond = self.add("Unsqueeze", [cond, self.i64(list(range(1, rank_a)))])
        self.add("Where", [cond, a, b], [out], name=out)

    op_SelectV2 = op_Select

    def op_AddN(self, node, inputs, out):
        self.add("Sum", inputs, [out], name=out)

    def op_SplitV(self, node, inputs, out):
        sizes = self.const_value(inputs[1]).astype(np.int64)
        axis = int(self.const_value(inputs[2]))
        if (sizes < 0).any():
            rank_dim = self.shape(inputs[0])[axis]
            sizes[sizes < 0] = rank_dim - sizes[sizes >= 0].sum()
        n = len(sizes)
        self.add("Split", [inputs[0], self.i64(sizes)], [out] + [f"{out}:{i}" for i in range(1, n)],
                 name=out, axis=axis)

    def op_Split(self, node, inputs, out):
        axis = int(self.const_value(inputs[0]))
        n = _attr(node, "num_split")
        dim = self.shape(inputs[1])[axis]
        sizes = [self.i64([dim // n] * n)] if dim > 0 else []  # none given: equal parts (opset < 18)
        self.add("Split", [inputs[1], *sizes], [out] + [f"{out}:{i}" for i in range(1, n)], name=out, axis=axis)

    def op_Fill(self, node, inputs, out):
        value = self.const_value(inputs[1])
        if inputs[0] in self.consts:
            shape = self.i64(self.consts[inputs[0]])
        else:  # shape known only at run time
            shape = self.add("Cast", [inputs[0]], to=TensorProto.INT64)
        self.add("ConstantOfShape", [shape], [out], name=out,
                 value=numpy_helper.from_array(np.asarray(value).reshape(1)))

    def op_SparseToDense(self, node, inputs, out):
        """dense = default; dense[indices] = values (ScatterND on a constant-shaped tensor)."""
        idx, shape, values, default = inputs
        if all(i in self.consts for i in inputs):  # constant-fold (typical in onnx-tf exports)
            dense = np.full(self.consts[shape].astype(np.int64), self.consts[default])
            ind = self.consts[idx].astype(np.int64)
            if ind.size:
                ind = ind[:, None] if ind.ndim == 1 else ind
                dense[tuple(ind.T)] = self.consts[values]
            self.consts[out] = dense
            self.initializers[out] = dense
            return
        shp = self.const_value(shape).astype(np.int64)
        dflt = self.const_value(default)
        base = self.add("ConstantOfShape", [self.i64(shp)], value=numpy_helper.from_array(np.asarray(dflt).reshape(1)))
        idx64 = self.add("Cast", [idx], to=TensorProto.INT64)
        if len(shp) == 1 and len(self.shape(idx)) == 1:
            idx64 = self.add("Unsqueeze", [idx64, self.i64([1])])
        vals = values
        if values in self.consts and self.consts[values].ndim == 0:  # scalar broadcast
            n = self.shape(idx)[0]
            vals = self.const(np.full([n], self.consts[values]))
        self.add("ScatterND", [base, idx64, vals], [out], name=out)


def _prune(model: onnx.ModelProto) -> onnx.ModelProto:
    """Keep only nodes/initializers that the graph outputs depend on."""
    g = model.graph
    needed = {o.name for o in g.output}
    keep = []
    for n in reversed(g.node):
        if any(o in needed for o in n.output):
            keep.append(n)
            needed.update(i for i in n.input if i)
    keep.reverse()
    del g.node[:]
    g.node.extend(keep)
    inits = [i for i in g.initializer if i.name in needed]
    del g.initializer[:]
    g.initializer.extend(inits)
    return model


def free_input_size(model: onnx.ModelProto) -> onnx.ModelProto:
    """Let a fully convolutional model take any input height and width (multiples of its stride).

    TF.js graphs exported for one input size resize their feature maps to
    fixed sizes (an FPN's ``13 -> 26``). Each such Resize becomes the same
    Resize by a fixed *ratio* (``2``, ``0.5``), computed from the sizes the
    graph was made for, and the input's H and W become symbolic. At the
    original size the outputs are unchanged (same op, same coordinates); at
    other sizes the network computes what it would have computed had it been
    exported for them. Only exact ratios are accepted.
    """
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim] for vi in inferred.graph.value_info}
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    for node in graph.node:
        if node.op_type != "Resize" or len(node.input) < 4 or node.input[3] not in inits:
            continue
        sizes = numpy_helper.to_array(inits[node.input[3]]).astype(np.float64)
        before = np.array(shapes[node.input[0]], np.float64)
        ratio = sizes / before
        if not np.all(np.isin(ratio, [0.25, 0.5, 1.0, 2.0, 4.0])):
            raise ValueError(f"{node.name}: resize {before} -> {sizes} is not a fixed power-of-two ratio")
        name = node.name + "_scales"
        graph.initializer.append(numpy_helper.from_array(ratio.astype(np.float32), name))
        node.input[2] = name
        del node.input[3]
    dims = graph.input[0].type.tensor_type.shape.dim
    layout = "NCHW" if dims[1].dim_value in (1, 3) else "NHWC"
    for axis in (layout.index("H"), layout.index("W")):
        dims[axis].Clear()
        dims[axis].dim_param = layout[axis]
    for out in graph.output:
        for i, d in enumerate(out.type.tensor_type.shape.dim):
            if i > 0 and d.HasField("dim_value"):
                d.Clear()
                d.dim_param = f"{out.name}_{i}"
                break
    del graph.value_info[:]
    onnx.checker.check_model(model, full_check=True)
    return model


def _store_fp16(model: onnx.ModelProto, min_size: int = 64) -> onnx.ModelProto:
    """Store float32 weights that are exactly float16 values (TF.js float16-quantised) as float16.

    Each becomes a float16 initializer plus a Cast back to float32 under its old
    name, so the graph computes exactly the same float32 values from a file
    about half the size; onnxruntime folds the Casts once at session creation.
    """
    g = model.graph
    casts, inits = [], []
    for init in g.initializer:
        v = numpy_helper.to_array(init)
        if v.dtype == np.float32 and v.size >= min_size and np.array_equal(v.astype(np.float16).astype(np.float32), v):
            half = numpy_helper.from_array(v.astype(np.float16), init.name + "/fp16")
            inits.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], name=init.name + "/to_fp32",
                                          to=TensorProto.FLOAT))
        else:
            inits.append(init)
    del g.initializer[:]
    g.initializer.extend(inits)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model, full_check=True)
    return model


def convert(model_json_path: str, out_onnx_path: str, outputs: list[str] | None = None,
            fp16_weights: bool = False) -> onnx.ModelProto:
    """Convert a tfjs graph model to ONNX (opset 17). `outputs` default to the signature outputs.

    ``fp16_weights`` stores weights that are exact float16 values as float16
    (computation unchanged, file about half the size).
    """
    model_json = json.load(open(model_json_path))
    weights = load_weights(model_json, os.path.dirname(os.path.abspath(model_json_path)))
    if not outputs:
        outputs = [v["name"].split(":")[0] for v in model_json.get("signature", {}).get("outputs", {}).values()]
    model = Converter(model_json, weights).run(outputs)
    if fp16_weights:
        model = _store_fp16(model)
    onnx.save(model, out_onnx_path)
    return model


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--fp16-weights"]
    if len(args) < 2:
        sys.exit(__doc__)
    m = convert(args[0], args[1], args[2:] or None, fp16_weights="--fp16-weights" in sys.argv)
    print(f"saved {args[1]}: {len(m.graph.node)} nodes, outputs {[o.name for o in m.graph.output]}")
