"""`seeing import`: generators made with the paper's toolchain -> our model file.

(a) A Keras `.h5` generator in the layout of the TensorFlow pix2pix tutorial (read with h5py, no TensorFlow):
    weights under `model_weights/<layer>/<weight path>`, layers in `layer_names` order, each layer's weights
    in its `weight_names` order. Conv2D kernels are HWIO (kh, kw, cin, cout); Conv2DTranspose kernels are
    (kh, kw, cout, cin). A Conv2DTranspose is the gradient of a Conv2D with the same kernel, so with
    torch's ConvTranspose2d weight W (cin, cout, kh, kw): W[i, o, y, x] = K[y, x, o, i], no flip; and
    'same' padding with stride 2 and a 4x4 kernel pads 1 before and 1 after, torch's padding=1.
    BatchNorm (epsilon 1e-3 unless the model config says otherwise) is folded; LeakyReLU's slope is 0.3
    (Keras' default) unless the model config says otherwise.
(b) A TF.js graph model (`model.json` + shards from tensorflowjs_converter): `weightsManifest` groups whose
    shards concatenate into one buffer, weights laid out in order, each float32 or quantized
    ({dtype: uint8|uint16, min, scale}: w = q * scale + min; {dtype: float16}). BatchNorm is already folded:
    `_FusedConv2D` (fused_ops BiasAdd/FusedBatchNorm + Relu/LeakyRelu), `Conv2DBackpropInput` followed by
    Mul/Add/BiasAdd nodes, then the activation.

The architecture (filters, resolution, in/out channels) is inferred from the weights. A generator whose first
layer takes RGB is folded to our grey input by summing its kernel over the colour axis (the grey frame is
given to all three channels).
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np

from .errors import UserError

KERAS_BN_EPS = 1e-3
KERAS_LEAKY_SLOPE = 0.3


class Conv:
    """One conv layer in our layout: weight (cout, cin, 4, 4) float64, bias (cout,), kind down|up."""

    def __init__(self, kind: str, weight: np.ndarray, bias: np.ndarray | None, name: str):
        self.kind, self.weight, self.name = kind, np.asarray(weight, np.float64), name
        self.bias = np.zeros(self.weight.shape[0]) if bias is None else np.asarray(bias, np.float64)

    def scale(self, s: np.ndarray, shift: np.ndarray):
        """Apply a per-output-channel affine y -> y * s + shift after the conv (folded BatchNorm)."""
        self.weight = self.weight * s[:, None, None, None]
        self.bias = self.bias * s + shift


def _fail(where, what):
    raise UserError(f"{where}: {what}")


def _check_kinds(kinds: list[str], where: str) -> int:
    """n, when the layers are n convs followed by n transposed convs."""
    n2 = len(kinds)
    if n2 < 2 or n2 % 2:
        _fail(where, f"found {n2} conv layers; a pix2pix U-Net generator has n down and n up convs")
    n = n2 // 2
    if kinds != ["down"] * n + ["up"] * n:
        _fail(where, f"conv layers are not {n} convs followed by {n} transposed convs ({' '.join(kinds)})")
    return n


def assemble(convs: list[Conv], slope: float, where: str):
    """(GeneratorConfig, weights, biases, notes) from convs in forward order; checks it is a pix2pix U-Net."""
    from .arch import GeneratorConfig

    n = _check_kinds([c.kind for c in convs], where)
    for c in convs:
        if c.weight.shape[2:] != (4, 4):
            _fail(where, f"layer {c.name} has a {c.weight.shape[2]}x{c.weight.shape[3]} kernel, not 4x4")
    notes = {}
    first = convs[0]
    if first.weight.shape[1] == 3:  # RGB input: the grey frame goes to all three channels
        first.weight = first.weight.sum(axis=1, keepdims=True)
        notes["input_channels_folded"] = 3
    d = [c.weight.shape[0] for c in convs[:n]]
    u = [c.weight.shape[0] for c in convs[n:-1]]
    expect_cin = [1] + d[:-1] + [d[-1]] + [u[j - 1] + d[-1 - j] for j in range(1, n)]
    for c, cin in zip(convs, expect_cin):
        if c.weight.shape[1] != cin:
            _fail(
                where,
                f"layer {c.name} takes {c.weight.shape[1]} channels, a U-Net with down {d} and up {u} "
                f"needs {cin} there",
            )
    try:
        cfg = GeneratorConfig(
            down=d,
            up=u,
            resolution=2**n,
            in_channels=1,
            out_channels=convs[-1].weight.shape[0],
            leaky_slope=float(slope),
            bn_eps=KERAS_BN_EPS,
        )
    except ValueError as e:
        _fail(where, str(e))
    for c in convs:
        if not (np.isfinite(c.weight).all() and np.isfinite(c.bias).all()):
            _fail(where, f"layer {c.name} has NaN or infinite weights")
    return cfg, [c.weight.astype(np.float32) for c in convs], [c.bias.astype(np.float32) for c in convs], notes


# ---------------------------------------------------------------- (a) Keras .h5


def _s(x) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def _keras_config_values(config) -> tuple[set, set]:
    """(BatchNorm epsilons, LeakyReLU slopes) found anywhere in a Keras model config."""
    eps, slopes = set(), set()

    def walk(node):
        if isinstance(node, dict):
            cls, conf = node.get("class_name"), node.get("config")
            if isinstance(conf, dict):
                if cls == "BatchNormalization" and "epsilon" in conf:
                    eps.add(float(conf["epsilon"]))
                if cls == "LeakyReLU":
                    slopes.add(float(conf.get("alpha", conf.get("negative_slope", KERAS_LEAKY_SLOPE))))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(config)
    return eps, slopes


def read_keras_h5(path: Path):
    """(convs, slope, source facts) of a Keras pix2pix generator saved as .h5."""
    import h5py

    where = str(path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        _fail(where, f"not an HDF5 file ({e})")
    with f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in root.attrs:
            _fail(where, "no Keras layer_names attribute (not a Keras model or weights file)")
        config = None
        if "model_config" in f.attrs:
            try:
                config = json.loads(_s(f.attrs["model_config"]))
            except ValueError:
                config = None
        eps, slopes = _keras_config_values(config) if config is not None else (set(), set())
        if len(eps) > 1 or len(slopes) > 1:
            _fail(where, f"mixed BatchNorm epsilons {sorted(eps)} or LeakyReLU slopes {sorted(slopes)}")
        bn_eps = eps.pop() if eps else KERAS_BN_EPS
        slope = slopes.pop() if slopes else KERAS_LEAKY_SLOPE
        # Group the weights by the layer that owns them (the path without the weight's own name).
        groups: dict[str, dict[str, np.ndarray]] = {}
        for lname in (_s(x) for x in root.attrs["layer_names"]):
            layer = root[lname]
            for wname in (_s(x) for x in layer.attrs.get("weight_names", [])):
                if wname not in layer:
                    _fail(where, f"weight {lname}/{wname} is listed but missing")
                owner, _, leaf = wname.rpartition("/")
                leaf = leaf.split(":")[0]
                ds = layer[wname]
                if not isinstance(ds, h5py.Dataset) or ds.size > 1 << 28:
                    _fail(where, f"weight {lname}/{wname} is not a tensor of sensible size")
                groups.setdefault(f"{lname}/{owner}", {})[leaf] = np.asarray(ds[()], np.float64)
    convs, bns = [], []
    for owner, ws in groups.items():
        if "kernel" in ws:
            if set(ws) - {"kernel", "bias"} or ws["kernel"].ndim != 4:
                _fail(where, f"layer {owner} is not a 2D convolution ({sorted(ws)})")
            convs.append((owner, ws))
        elif "moving_mean" in ws and "moving_variance" in ws:
            bns.append((owner, ws))
        else:
            _fail(where, f"layer {owner} has weights {sorted(ws)}; a pix2pix generator has only convs and BatchNorm")
    if len(convs) < 2 or len(convs) % 2 or len(bns) != len(convs) - 2:
        _fail(
            where,
            f"found {len(convs)} convs and {len(bns)} BatchNorms; a pix2pix generator has 2n convs and "
            f"2n-2 BatchNorms (none on the first and last conv)",
        )
    n = len(convs) // 2
    out = []
    for i, (owner, ws) in enumerate(convs):
        k = ws["kernel"]
        if i < n:
            weight = k.transpose(3, 2, 0, 1)  # HWIO -> (cout, cin, kh, kw)
        else:
            weight = k.transpose(2, 3, 0, 1)  # (kh, kw, cout, cin) -> (cout, cin, kh, kw)
        out.append(Conv("down" if i < n else "up", weight, ws.get("bias"), owner))
    for conv, (owner, bn) in zip(out[1:-1], bns):
        cout = conv.weight.shape[0]
        mean, var = bn["moving_mean"], bn["moving_variance"]
        gamma, beta = bn.get("gamma", np.ones(cout)), bn.get("beta", np.zeros(cout))
        if not all(a.shape == (cout,) for a in (mean, var, gamma, beta)):
            _fail(where, f"BatchNorm {owner} does not match the {cout} channels of {conv.name}")
        if (var + bn_eps <= 0).any():
            _fail(where, f"BatchNorm {owner} has a negative variance")
        s = gamma / np.sqrt(var + bn_eps)
        conv.scale(s, beta - mean * s)
    return out, slope, {"format": "keras-h5", "bn_eps": bn_eps}


# ---------------------------------------------------------------- (b) TF.js graph model

_TFJS_DTYPES = {
    "float32": np.float32,
    "int32": np.int32,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "float16": np.float16,
    "bool": np.bool_,
}


def read_tfjs_weights(manifest, base: Path, where: str) -> dict[str, np.ndarray]:
    """Decode a weightsManifest: name -> float64 (or int) array, dequantized."""
    if not isinstance(manifest, list):
        _fail(where, "weightsManifest is not a list")
    out = {}
    base = base.resolve()
    for group in manifest:
        if not isinstance(group, dict) or not isinstance(group.get("paths"), list):
            _fail(where, "a weightsManifest group lacks its paths")
        chunks = []
        for p in group["paths"]:
            shard = (base / str(p)).resolve()
            if base not in shard.parents:
                _fail(where, f"shard path {p!r} leaves the model folder")
            try:
                chunks.append(shard.read_bytes())
            except OSError as e:
                _fail(where, f"cannot read shard {p} ({e.strerror or e})")
        buf, offset = b"".join(chunks), 0
        for w in group.get("weights", []):
            try:
                name, shape, dtype = str(w["name"]), [int(s) for s in w["shape"]], str(w["dtype"])
            except (KeyError, TypeError, ValueError):
                _fail(where, "a weightsManifest entry lacks name, shape or dtype")
            if any(s < 0 for s in shape):
                _fail(where, f"weight {name} has a negative dimension")
            count = math.prod(shape)
            if dtype == "string":  # skip: each string is a uint32 length then the bytes
                for _ in range(count):
                    if offset + 4 > len(buf):
                        _fail(where, f"shards end inside weight {name}")
                    offset += 4 + int.from_bytes(buf[offset : offset + 4], "little")
                continue
            quant = w.get("quantization")
            stored = quant.get("dtype") if isinstance(quant, dict) else dtype
            if stored not in _TFJS_DTYPES or dtype not in _TFJS_DTYPES:
                _fail(where, f"weight {name} has unsupported dtype {stored!r}")
            nbytes = count * np.dtype(_TFJS_DTYPES[stored]).itemsize
            if offset + nbytes > len(buf):
                _fail(where, f"shards end inside weight {name} (need {offset + nbytes} bytes, have {len(buf)})")
            q = np.frombuffer(buf, _TFJS_DTYPES[stored], count, offset).reshape(shape)
            offset += nbytes
            if stored in ("uint8", "uint16") and isinstance(quant, dict):
                try:
                    scale, lo = float(quant["scale"]), float(quant["min"])
                except (KeyError, TypeError, ValueError):
                    _fail(where, f"quantized weight {name} lacks min or scale")
                val = q.astype(np.float64) * scale + lo
            else:
                val = q.astype(np.float64) if dtype.startswith("float") else q
            out[name] = val
    return out


def _attr(node: dict, key: str, default=None):
    a = (node.get("attr") or {}).get(key)
    if not isinstance(a, dict):
        return default
    if "list" in a:
        lst = a["list"] or {}
        if "s" in lst:
            return [base64.b64decode(x).decode() for x in lst["s"]]
        if "i" in lst:
            return [int(x) for x in lst["i"]]
        return []
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "f" in a:
        return float(a["f"])
    if "i" in a:
        return int(a["i"])
    return default


def _clean(inp: str) -> str:
    return inp.split(":")[0]


CONV_OPS = ("Conv2D", "_FusedConv2D", "Conv2DBackpropInput")
FOREIGN_OPS = (
    "DepthwiseConv2dNative",
    "_FusedDepthwiseConv2dNative",
    "MatMul",
    "_FusedMatMul",
    "Conv3D",
    "MaxPool",
    "AvgPool",
)


def _graph_nodes(path: Path, where: str) -> tuple[dict, list[dict]]:
    """The model.json document and its graph's nodes, or a one-line error."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError) as e:
        _fail(where, f"not a readable JSON file ({e.__class__.__name__})")
    if not isinstance(doc, dict) or not isinstance(doc.get("modelTopology"), dict):
        _fail(where, "no modelTopology (not a TF.js model.json)")
    if doc.get("format") == "layers-model" or "node" not in doc["modelTopology"]:
        _fail(where, "a TF.js layers model; convert the Keras .h5 instead, or export a graph model")
    nodes = doc["modelTopology"]["node"]
    if not isinstance(nodes, list) or not all(isinstance(n, dict) and "name" in n for n in nodes):
        _fail(where, "modelTopology.node is not a list of nodes")
    return doc, nodes


