"""The WebGPU engine's layer plan and weight packing (web/webgpu-plan.js, run under node): the U-Net's wiring,
shapes and split of every layer, the exact plan of the small preset, and the packed layout of the weights."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from seeing.arch import layer_shapes, preset_config
from seeing.modelfile import layer_names, read_model

from support import BENCH_NET
from webkit import write_random_model

SCRIPT = Path(__file__).with_name("webgpu_plan.mjs")


def plan_of(path, **env) -> dict:
    node = shutil.which("node")
    assert node, "node is needed to run the page's modules"
    r = subprocess.run([node, str(SCRIPT), str(path), json.dumps(env)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def small_uint8(tmp_path_factory):
    return write_random_model(tmp_path_factory.mktemp("plan") / "small.safetensors", preset_config("small"), "uint8")


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"software": True},
        {"software": True, "subgroups": True},
        {"software": True, "tuning": {"px": 2, "py": 1, "invocations": 4096, "qw": 0}},
    ],
)
def test_plan_follows_the_unet(small_uint8, env):
    cfg = preset_config("small")
    plan = plan_of(small_uint8, **env)["plan"]
    shapes, n = layer_shapes(cfg), len(cfg.down)
    assert len(plan) == len(shapes) == 2 * n
    for i, (p, s) in enumerate(zip(plan, shapes)):
        c = p["constants"]
        assert p["up"] == (s["kind"] == "up") and c["KIND"] == int(p["up"])
        assert c["CIN"] == s["cin"] and c["COUT"] == s["cout"] and c["HIN"] == s["in_side"] == c["WIN"]
        assert p["hout"] == c["HOUT"] == (2 * s["in_side"] if p["up"] else s["in_side"] // 2)
        assert 4 * p["cout4"] >= s["cout"] > 4 * p["cout4"] - 4 * (4 if p["sg"] == 2 else 1)
        assert c["SPLIT"] * c["CPS"] >= s["cin"] > (c["SPLIT"] - 1) * c["CPS"] and (p["finishGroups"] > 0) == (
            c["SPLIT"] > 1
        )
        assert c["PX"] in (1, 2, 4, 8) and c["PX"] <= p["hout"] and c["PY"] in (1, 2)
        assert c["ACT"] == (0 if i < n else 2 if i == 2 * n - 1 else 1) and c["SLOPE"] == (
            cfg.leaky_slope if i < n else 0
        )
        # the skips: up layer j >= 1 reads the previous up output and down layer n-1-j
        if p["up"] and i > n:
            assert (p["a"], p["b"]) == (i - 1, 2 * n - 1 - i) and c["CA"] == shapes[i - 1]["cout"]
        else:
            assert p["a"] == p["b"] == i - 1 and c["CA"] == s["cin"]
        assert p["qw"] == (env.get("tuning", {}).get("qw") != 0) and c["QW"] == int(p["qw"])
        assert p["sg"] == 0 or env.get("subgroups")


def test_plan_of_the_small_preset_on_swiftshader(small_uint8):
    """The choices the engine makes on a software adapter with subgroups of 4 (SwiftShader), layer by layer."""
    plan = plan_of(small_uint8, software=True, subgroups=True)["plan"]
    got = [(p["constants"]["SPLIT"], p["px"], p["py"], p["sg"], p["groups"]) for p in plan]
    assert got == [
        (1, 8, 2, 0, 16),
        (1, 8, 2, 0, 8),
        (1, 8, 2, 2, 4),
        (1, 8, 2, 2, 2),
        (2, 8, 2, 2, 2),
        (4, 4, 2, 0, 4),
        (4, 2, 2, 0, 4),
        (2, 1, 1, 0, 4),
        (2, 2, 1, 0, 4),
        (4, 4, 2, 0, 4),
        (4, 8, 2, 2, 4),
        (2, 8, 2, 2, 4),
        (1, 8, 2, 1, 4),
        (1, 8, 2, 1, 8),
        (1, 8, 2, 1, 16),
        (1, 8, 2, 1, 64),
    ]


def test_packed_weights_follow_the_kernel_layout(tmp_path):
    path = write_random_model(tmp_path / "tiny.safetensors", BENCH_NET, "uint8", seed=5)
    model, out = read_model(path), plan_of(path)
    raw = _tensors(path)
    for i, (w, b, p, packed) in enumerate(zip(model.weights, model.biases, out["plan"], out["packed"])):
        cout, cin, cout4 = w.shape[0], w.shape[1], p["cout4"]
        # mat4x4 per (c, ky, og): column kx, row o & 3
        mats = np.array(packed["weights"], np.float32).reshape(cin, 4, cout4, 4, 4)  # (c, ky, og, kx, o & 3)
        want = np.zeros((cin, 4, cout4 * 4, 4), np.float32)
        want[:, :, :cout] = w.transpose(1, 2, 0, 3)
        # (the page dequantizes uint8 in double, Python in float32: a last-bit difference at most)
        np.testing.assert_allclose(mats.transpose(0, 1, 2, 4, 3).reshape(cin, 4, cout4 * 4, 4), want, rtol=1e-6, atol=0)
        # float16 bits: the same values within float16's rounding (subnormals within their spacing)
        halves = np.array(packed["halves"], np.uint16).view(np.float16).astype(np.float32)
        np.testing.assert_allclose(halves, np.array(packed["weights"], np.float32), rtol=2**-10, atol=2**-24)
        np.testing.assert_array_equal(np.array(packed["bias"], np.float32)[:cout], b)
        q = np.array(packed["qweights"], np.uint8).reshape(cin, 4, cout4, 4, 4).transpose(0, 1, 2, 4, 3)
        name = layer_names(BENCH_NET)[i]
        np.testing.assert_array_equal(
            q.reshape(cin, 4, cout4 * 4, 4)[:, :, :cout], raw[f"{name}.weight"].transpose(1, 2, 0, 3)
        )
        qb = np.array(packed["qbias"], np.float32).reshape(3, cout4 * 4)[:, :cout]
        scale, zero = raw[f"{name}.scale"], raw[f"{name}.zero"]
        np.testing.assert_allclose(qb[1], 255 * scale, rtol=1e-6)
        np.testing.assert_allclose(qb[2], -scale * zero, rtol=1e-6)


def _tensors(path):
    from safetensors.numpy import load_file

    return load_file(str(path))
