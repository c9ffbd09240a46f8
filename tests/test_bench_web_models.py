"""The browser benchmark's model conversions (ONNX, TF.js layouts) compute our generator on the same weights."""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.web import bench_models
from seeing.arch import preset_config
from seeing.degrade import DegradeParams
from seeing.modelfile import read_model, write_model
from seeing.nets import Generator

from support import BENCH_NET


def _model(tmp_path, cfg, seed=0):
    w, b = bench_models.random_weights(cfg, seed)
    write_model(
        tmp_path / "m.safetensors", cfg, DegradeParams(resolution=cfg.resolution, grid=3), w, b, precision="float32"
    )
    return read_model(tmp_path / "m.safetensors")


def _torch_forward(model, x):
    """Our torch Generator with the folded weights loaded (BatchNorm as the identity plus the folded bias)."""
    g = Generator(model.config).eval()
    eps = model.config.bn_eps
    with torch.no_grad():
        convs = [(d.conv, d.norm) for d in g.down] + [(u.conv, u.norm) for u in g.up] + [(g.final, None)]
        for (conv, norm), w, b, kind in zip(convs, model.weights, model.biases, model.kinds):
            conv.weight.copy_(torch.from_numpy(np.array(w if kind == "down" else w.transpose(1, 0, 2, 3))))
            if norm is None:
                conv.bias.copy_(torch.from_numpy(b))
            elif isinstance(norm, torch.nn.BatchNorm2d):
                norm.weight.fill_(1.0)
                norm.bias.copy_(torch.from_numpy(b))
                norm.running_mean.zero_()
                norm.running_var.fill_(1.0 - eps)
            else:
                assert not b.any()  # the first layer has no BatchNorm and so no bias
        return g(torch.from_numpy(x)).numpy()


def _ort(onnx_model, x):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def _tfjs_forward(manifest, blob, x):
    """TF.js semantics by definition (NHWC): conv2d pad 1 and conv2dTranspose 'same', built with unfold/fold."""
    flat = np.frombuffer(blob, np.float32)
    h = torch.from_numpy(x).permute(0, 2, 3, 1)  # (1, R, R, 1)
    skips, outs = [], []
    for layer in manifest["layers"]:
        shape = layer["filter_shape"]
        f = torch.from_numpy(flat[layer["filter_offset"] : layer["filter_offset"] + int(np.prod(shape))].reshape(shape))
        b = torch.from_numpy(flat[layer["bias_offset"] : layer["bias_offset"] + layer["cout"]])
        n, side = h.shape[0], h.shape[1]
        if layer["kind"] == "down":  # out[y, x, o] = sum in[2y-1+ky, 2x-1+kx, i] * f[ky, kx, i, o]
            cols = F.unfold(h.permute(0, 3, 1, 2), 4, padding=1, stride=2)  # (n, i*16, L), rows ordered (i, ky, kx)
            w = f.permute(2, 0, 1, 3).reshape(-1, f.shape[3])  # (i*16, o)
            y = torch.einsum("nkl,ko->nlo", cols, w).reshape(n, side // 2, side // 2, -1)
        else:  # the adjoint: in[y, x, i] * f[ky, kx, o, i] lands on out[2y-1+ky, 2x-1+kx, o]
            cols = torch.einsum("nlc,kjoc->nokjl", h.reshape(n, side * side, -1), f).reshape(n, -1, side * side)
            y = F.fold(cols, (2 * side, 2 * side), 4, padding=1, stride=2).permute(0, 2, 3, 1)
        y = y + b
        y = {"leaky": lambda t, slope=layer["slope"]: F.leaky_relu(t, slope), "relu": F.relu, "tanh": torch.tanh}[
            layer["act"]
        ](y)
        if layer["kind"] == "down":
            skips.append(y)
        elif layer["concat"]:
            y = torch.cat([y, skips[-2 - len(outs)]], dim=3)
            outs.append(y)
        h = y
    return h.permute(0, 3, 1, 2).numpy()


def test_onnx_matches_torch_on_tiny_and_small(tmp_path):
    torch.set_num_threads(1)
    for cfg in (BENCH_NET, preset_config("small")):
        model = _model(tmp_path, cfg, seed=3)
        x = np.random.default_rng(1).uniform(-1, 1, (1, 1, cfg.resolution, cfg.resolution)).astype(np.float32)
        ref = _torch_forward(model, x)
        out = _ort(bench_models.onnx_model(model), x)
        assert out.shape == (1, 3, cfg.resolution, cfg.resolution)
        assert np.abs(out - ref).max() < 1e-4
        assert ref.std() > 0.05  # the random net is not saturated or constant, so the check means something


def test_tfjs_layout_matches_torch(tmp_path):
    torch.set_num_threads(1)
    for cfg in (BENCH_NET, preset_config("small")):
        model = _model(tmp_path, cfg, seed=4)
        x = np.random.default_rng(2).uniform(-1, 1, (1, 1, cfg.resolution, cfg.resolution)).astype(np.float32)
        manifest, blob = bench_models.tfjs_weights(model)
        out = _tfjs_forward(manifest, blob, x)
        assert np.abs(out - _torch_forward(model, x)).max() < 1e-4


def test_write_bench_models_reuses_files(tmp_path):
    a = bench_models.write_bench_models("small", tmp_path, seed=0)
    stamp = {k: p.stat().st_mtime_ns for k, p in a.items()}
    b = bench_models.write_bench_models("small", tmp_path, seed=0)
    assert a == b and stamp == {k: p.stat().st_mtime_ns for k, p in b.items()}
    model = read_model(a["model"])
    assert model.precision == "uint8" and model.config.down == preset_config("small").down
    # the peers' files hold the uint8 file's dequantized weights: the same net
    manifest, blob = bench_models.tfjs_weights(model)
    assert Path(a["tfjs_bin"]).read_bytes() == blob
    f32 = bench_models.write_bench_models("small", tmp_path, seed=0, precision="float32")
    assert read_model(f32["model"]).precision == "float32" and f32["model"] != a["model"]
