"""Reverse-mode gradients of an ONNX model, written as an ONNX graph (no torch, no training runtime).

:func:`vjp_model` takes a forward model with one input ``X`` and one output
``Y`` and returns a model with inputs ``x`` (the forward input) and
``grad_y`` (a cotangent shaped like ``Y``) and two outputs: ``y`` (the
forward output) and ``grad_x`` = ``(dY/dX)^T grad_y``, the vector-Jacobian
product. The forward nodes run
first (their activations are needed), then each node's VJP in reverse order,
as plain ONNX ops:

==========  ====================================================================
forward     backward (to the inputs that depend on ``X``)
==========  ====================================================================
Conv        ConvTranspose with the same weights, strides, pads, dilations and
            group (``output_padding`` restores the input's size)
Relu        Where(X > 0, g, 0)
Abs         g * Sign(X)
Add / Sub   g / g and -g
Mul         g * the other factor
Reshape     Reshape back to the input's shape
Transpose   Transpose by the inverse permutation
==========  ====================================================================

Those are the ops of MobileFaceNet as ``tflite2onnx`` writes it (PReLU is
spelled ``Relu(x) + alpha * (x - |x|) * 0.5``). An op outside the table, or
broadcasting onto an input that needs a gradient, raises ``NotImplementedError``
rather than giving a wrong gradient. ``tests/test_cloak.py`` checks the result
against finite differences.
"""

from __future__ import annotations

import numpy as np

SUPPORTED = ("Conv", "Relu", "Abs", "Add", "Sub", "Mul", "Reshape", "Transpose")