class _Graph:
    """A TF.js graph's nodes with their consumers and constants; reads each conv layer with what follows it."""

    def __init__(self, nodes: list[dict], consts: dict[str, np.ndarray], where: str):
        self.nodes, self.consts, self.where = nodes, consts, where
        self.by_name = {n["name"]: n for n in nodes}
        self.consumers: dict[str, list[dict]] = {}
        for n in nodes:
            for inp in n.get("input", []):
                if not inp.startswith("^"):
                    self.consumers.setdefault(_clean(inp), []).append(n)
        self.slopes: set[float] = set()  # LeakyRelu slopes met on the way

    def const(self, name: str, what: str) -> np.ndarray:
        name = _clean(name)
        if name not in self.consts:
            _fail(self.where, f"{what}: {name} is not a constant of the weights manifest")
        return self.consts[name]

    def channels(self, name: str, cout: int, node: str) -> np.ndarray:
        return _channels(self.const(name, node), cout, self.where, node)

    def order(self) -> list[dict]:
        """The nodes in data-flow order from the input placeholder (breadth-first over consumers, stable)."""
        inputs = [n for n in self.nodes if n.get("op") == "Placeholder"]
        if len(inputs) != 1:
            _fail(self.where, f"expected one input placeholder, found {len(inputs)}")

        def waits_on(i: str) -> bool:  # a data input produced by another op (not a constant)
            return not i.startswith("^") and _clean(i) in self.by_name and self.by_name[_clean(i)].get("op") != "Const"

        indeg = {n["name"]: sum(1 for i in n.get("input", []) if waits_on(i)) for n in self.nodes}
        order, seen, queue = [], {inputs[0]["name"]}, [inputs[0]]
        while queue:
            n = queue.pop(0)
            order.append(n)
            for c in self.consumers.get(n["name"], []):
                indeg[c["name"]] -= 1
                if indeg[c["name"]] <= 0 and c["name"] not in seen:
                    seen.add(c["name"])
                    queue.append(c)
        return order

    def conv(self, n: dict) -> Conv:
        """The conv node's filter in our layout (no bias yet)."""
        strides, padding = _attr(n, "strides"), _attr(n, "padding")
        if (
            strides not in ([1, 2, 2, 1], None)
            or padding not in ("SAME", None)
            or _attr(n, "data_format", "NHWC") != "NHWC"
        ):
            _fail(self.where, f"node {n['name']}: needs stride 2, SAME padding, NHWC (got {strides}, {padding})")
        k = self.const(n.get("input", [])[1], n["name"])
        if k.ndim != 4:
            _fail(self.where, f"node {n['name']} has a {k.ndim}-d filter")
        if n.get("op") == "Conv2DBackpropInput":
            return Conv("up", k.transpose(2, 3, 0, 1), None, n["name"])  # (kh, kw, cout, cin)
        return Conv("down", k.transpose(3, 2, 0, 1), None, n["name"])  # HWIO

    def fused(self, n: dict, conv: Conv) -> str | None:
        """Fold a _FusedConv2D's own BiasAdd or FusedBatchNorm into conv; returns its fused activation, if any."""
        cout, fused = conv.weight.shape[0], _attr(n, "fused_ops", [])
        args = n.get("input", [])[2 : 2 + (_attr(n, "num_args", 0) or 0)]
        ops, act = list(fused), None
        if ops and ops[0] == "BiasAdd":
            conv.scale(np.ones(cout), self.channels(args[0], cout, n["name"]))
            ops.pop(0)
        elif ops and ops[0] == "FusedBatchNorm":
            s_, o_, m_, v_ = (self.channels(a, cout, n["name"]) for a in args[:4])
            s = s_ / np.sqrt(v_ + (_attr(n, "epsilon", 1e-3) or 0.0))
            conv.scale(s, o_ - m_ * s)
            ops.pop(0)
        if ops:
            act = ops.pop(0)
            if act == "LeakyRelu":
                self.slopes.add(round(float(_attr(n, "leakyrelu_alpha", 0.2)), 7))
        if ops:
            _fail(self.where, f"node {n['name']}: unsupported fused ops {fused}")
        return act

    def activation_after(self, n: dict, conv: Conv) -> str:
        """Follow the single consumers of n, folding Mul/Add/Sub/BiasAdd into conv, up to the activation."""
        cout, tail = conv.weight.shape[0], n
        while True:
            nxt = [c for c in self.consumers.get(tail["name"], []) if c.get("op") != "Shape"]
            if len(nxt) != 1:
                _fail(self.where, f"node {tail['name']} should feed exactly one op, feeds {len(nxt)}")
            c = nxt[0]
            other = [i for i in c.get("input", []) if _clean(i) != tail["name"] and not i.startswith("^")]
            cop = c.get("op")
            if cop in ("BiasAdd", "Add", "AddV2", "Mul", "Sub") and len(other) == 1:
                v = self.channels(other[0], cout, c["name"])
                if cop == "Mul":
                    conv.scale(v, np.zeros(cout))
                else:
                    conv.scale(np.ones(cout), -v if cop == "Sub" else v)
            elif cop in ("Relu", "LeakyRelu", "Tanh"):
                if cop == "LeakyRelu":
                    self.slopes.add(round(float(_attr(c, "alpha", 0.2)), 7))
                return cop
            elif cop != "Identity":
                _fail(self.where, f"node {c['name']} ({cop}) after {n['name']} is not a bias, scale or activation")
            tail = c


