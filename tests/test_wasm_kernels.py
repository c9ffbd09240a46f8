"""The CPU engine's wasm kernels, run through wasmtime, against PyTorch and seeing.degrade layer by layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seeing.arch import GeneratorConfig, layer_shapes
from seeing.degrade import DegradeParams, degrade_frame
from seeing.modelfile import read_model, write_model
from tools.wasm.build import VARIANTS, build
from tools.wasm.runner import WEB, WasmNet

torch.set_num_threads(1)
SINGLE = ["seeing-relaxed.wasm", "seeing-simd.wasm"]
# odd channel counts on purpose: blocks of 8 with 4- and 8-wide tails, cout 3 and 5, skips of other widths
CFG = GeneratorConfig(down=[4, 12, 5, 16, 8], up=[8, 5, 6, 4], resolution=32, leaky_slope=0.3)
DEG = DegradeParams(resolution=32, grid=3)


def random_layers(cfg: GeneratorConfig, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for L in layer_shapes(cfg):
        w = rng.standard_normal((L["cout"], L["cin"], 4, 4)).astype(np.float32) * (2 / (L["cin"] * 8)) ** 0.5
        out.append((w, (rng.standard_normal(L["cout"]) * 0.1).astype(np.float32)))
    return out


def torch_layer(kind, x, w, b, act, slope):
    w, b = torch.from_numpy(np.array(w)), torch.from_numpy(np.array(b))
    if kind == "down":
        y = F.conv2d(x, w, b, 2, 1)
    else:
        y = F.conv_transpose2d(x, w.transpose(0, 1), b, 2, 1)  # file layout (cout, cin) -> torch (cin, cout)
    return {"leaky": lambda t: F.leaky_relu(t, slope), "relu": F.relu, "tanh": torch.tanh}[act](y)


def torch_generator(layers, cfg, x):
    """The folded generator in plain torch ops: x (1, 1, R, R) -> (1, 3, R, R)."""
    n = len(cfg.down)
    skips = []
    for i in range(n):
        x = torch_layer("down", x, *layers[i][:2], "leaky", cfg.leaky_slope)
        skips.append(x)
    for j in range(n):
        x = torch_layer("up", x, *layers[n + j][:2], "tanh" if j == n - 1 else "relu", 0)
        if j < n - 1:
            x = torch.cat([x, skips[n - 2 - j]], 1)
    return x


def test_committed_wasm_is_rebuilt_byte_for_byte(tmp_path):
    for path in build(tmp_path):
        assert path.read_bytes() == (WEB / path.name).read_bytes(), (
            f"{path.name} differs from the committed build: run make wasm"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(VARIANTS)


@pytest.mark.parametrize("variant", SINGLE)
def test_each_layer_matches_torch(variant):
    """Every conv kind (first down with cin 1, down, up without skip, up reading two buffers, final tanh)."""
    layers = random_layers(CFG)
    net = WasmNet(len(CFG.down), [(w, b, None, None) for w, b in layers], DEG, CFG.leaky_slope, variant)
    rng = np.random.default_rng(1)
    n = len(CFG.down)
    for i, L in enumerate(layer_shapes(CFG)):
        side = L["in_side"]
        xa = rng.standard_normal((side, side, L["cin"])).astype(np.float32)
        addr_a, _, _ = net.layer_buffer(i, "a")
        if L["kind"] == "up" and i > n:
            cb = CFG.down[2 * n - 1 - i]
            ca = L["cin"] - cb
            net.set_padded(addr_a, xa[..., :ca])
            net.set_padded(net.layer_buffer(i, "b")[0], xa[..., ca:])
        else:
            net.set_padded(addr_a, xa)
        net.run_layer(i)
        addr, oside, ost = net.layer_buffer(i, "out")
        got = net.get_padded(addr, oside, ost)
        assert np.all(got[0] == 0) and np.all(got[:, -1] == 0), "the zero border was written"
        act = "leaky" if L["kind"] == "down" else "tanh" if i == 2 * n - 1 else "relu"
        ref = torch_layer(L["kind"], torch.from_numpy(xa).permute(2, 0, 1)[None], *layers[i], act, CFG.leaky_slope)
        ref = ref[0].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(got[1:-1, 1:-1, : L["cout"]], ref, atol=2e-5, rtol=1e-5, err_msg=f"layer {i} {L}")


@pytest.mark.parametrize("variant", SINGLE)
@pytest.mark.parametrize("shape,bc", [((37, 50), (1.0, 1.0)), ((64, 41), (1.15, 0.85)), ((32, 32), (0.7, 1.4))])
def test_degradation_matches_python(variant, shape, bc):
    rng = np.random.default_rng(shape[0])
    frame = rng.integers(0, 256, (*shape, 4), np.uint8)
    net = WasmNet(len(CFG.down), [(w, b, None, None) for w, b in random_layers(CFG)], DEG, 0.3, variant)
    deg, _, _ = net.frame(frame, brightness=bc[0], contrast=bc[1])
    ref = degrade_frame(frame[..., :3], DEG, *bc)
    assert np.abs(deg - ref).max() < 1e-5


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_whole_generator_matches_torch(variant):
    layers = random_layers(CFG, seed=3)
    threads = 2 if variant.endswith("-mt.wasm") else 1
    net = WasmNet(len(CFG.down), [(w, b, None, None) for w, b in layers], DEG, CFG.leaky_slope, variant, threads)
    frame = np.random.default_rng(4).integers(0, 256, (40, 48, 4), np.uint8)
    deg, out, rgba = (net.frame_threads if threads > 1 else net.frame)(frame, brightness=1.1, contrast=0.9)
    ref = torch_generator(layers, CFG, torch.from_numpy(degrade_frame(frame[..., :3], DEG, 1.1, 0.9))[None, None])[
        0
    ].numpy()
    np.testing.assert_allclose(out, ref, atol=1e-5)
    expect = np.clip(np.rint((out.transpose(1, 2, 0) + 1) * 127.5), 0, 255).astype(np.uint8)
    assert np.array_equal(rgba[..., :3], expect) and np.all(rgba[..., 3] == 255)


def test_threads_give_the_same_frame_as_one_thread():
    layers = [(w, b, None, None) for w, b in random_layers(CFG, seed=5)]
    frame = np.random.default_rng(6).integers(0, 256, (33, 35, 4), np.uint8)
    one = WasmNet(len(CFG.down), layers, DEG, 0.3, "seeing-relaxed-mt.wasm", 1).frame(frame)
    three = WasmNet(len(CFG.down), layers, DEG, 0.3, "seeing-relaxed-mt.wasm", 3).frame_threads(frame)
    for a, b in zip(one, three):
        assert np.array_equal(a, b)


def test_mirror_and_smoothing_act_on_the_picture():
    net = WasmNet(len(CFG.down), [(w, b, None, None) for w, b in random_layers(CFG)], DEG, 0.3)
    f1 = np.random.default_rng(7).integers(0, 256, (32, 32, 4), np.uint8)
    f2 = np.random.default_rng(8).integers(0, 256, (32, 32, 4), np.uint8)
    d1, o1, r1 = net.frame(f1)
    _, _, m1 = net.frame(f1, mirror=True)
    assert np.array_equal(m1, r1[:, ::-1])  # the output is mirrored, the network input is not
    _, o2, r2 = net.frame(f2, smooth=0.75)
    smoothed = 0.75 * o1 + 0.25 * o2
    expect = np.clip(np.rint((smoothed.transpose(1, 2, 0) + 1) * 127.5), 0, 255).astype(np.uint8)
    assert np.abs(r2[..., :3].astype(int) - expect).max() <= 1


@pytest.mark.parametrize("precision", ["uint8", "float16", "float32"])
def test_model_file_precisions(tmp_path, precision):
    """Weights as stored (uint8 affine per channel, float16 bits, float32) are dequantized by the wasm
    exactly as modelfile.read_model does."""
    layers = random_layers(CFG, seed=9)
    path = tmp_path / "m.safetensors"
    write_model(path, CFG, DEG, [w for w, _ in layers], [b for _, b in layers], precision)
    m = read_model(path)
    net = WasmNet.from_model(path)
    frame = np.random.default_rng(10).integers(0, 256, (32, 32, 4), np.uint8)
    _, out, _ = net.frame(frame)
    ref = torch_generator(
        list(zip(m.weights, m.biases)), CFG, torch.from_numpy(degrade_frame(frame[..., :3], DEG))[None, None]
    )[0].numpy()
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_work_counters_report_the_frame_once_and_ignore_late_threads():
    """frame_run returns the frame's generation on the thread that finished it; a worker that arrives
    after the frame is done (a descheduled thread) finds nothing to claim and changes nothing."""
    layers = [(w, b, None, None) for w, b in random_layers(CFG, seed=11)]
    frame = np.random.default_rng(12).integers(0, 256, (32, 32, 4), np.uint8)
    net = WasmNet(len(CFG.down), layers, DEG, 0.3, "seeing-relaxed-mt.wasm", 2)
    ref = WasmNet(len(CFG.down), layers, DEG, 0.3, "seeing-relaxed.wasm").frame(frame)
    net.set_frame(frame)
    gen = net.call("net_begin", net.net)
    assert gen > 0
    assert net.call("frame_run", net.net, 0, 2) == gen  # one thread alone claims every unit
    a = net.call("net_rgba", net.net)
    before = net.view()[a : a + 32 * 32 * 4].copy()
    assert net.call("frame_run", net.net, 1, 2) == 0  # late: every stage already done
    assert np.array_equal(net.view()[a : a + 32 * 32 * 4], before)
    assert np.array_equal(before.reshape(32, 32, 4), ref[2])
    assert net.call("net_begin", net.net) == gen + 1


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_whole_generator_at_twice_its_side_matches_torch(variant):
    """HD: the net run at 2R (a 2x2 bottleneck, the deep layers' other paths) on the degradation at 2R."""
    from seeing.degrade import at_size

    layers = random_layers(CFG, seed=8)
    deg = at_size(DEG, 64)
    threads = 2 if variant.endswith("-mt.wasm") else 1
    net = WasmNet(len(CFG.down), [(w, b, None, None) for w, b in layers], deg, CFG.leaky_slope, variant, threads)
    frame = np.random.default_rng(9).integers(0, 256, (70, 90, 4), np.uint8)
    deg_out, out, rgba = (net.frame_threads if threads > 1 else net.frame)(frame, brightness=0.9, contrast=1.1)
    ref_deg = degrade_frame(frame[..., :3], deg, 0.9, 1.1)
    assert deg_out.shape == (64, 64) and np.abs(deg_out - ref_deg).max() < 1e-5
    ref = torch_generator(layers, CFG, torch.from_numpy(ref_deg)[None, None])[0].numpy()
    assert out.shape == (3, 64, 64)
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_net_create_refuses_sizes_the_net_cannot_run():
    net = WasmNet(len(CFG.down), [(w, b, None, None) for w, b in random_layers(CFG)], DEG, 0.3)
    for res in (48, 16, 8192):  # not a multiple of 32, below it, too big
        assert net.call("net_create", len(CFG.down), res, 3, -0.75, 0.3, 0.6, 0.1, 1) == 0
    assert net.call("net_create", len(CFG.down), 96, 9, -0.75, 0.3, 0.6, 0.1, 1) != 0
