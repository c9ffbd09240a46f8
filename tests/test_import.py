"""`seeing import`: Keras .h5 and TF.js graph models built from a known PyTorch generator reproduce its output."""

import base64
import json

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seeing.cli import main
from seeing.errors import UserError
from seeing.importers import import_model
from seeing.modelfile import read_model
from seeing.runtime import Runtime

from modelkit import random_generator, tiny_config

torch.set_num_threads(1)


def _np(t):
    return t.detach().double().numpy()


# ---------------------------------------------------------------- Keras semantics, from TensorFlow's definitions


def _same_pad(size, k=4, s=2):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def keras_conv2d_same(x, kernel):
    """tf.nn.conv2d(padding='SAME', strides=2) on NCHW x with an HWIO kernel."""
    b, a = _same_pad(x.shape[-1])
    return F.conv2d(F.pad(x, (b, a, b, a)), kernel.permute(3, 2, 0, 1), stride=2)


def keras_conv2d_transpose_same(x, kernel):
    """tf.nn.conv2d_transpose(SAME, stride 2): the gradient of conv2d with the (h, w, out, in) kernel."""
    n, c, h, w = x.shape
    z = torch.zeros(n, kernel.shape[2], 2 * h, 2 * w, dtype=x.dtype)
    _, grad = torch.autograd.functional.vjp(lambda z: keras_conv2d_same(z, kernel), z, x)
    return grad


def keras_reference(layers, x, slope, eps):
    """The tutorial's Generator forward pass on Keras-layout weights. layers: list of dicts per conv."""
    n = len(layers) // 2
    skips = []
    for i in range(n):
        L = layers[i]
        x = keras_conv2d_same(x, L["kernel"])
        if "bn" in L:
            g, b, m, v = L["bn"]
            x = (x - m[:, None, None]) / torch.sqrt(v[:, None, None] + eps) * g[:, None, None] + b[:, None, None]
        x = F.leaky_relu(x, slope)
        skips.append(x)
    for j in range(n):
        L = layers[n + j]
        x = keras_conv2d_transpose_same(x, L["kernel"])
        if j == n - 1:
            return torch.tanh(x + L["bias"][:, None, None])
        g, b, m, v = L["bn"]
        x = F.relu((x - m[:, None, None]) / torch.sqrt(v[:, None, None] + eps) * g[:, None, None] + b[:, None, None])
        x = torch.cat([x, skips[-2 - j]], 1)


def keras_layers_from_torch(gen):
    """The torch generator's weights in Keras layout: conv HWIO, conv-transpose (h, w, out, in); BN params."""
    convs = [l.conv for l in gen.down] + [l.conv for l in gen.up] + [gen.final]
    norms = [l.norm for l in gen.down] + [l.norm for l in gen.up] + [None]
    layers = []
    for conv, norm in zip(convs, norms):
        L = {"kernel": conv.weight.detach().double().permute(2, 3, 1, 0).contiguous()}  # both kinds: (2, 3, 1, 0)
        if isinstance(norm, torch.nn.BatchNorm2d):
            L["bn"] = [
                norm.weight.detach().double(),
                norm.bias.detach().double(),
                norm.running_mean.double(),
                norm.running_var.double(),
            ]
        if conv.bias is not None:
            L["bias"] = conv.bias.detach().double()
        layers.append(L)
    return layers


# ---------------------------------------------------------------- a Keras .h5 in the tutorial's layout