def _check_activations(convs: list[tuple[Conv, str]], where: str) -> None:
    """LeakyRelu after the down convs, Relu after the up convs, Tanh after the last."""
    for i, (conv, act) in enumerate(convs):
        want = "Tanh" if i == len(convs) - 1 else "LeakyRelu" if conv.kind == "down" else "Relu"
        if act != want:
            _fail(where, f"layer {conv.name} ends in {act}; a pix2pix generator has {want} there")


def read_tfjs_graph(path: Path):
    """(convs, slope, source facts) of a TF.js graph model (model.json + shards)."""
    where = str(path)
    doc, nodes = _graph_nodes(path, where)
    graph = _Graph(nodes, read_tfjs_weights(doc.get("weightsManifest"), path.parent, where), where)
    convs = []
    for n in graph.order():
        op = n.get("op")
        if op in FOREIGN_OPS:
            _fail(where, f"node {n['name']} ({op}) does not belong in a pix2pix generator")
        if op not in CONV_OPS:
            continue
        conv = graph.conv(n)
        act = graph.fused(n, conv) if op == "_FusedConv2D" else None
        if act is None:
            act = graph.activation_after(n, conv)
        convs.append((conv, act))
    _check_kinds([c.kind for c, _ in convs], where)
    _check_activations(convs, where)
    if len(graph.slopes) > 1:
        _fail(where, f"mixed LeakyRelu slopes {sorted(graph.slopes)}")
    slope = graph.slopes.pop() if graph.slopes else KERAS_LEAKY_SLOPE
    return (
        [c for c, _ in convs],
        slope,
        {"format": "tfjs-graph-model", "converted_by": str(doc.get("convertedBy") or "")},
    )


