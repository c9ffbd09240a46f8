"""The model file: round trips, interop with the safetensors package, and strict loading of bad files."""

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seeing.arch import layer_shapes
from seeing.cli import main
from seeing.modelfile import ModelFileError, quantize_uint8, read_model, write_model

from modelcorpus import join as _join
from modelcorpus import split as _split
from modelkit import tiny_config, tiny_degradation


def _weights(cfg, seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.normal(0, 0.1, (l["cout"], l["cin"], 4, 4)).astype(np.float32) for l in layer_shapes(cfg)]
    bs = [rng.normal(0, 0.1, l["cout"]).astype(np.float32) for l in layer_shapes(cfg)]
    return ws, bs


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    cfg = tiny_config(down=[2, 4, 4, 4], up=[4, 4, 2], resolution=16)
    ws, bs = _weights(cfg)
    path = tmp_path_factory.mktemp("mf") / "m.safetensors"
    write_model(path, cfg, tiny_degradation(cfg), ws, bs, "uint8", "tiny", {"epochs": 3})
    return path.read_bytes()


@pytest.mark.parametrize("precision", ["float32", "float16", "uint8"])
def test_round_trip_and_safetensors_interop(tmp_path, precision):
    from safetensors.numpy import load_file

    cfg = tiny_config()
    ws, bs = _weights(cfg, 1)
    path = tmp_path / "m.safetensors"
    write_model(path, cfg, tiny_degradation(cfg), ws, bs, precision, "rt", {"epochs": 2})
    m = read_model(path)
    assert m.precision == precision and m.name == "rt" and m.config == cfg
    assert m.kinds == ["down"] * 6 + ["up"] * 6
    tol = {"float32": 0, "float16": 1e-3, "uint8": None}[precision]
    for w, ref, b, bref in zip(m.weights, ws, m.biases, bs):
        assert w.dtype == np.float32 and w.shape == ref.shape
        np.testing.assert_array_equal(b, bref)
        if tol is None:  # affine uint8: error at most half a step per channel
            step = (np.maximum(ref.max((1, 2, 3)), 0) - np.minimum(ref.min((1, 2, 3)), 0)) / 255
            assert (np.abs(w - ref) <= step[:, None, None, None] * 0.5 + 1e-7).all()
        else:
            np.testing.assert_allclose(w, ref, atol=tol, rtol=0)
    tensors = load_file(str(path))  # the safetensors package reads our file
    assert (
        tensors["down.0.weight"].dtype == {"float32": np.float32, "float16": np.float16, "uint8": np.uint8}[precision]
    )
    assert set(tensors) == {k for k in _split(path.read_bytes())[0] if k != "__metadata__"}
    if precision == "uint8":
        q, s, z = tensors["up.2.weight"], tensors["up.2.scale"], tensors["up.2.zero"]
        np.testing.assert_allclose(
            s[:, None, None, None] * (q.astype(np.float32) - z[:, None, None, None]),
            m.weights[len(cfg.down) + 2],
            rtol=1e-6,
            atol=1e-7,
        )


def test_quantize_represents_zero_and_extremes():
    w = np.array([[-1.0, 0.0, 0.5, 2.0], [0.3, 0.3, 0.3, 0.3], [0, 0, 0, 0]], np.float32)
    q, s, z = quantize_uint8(w)
    deq = s[:, None] * (q.astype(np.float32) - z[:, None])
    np.testing.assert_allclose(deq[0, [0, 3]], [-1.0, 2.0], atol=1e-6)
    assert abs(deq[0, 1]) <= s[0] / 2
    np.testing.assert_allclose(deq[1], 0.3, atol=0.3 / 255)
    np.testing.assert_array_equal(deq[2], 0)


def test_cli_info_process_no_traceback(tmp_path, model_bytes):
    bad = tmp_path / "BAD.safetensors"
    bad.write_bytes(model_bytes[:100])
    r = subprocess.run([sys.executable, "-m", "seeing", "info", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_cli_info_good_file(tmp_path, model_bytes, capsys):
    good = tmp_path / "good.safetensors"
    good.write_bytes(model_bytes)
    main(["info", str(good), "--json"])
    facts = json.loads(capsys.readouterr().out)
    assert facts["precision"] == "uint8" and facts["size"] == len(model_bytes)
    assert facts["down"] == [2, 4, 4, 4] and facts["training"] == {"epochs": 3}
    assert facts["degradation"]["grid"] == 1 and facts["macs"] > 0


def _header_mutation(draw, header: dict) -> dict:
    h = json.loads(json.dumps(header))
    key = draw(st.sampled_from(sorted(h)))
    junk = st.one_of(
        st.integers(-(2**63), 2**64),
        st.floats(allow_nan=True),
        st.text(max_size=5),
        st.none(),
        st.lists(st.integers(-5, 1 << 40), max_size=4),
        st.booleans(),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
    if key == "__metadata__":
        meta = json.loads(h[key]["seeing"])
        sub = draw(st.sampled_from(["architecture", "degradation", "version", "precision", "format", "name"]))
        if isinstance(meta[sub], dict):
            field = draw(st.sampled_from(sorted(meta[sub])))
            meta[sub][field] = draw(junk)
        else:
            meta[sub] = draw(junk)
        h[key]["seeing"] = json.dumps(meta)
    else:
        field = draw(st.sampled_from(["dtype", "shape", "data_offsets", "extra"]))
        if field == "extra" and draw(st.booleans()):
            del h[key]
        else:
            h[key][field] = draw(st.one_of(junk, st.sampled_from(["F32", "F16", "U8", "I64"])))
    return h


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_mutated_files_load_or_raise_model_file_error(model_bytes, data):
    draw = data.draw
    kind = draw(st.sampled_from(["flip", "truncate", "header"]))
    if kind == "flip":
        buf = bytearray(model_bytes)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(buf) - 1))
            buf[i] ^= 1 << draw(st.integers(0, 7))
        mutated = bytes(buf)
    elif kind == "truncate":
        mutated = model_bytes[: draw(st.integers(0, len(model_bytes) - 1))]
    else:
        header, body = _split(model_bytes)
        mutated = _join(_header_mutation(draw, header), body)
    try:
        m = read_model(mutated)
    except ModelFileError as e:
        assert "\n" not in str(e)
    else:
        assert all(np.isfinite(w).all() for w in m.weights)