def _shapes(model, input_shape: list[int]) -> dict[str, list[int]]:
    """Static shapes of every tensor for a given input shape (ONNX shape inference)."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    for d, v in zip(dims, input_shape):
        d.ClearField("dim_param")
        d.dim_value = v
    del m.graph.value_info[:]
    m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    out = {}
    for vi in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
        out[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    for init in m.graph.initializer:
        out[init.name] = list(init.dims)
    return out


def vjp_model(model, input_shape: tuple[int, ...] | None = None, cosine: bool = False):
    """The VJP model of ``model`` (see the module docstring); batch size stays free.

    ``input_shape`` fixes the spatial size used to compute ``output_padding``
    (default: the model's own input dims, a free batch counted as 1).

    ``cosine=True``: instead of ``grad_y``, the model takes ``target`` (unit
    rows shaped like ``Y``, 2-D) and outputs ``cos`` (each row's cosine
    similarity between ``Y`` and ``target``) and ``grad_x``, the gradient of
    ``sum(cos)``: the cotangent ``(target - cos * Y/|Y|) / |Y|`` is computed
    in the graph, so one run gives loss and gradient.
    """
    from onnx import helper, TensorProto

    g = model.graph
    x_name, y_name = g.input[0].name, g.output[0].name
    if input_shape is None:
        input_shape = [d.dim_value or 1 for d in g.input[0].type.tensor_type.shape.dim]
    shapes = _shapes(model, list(input_shape))
    inits = {i.name for i in g.initializer}

    # Which tensors depend on X (only they need gradients).
    live = {x_name}
    for n in g.node:
        if any(i in live for i in n.input):
            live.update(n.output)
    if y_name not in live:
        raise ValueError("the output does not depend on the input")

    nodes = list(g.node)
    grads: dict[str, list[str]] = {y_name: ["grad_y"]}
    head = []
    counter = [0]

    def fresh(stem: str) -> str:
        counter[0] += 1
        return f"vjp/{counter[0]}/{stem}"

    def emit(op: str, inputs: list[str], **attrs) -> str:
        out = fresh(op)
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def grad_of(name: str) -> str:
        parts = grads[name]
        if len(parts) > 1:
            total = emit("Sum", parts)
            grads[name] = [total]
        return grads[name][0]

    def add_grad(name: str, value: str) -> None:
        if name in live and name not in inits:
            grads.setdefault(name, []).append(value)

    def same_shape(a: str, b: str, node) -> None:
        if shapes[a] != shapes[b]:
            raise NotImplementedError(f"{node.op_type} {node.name!r}: broadcasting onto {a} {shapes[a]} -> {shapes[b]}")

    if cosine:  # cos = <Y/|Y|, t>; d cos/dY = (t - cos * Y/|Y|) / |Y|
        from onnx import helper as h

        axes = h.make_tensor("vjp/axes", TensorProto.INT64, [1], [1])
        ax = "vjp/axes"
        opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        red = (lambda i, o: h.make_node("ReduceSum", [i, ax], [o], keepdims=1)) if opset >= 13 else \
            (lambda i, o: h.make_node("ReduceSum", [i], [o], axes=[1], keepdims=1))
        head = [h.make_node("Constant", [], [ax], value=axes),
                h.make_node("Mul", [y_name, y_name], ["vjp/yy"]), red("vjp/yy", "vjp/n2"),
                h.make_node("Sqrt", ["vjp/n2"], ["vjp/n"]),
                h.make_node("Div", [y_name, "vjp/n"], ["vjp/u"]),
                h.make_node("Mul", ["vjp/u", "target"], ["vjp/ut"]), red("vjp/ut", "vjp/cos"),
                h.make_node("Mul", ["vjp/cos", "vjp/u"], ["vjp/cu"]),
                h.make_node("Sub", ["target", "vjp/cu"], ["vjp/tcu"]),
                h.make_node("Div", ["vjp/tcu", "vjp/n"], ["grad_y"]),
                h.make_node("Flatten", ["vjp/cos"], ["cos"], axis=0)]
    zero = fresh("zero")
    nodes_consts = [helper.make_node("Constant", [], [zero], value=helper.make_tensor(zero, TensorProto.FLOAT, [], [0.0]))]

    for n in reversed(g.node):
        outs = [o for o in n.output if o in grads]
        if not outs:
            continue
        if n.op_type not in SUPPORTED:
            raise NotImplementedError(f"no VJP for {n.op_type} ({n.name!r})")
        gy = grad_of(n.output[0])
        a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
        if n.op_type == "Conv":
            x, w = n.input[0], n.input[1]
            if w in live:
                raise NotImplementedError(f"Conv {n.name!r}: weights depend on the input")
            k = a.get("kernel_shape") or shapes[w][2:]
            strides = a.get("strides", [1] * len(k))
            dil = a.get("dilations", [1] * len(k))
            pads = a.get("pads", [0] * 2 * len(k))
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise NotImplementedError(f"Conv {n.name!r}: auto_pad")
            hin, hout = shapes[x][2:], shapes[n.output[0]][2:]
            opad = [hin[i] - (strides[i] * (hout[i] - 1) + (k[i] - 1) * dil[i] + 1 - pads[i] - pads[i + len(k)])
                    for i in range(len(k))]
            if any(p < 0 or p >= max(strides[i], dil[i]) for i, p in enumerate(opad)):
                raise NotImplementedError(f"Conv {n.name!r}: output_padding {opad}")
            add_grad(x, emit("ConvTranspose", [gy, w], strides=strides, pads=pads, dilations=dil,
                             group=a.get("group", 1), kernel_shape=list(k), output_padding=opad))
        elif n.op_type == "Relu":
            x = n.input[0]
            add_grad(x, emit("Where", [emit("Greater", [x, zero]), gy, zero]))
        elif n.op_type == "Abs":
            x = n.input[0]
            add_grad(x, emit("Mul", [gy, emit("Sign", [x])]))
        elif n.op_type in ("Add", "Sub"):
            p, q = n.input
            for i, name in enumerate((p, q)):
                if name in live:
                    same_shape(name, n.output[0], n)
                    add_grad(name, gy if (i == 0 or n.op_type == "Add") else emit("Neg", [gy]))
        elif n.op_type == "Mul":
            p, q = n.input
            if p in live:
                same_shape(p, n.output[0], n)
                add_grad(p, emit("Mul", [gy, q]))
            if q in live:
                same_shape(q, n.output[0], n)
                add_grad(q, emit("Mul", [gy, p]))
        elif n.op_type == "Reshape":
            x = n.input[0]
            add_grad(x, emit("Reshape", [gy, emit("Shape", [x])]))
        elif n.op_type == "Transpose":
            perm = a["perm"]
            add_grad(n.input[0], emit("Transpose", [gy], perm=[int(i) for i in np.argsort(perm)]))
    if x_name not in grads:
        raise ValueError("no gradient reached the input")
    gx = grad_of(x_name)
    nodes.append(helper.make_node("Identity", [gx], ["grad_x"]))

    x_in = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
    x_in.type.CopyFrom(g.input[0].type)
    gy_in = helper.make_tensor_value_info("grad_y", TensorProto.FLOAT, None)
    gy_in.type.CopyFrom(g.output[0].type)
    gx_out = helper.make_tensor_value_info("grad_x", TensorProto.FLOAT, None)
    gx_out.type.CopyFrom(g.input[0].type)
    y_out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    y_out.type.CopyFrom(g.output[0].type)
    if y_name != "y":
        nodes.append(helper.make_node("Identity", [y_name], ["y"]))
    if x_name != "x":
        nodes_consts.append(helper.make_node("Identity", ["x"], [x_name]))
    inputs, outputs = [x_in, gy_in], [y_out, gx_out]
    if cosine:
        gy_in.name = "target"
        cos_out = helper.make_tensor_value_info("cos", TensorProto.FLOAT, [None])
        outputs = [cos_out, gx_out]
        n_fwd = len(g.node)  # the head goes after the forward nodes, before the backward ones
        nodes = nodes[:n_fwd] + head + nodes[n_fwd:]
    graph = helper.make_graph(nodes_consts + nodes, g.name + "_vjp", inputs, outputs, list(g.initializer))
    out = helper.make_model(graph, opset_imports=list(model.opset_import))
    out.ir_version = model.ir_version
    return out