def write_keras_h5(path, layers, slope=None, eps=1e-3):
    n = len(layers) // 2
    names, config_layers = ["input_1"], [{"class_name": "InputLayer", "config": {"name": "input_1"}}]
    with h5py.File(path, "w") as f:
        mw = f.create_group("model_weights")
        f.create_group("model_weights/input_1").attrs["weight_names"] = np.array([], dtype="S1")
        for i, L in enumerate(layers):
            last = i == len(layers) - 1
            conv = ("conv2d" if i < n else "conv2d_transpose") + (f"_{i if i < n else i - n}" if (i % n) else "")
            lname = conv if last else ("sequential" + (f"_{i}" if i else ""))
            g = mw.create_group(lname)
            weights = [(f"{conv}/kernel:0", L["kernel"])]
            if "bias" in L:
                weights.append((f"{conv}/bias:0", L["bias"]))
            if "bn" in L:
                bn = f"batch_normalization_{i}"
                weights += [
                    (f"{bn}/gamma:0", L["bn"][0]),
                    (f"{bn}/beta:0", L["bn"][1]),
                    (f"{bn}/moving_mean:0", L["bn"][2]),
                    (f"{bn}/moving_variance:0", L["bn"][3]),
                ]
            g.attrs["weight_names"] = [w.encode() for w, _ in weights]
            for wname, arr in weights:
                g.create_dataset(wname, data=arr.numpy().astype(np.float32))
            names.append(lname)
            sub = [{"class_name": "Conv2D" if i < n else "Conv2DTranspose", "config": {"name": conv}}]
            if "bn" in L:
                sub.append({"class_name": "BatchNormalization", "config": {"epsilon": eps, "momentum": 0.99}})
            if i < n:
                sub.append({"class_name": "LeakyReLU", "config": {"alpha": slope} if slope is not None else {}})
            config_layers.append({"class_name": "Sequential", "config": {"name": lname, "layers": sub}})
            if n <= i < len(layers) - 1:
                cname = "concatenate" + (f"_{i - n}" if i > n else "")
                f.create_group(f"model_weights/{cname}").attrs["weight_names"] = np.array([], dtype="S1")
                names.append(cname)
        mw.attrs["layer_names"] = [x.encode() for x in names]
        mw.attrs["backend"], mw.attrs["keras_version"] = b"tensorflow", b"2.4.0"
        if slope is not None:
            f.attrs["model_config"] = json.dumps({"class_name": "Functional", "config": {"layers": config_layers}})


@pytest.mark.parametrize("in_channels,slope_in_config", [(3, False), (1, True)])
def test_keras_h5_reproduces_torch_and_keras_semantics(tmp_path, in_channels, slope_in_config):
    slope = 0.3 if not slope_in_config else 0.25
    cfg = tiny_config(in_channels=in_channels, leaky_slope=slope, bn_eps=1e-3)
    gen = random_generator(cfg, seed=21).double()
    layers = keras_layers_from_torch(gen)
    write_keras_h5(tmp_path / "gen.h5", layers, slope if slope_in_config else None)
    r = import_model(tmp_path / "gen.h5", tmp_path, "k", "float32")
    assert r["down"] == cfg.down and r["up"] == cfg.up
    model = read_model(r["path"])
    assert model.config.leaky_slope == slope and model.config.in_channels == 1
    x = torch.from_numpy(np.random.default_rng(2).uniform(-1, 1, (1, 1, 64, 64)))
    xin = x.repeat(1, in_channels, 1, 1)
    with torch.no_grad():
        ref_torch = gen(xin).numpy()
    ref_keras = keras_reference(layers, xin, slope, 1e-3).detach().numpy()
    assert np.abs(ref_keras - ref_torch).max() < 1e-9  # the fixture's layout is Keras' own semantics
    got = Runtime(model).run_degraded(x.float().numpy())
    assert np.abs(got - ref_torch).max() < 1e-4 and ref_torch.std() > 0.01


def test_keras_h5_not_a_generator(tmp_path, capsys):
    with h5py.File(tmp_path / "dense.h5", "w") as f:
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [b"dense"]
        d = g.create_group("dense")
        d.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        d.create_dataset("dense/kernel:0", data=np.zeros((10, 4), np.float32))
        d.create_dataset("dense/bias:0", data=np.zeros(4, np.float32))
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    for bad, why in (("dense.h5", "not a 2D convolution"), ("junk.h5", "not an HDF5 file")):
        with pytest.raises(SystemExit) as e:
            main(["import", str(tmp_path / bad), "--out", str(tmp_path)])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert why in err and err.count("\n") == 1
    assert not list(tmp_path.glob("*.safetensors"))


# ---------------------------------------------------------------- a TF.js graph model, as tensorflowjs_converter writes it


def _b64(s):
    return base64.b64encode(s.encode()).decode()


