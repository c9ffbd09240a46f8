"""The generator as an ONNX graph (opset 17), built with `onnx.helper` from a model file's folded weights.

No torch: the Python runtime builds this graph in memory from the model file, and `seeing export --onnx`
writes the same graph to disk, so there is one definition of the inference network.

Graph: input `input` (N, in, R, R) float32 in [-1, 1] -> output `output` (N, out, R, R) in [-1, 1].
Down layers: Conv 4x4 s2 p1 + bias -> LeakyRelu(slope). Up layers: ConvTranspose 4x4 s2 p1 + bias -> Relu,
then Concat with the mirrored down output (up output first); the last up layer ends in Tanh.
uint8 and float16 files are dequantized to float32 initializers.
"""

from __future__ import annotations

import os

import numpy as np

from .files import atomic_write
from .modelfile import Model, layer_names

OPSET = 17
IR_VERSION = 8  # the IR that goes with opset 17; any onnxruntime >= 1.11 reads it


def build_onnx(model: Model, size: int | None = None):
    """An `onnx.ModelProto` computing the generator of `model` on size x size inputs (default: its resolution)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cfg = model.config
    names = layer_names(cfg)
    inits, nodes = [], []
    x, skips = "input", []
    n_down = len(cfg.down)
    conv_attrs = {"kernel_shape": [4, 4], "strides": [2, 2], "pads": [1, 1, 1, 1]}
    for i, (name, kind, w, b) in enumerate(zip(names, model.kinds, model.weights, model.biases)):
        if kind == "down":
            weight = w  # (cout, cin, 4, 4): ONNX Conv layout
        else:
            weight = np.ascontiguousarray(w.transpose(1, 0, 2, 3))  # ONNX ConvTranspose wants (cin, cout, 4, 4)
        inits += [
            numpy_helper.from_array(weight.astype(np.float32), f"{name}.weight"),
            numpy_helper.from_array(np.asarray(b, np.float32), f"{name}.bias"),
        ]
        conv = f"{name}.conv"
        op = "Conv" if kind == "down" else "ConvTranspose"
        nodes.append(helper.make_node(op, [x, f"{name}.weight", f"{name}.bias"], [conv], name=conv, **conv_attrs))
        last = i == len(names) - 1
        act = f"{name}.act" if not last else "output"
        if kind == "down":
            nodes.append(helper.make_node("LeakyRelu", [conv], [act], name=act, alpha=float(cfg.leaky_slope)))
            skips.append(act)
            x = act
        elif last:
            nodes.append(helper.make_node("Tanh", [conv], [act], name="tanh"))
        else:
            nodes.append(helper.make_node("Relu", [conv], [act], name=act))
            j = i - n_down
            skip = skips[-2 - j]  # the mirrored down layer
            cat = f"{name}.cat"
            nodes.append(helper.make_node("Concat", [act, skip], [cat], name=cat, axis=1))
            x = cat
    r = size or cfg.resolution
    graph = helper.make_graph(
        nodes,
        model.name or "seeing",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", cfg.in_channels, r, r])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", cfg.out_channels, r, r])],
        initializer=inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="seeing")
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto)
    return proto


def write_onnx(model: Model, path: str | os.PathLike) -> int:
    """Write the ONNX graph of `model` atomically; returns the file size in bytes."""
    data = build_onnx(model).SerializeToString()
    atomic_write(path, [data])
    return len(data)