def _channels(v: np.ndarray, cout: int, where: str, node: str) -> np.ndarray:
    """A per-channel constant (scalar, (cout,) or (1, 1, 1, cout)) as a (cout,) float64 array."""
    v = np.asarray(v, np.float64)
    if v.size == 1:
        return np.full(cout, float(v.reshape(-1)[0]))
    if v.size == cout and v.shape[-1] == cout:
        return v.reshape(cout)
    _fail(where, f"node {node}: constant of shape {list(v.shape)} is not per-channel for {cout} channels")


# ---------------------------------------------------------------- the command


def import_model(path, out_dir=None, name: str | None = None, precision: str = "uint8") -> dict:
    """Convert PATH (a .h5, a model.json, or a folder holding model.json) into NAME.safetensors."""
    from .degrade import DegradeParams, default_grid
    from .modelfile import read_model, write_model

    p = Path(path)
    if p.is_dir():
        p = p / "model.json"
    if not p.exists():
        raise UserError(f"{path}: no such file (expected a Keras .h5 or a TF.js model.json)")
    if p.suffix.lower() in (".h5", ".hdf5", ".keras5"):
        convs, slope, facts = read_keras_h5(p)
    elif p.suffix.lower() == ".json":
        convs, slope, facts = read_tfjs_graph(p)
    else:
        raise UserError(f"{p}: unknown model type {p.suffix!r} (a Keras .h5 or a TF.js model.json)")
    cfg, weights, biases, notes = assemble(convs, slope, str(p))
    deg = DegradeParams(resolution=cfg.resolution, grid=default_grid(cfg.resolution))
    name = name or (p.parent.name if p.name == "model.json" else p.stem)
    out = Path(out_dir) if out_dir else Path.cwd()
    dest = out / f"{name}.safetensors"
    meta = write_model(dest, cfg, deg, weights, biases, precision, name, {"imported_from": p.name, **facts, **notes})
    read_model(dest)  # what we wrote loads
    return {
        "path": str(dest),
        "size": dest.stat().st_size,
        "params": meta["params"],
        "precision": precision,
        "source": facts["format"],
        "down": cfg.down,
        "up": cfg.up,
    }