def _encode(arr, quant):
    """(bytes, manifest entry extras) of a float array under a TF.js quantization."""
    arr = np.asarray(arr, np.float32)
    if quant == "float32":
        return arr.tobytes(), {}
    if quant == "float16":
        return arr.astype(np.float16).tobytes(), {"quantization": {"dtype": "float16", "original_dtype": "float32"}}
    qmax = {"uint8": 255, "uint16": 65535}[quant]
    lo, hi = float(arr.min()), float(arr.max())
    scale = (hi - lo) / qmax if hi > lo else 1.0
    q = np.round((arr - lo) / scale).astype(np.uint8 if quant == "uint8" else np.uint16)
    return q.tobytes(), {"quantization": {"dtype": quant, "min": lo, "scale": scale, "original_dtype": "float32"}}


def write_tfjs_graph(folder, gen, quant, slope):
    """model.json + two shards: BatchNorm folded as the converter does it."""
    folder.mkdir(parents=True, exist_ok=True)
    nodes, weights, blobs = [], [], []

    def const(name, arr, dtype="float32"):
        if dtype == "int32":
            data, extra = np.asarray(arr, np.int32).tobytes(), {}
        else:
            data, extra = _encode(arr, quant)
        nodes.append({"name": name, "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}, "value": {"tensor": {}}}})
        weights.append({"name": name, "shape": list(np.shape(arr)), "dtype": dtype, **extra})
        blobs.append(data)
        return name

    conv_attrs = {
        "strides": {"list": {"i": ["1", "2", "2", "1"]}},
        "padding": {"s": _b64("SAME")},
        "data_format": {"s": _b64("NHWC")},
        "T": {"type": "DT_FLOAT"},
    }
    R = gen.cfg.resolution
    nodes.append(
        {
            "name": "input_1",
            "op": "Placeholder",
            "attr": {
                "shape": {"shape": {"dim": [{"size": "-1"}, {"size": str(R)}, {"size": str(R)}, {"size": "1"}]}},
                "dtype": {"type": "DT_FLOAT"},
            },
        }
    )
    x, skips, side = "input_1", [], R
    p = "StatefulPartitionedCall/model"
    for i, layer in enumerate(gen.down):
        k = _np(layer.conv.weight).transpose(2, 3, 1, 0)  # HWIO
        name = f"{p}/sequential_{i}/conv2d_{i}/Conv2D"
        if isinstance(layer.norm, torch.nn.BatchNorm2d):
            n = layer.norm
            s = _np(n.weight) / np.sqrt(_np(n.running_var) + n.eps)
            w = const(name + "_weights", k * s)
            b = const(name + "_bn_offset", _np(n.bias) - _np(n.running_mean) * s)
            nodes.append(
                {
                    "name": name,
                    "op": "_FusedConv2D",
                    "input": [x, w, b],
                    "attr": {
                        **conv_attrs,
                        "fused_ops": {"list": {"s": [_b64("BiasAdd"), _b64("LeakyRelu")]}},
                        "num_args": {"i": "1"},
                        "leakyrelu_alpha": {"f": slope},
                        "epsilon": {"f": 0.0},
                    },
                }
            )
            x = name
        else:  # the first layer: no bias, no BatchNorm -> Conv2D then LeakyRelu
            w = const(name + "_weights", k)
            nodes.append({"name": name, "op": "Conv2D", "input": [x, w], "attr": conv_attrs})
            nodes.append(
                {"name": name + "/LeakyRelu", "op": "LeakyRelu", "input": [name], "attr": {"alpha": {"f": slope}}}
            )
            x = name + "/LeakyRelu"
        skips.append(x)
        side //= 2
    ups = list(gen.up) + [gen.final]
    for j, layer in enumerate(ups):
        conv = layer if layer is gen.final else layer.conv
        side *= 2
        k = _np(conv.weight).transpose(2, 3, 1, 0)  # (h, w, out, in)
        name = f"{p}/sequential_up_{j}/conv2d_transpose_{j}/conv2d_transpose"
        sizes = const(name + "/input_sizes", [1, side, side, k.shape[2]], "int32")
        w = const(name + "_weights", k)
        nodes.append({"name": name, "op": "Conv2DBackpropInput", "input": [sizes, w, x], "attr": conv_attrs})
        if layer is gen.final:
            b = const(name + "/bias", _np(conv.bias))
            nodes.append({"name": name + "/BiasAdd", "op": "BiasAdd", "input": [name, b], "attr": {}})
            nodes.append({"name": f"{p}/Tanh", "op": "Tanh", "input": [name + "/BiasAdd"]})
            nodes.append({"name": "Identity", "op": "Identity", "input": [f"{p}/Tanh"]})
            break
        n = layer.norm
        s = _np(n.weight) / np.sqrt(_np(n.running_var) + n.eps)
        m = const(name + "/bn/mul", s)
        a = const(name + "/bn/add", _np(n.bias) - _np(n.running_mean) * s)
        nodes.append({"name": name + "/mul", "op": "Mul", "input": [m, name]})  # const first, as grappler may
        nodes.append({"name": name + "/add", "op": "AddV2", "input": [name + "/mul", a]})
        nodes.append({"name": name + "/Relu", "op": "Relu", "input": [name + "/add"]})
        axis = const(f"{p}/concatenate_{j}/concat/axis", 3, "int32")
        nodes.append(
            {"name": f"{p}/concatenate_{j}/concat", "op": "ConcatV2", "input": [name + "/Relu", skips[-2 - j], axis]}
        )
        x = f"{p}/concatenate_{j}/concat"
    buf = b"".join(blobs)
    cut = len(buf) // 3
    (folder / "group1-shard1of2.bin").write_bytes(buf[:cut])
    (folder / "group1-shard2of2.bin").write_bytes(buf[cut:])
    doc = {
        "format": "graph-model",
        "generatedBy": "2.4.1",
        "convertedBy": "TensorFlow.js Converter v2.8.0",
        "signature": {},
        "userDefinedMetadata": {},
        "modelTopology": {"node": nodes, "library": {}, "versions": {"producer": 440}},
        "weightsManifest": [{"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"], "weights": weights}],
    }
    (folder / "model.json").write_text(json.dumps(doc))
    return folder / "model.json"


@pytest.mark.parametrize("quant,tol", [("float32", 1e-4), ("float16", 2e-2), ("uint16", 2e-3), ("uint8", None)])
def test_tfjs_graph_model_reproduces_torch(tmp_path, quant, tol):
    cfg = tiny_config(leaky_slope=0.3, bn_eps=1e-3)
    gen = random_generator(cfg, seed=31)
    path = write_tfjs_graph(tmp_path / "web_model", gen, quant, 0.3)
    main(["import", str(tmp_path / "web_model"), "--out", str(tmp_path), "--precision", "float32"])
    model = read_model(tmp_path / "web_model.safetensors")
    assert model.config.down == cfg.down and model.config.up == cfg.up and model.config.leaky_slope == 0.3
    assert model.meta["training"]["format"] == "tfjs-graph-model"
    x = np.random.default_rng(3).uniform(-1, 1, (1, 1, 64, 64)).astype(np.float32)
    with torch.no_grad():
        ref = gen(torch.from_numpy(x)).numpy()
    got = Runtime(model).run_degraded(x)
    err = np.abs(got - ref)
    if tol is None:  # per-tensor uint8: close in PSNR terms, as the paper found
        assert 10 * np.log10(4 / np.mean((got - ref) ** 2)) > 25
    else:
        assert err.max() < tol, err.max()
    assert path.exists()


def test_tfjs_errors(tmp_path, capsys):
    cfg = tiny_config()
    folder = tmp_path / "m"
    path = write_tfjs_graph(folder, random_generator(cfg, 1), "float32", 0.2)
    doc = json.loads(path.read_text())
    shard = folder / "group1-shard2of2.bin"
    good = shard.read_bytes()
    shard.write_bytes(good[:-10])
    with pytest.raises(UserError, match="shards end inside"):
        import_model(path, tmp_path)
    shard.write_bytes(good)
    cases = {}
    broken = json.loads(json.dumps(doc))
    broken["modelTopology"]["node"] = [n for n in broken["modelTopology"]["node"] if n["op"] != "Conv2DBackpropInput"]
    cases["convs followed by"] = broken
    layers = {"format": "layers-model", "modelTopology": {"class_name": "Sequential"}}
    cases["layers model"] = layers
    for why, d in cases.items():
        path.write_text(json.dumps(d))
        with pytest.raises(UserError) as e:
            import_model(path, tmp_path)
        assert why in str(e.value), (why, str(e.value))
    with pytest.raises(SystemExit) as e:
        main(["import", str(tmp_path / "nothing.json")])
    assert e.value.code == 2 and capsys.readouterr().err.count("\n") == 1
