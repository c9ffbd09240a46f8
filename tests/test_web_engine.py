"""The WebGPU engine in real Chromium (SwiftShader): degradation against seeing.degrade, generator output
against ONNX Runtime in Python (seeing.runtime), float32 and uint8 files, a tiny and a small-preset net."""

from __future__ import annotations

import numpy as np
import pytest

from seeing.degrade import degrade_frame
from seeing.export import psnr  # on the [0, 1] scale of outputs in [-1, 1], as the engines give
from seeing.modelfile import read_model
from seeing.runtime import Runtime

from conftest import Server, open_page
from support import gradient_frame
from webkit import psnr_vs_onnx_runtime, run_page, small_config, use, write_random_model


@pytest.fixture(scope="module")
def page(browser, server):
    p = open_page(browser, server.url)
    yield p
    p.close()


@pytest.mark.parametrize("precision,floor", [("float32", 40.0), ("uint8", 35.0)])
def test_output_matches_onnx_runtime(page, web_models, precision, floor):
    path = web_models[precision]
    use(page, path)
    rt = Runtime(path, threads=1)
    frame = gradient_frame()
    degraded, output = run_page(page, frame)
    R = rt.resolution
    ref = rt.run_degraded(degraded.reshape(R, R))[0]
    assert output.shape == (3 * R * R,)
    assert psnr(output.reshape(3, R, R), ref) >= floor
    # the whole frame path against Python end to end, too
    full = rt.run_degraded(degrade_frame(frame[..., :3], rt.model.degradation))[0]
    assert psnr(output.reshape(3, R, R), full) >= floor


@pytest.mark.parametrize("brightness,contrast", [(1.0, 1.0), (1.2, 0.85), (0.8, 1.15)])
def test_degradation_matches_python(page, web_models, brightness, contrast):
    use(page, web_models["float32"])
    model = read_model(web_models["float32"])
    for shape in [(90, 130), (64, 64), (200, 150)]:
        frame = gradient_frame(*shape, seed=shape[0])
        degraded, _ = run_page(page, frame, brightness, contrast)
        ref = degrade_frame(frame[..., :3], model.degradation, brightness, contrast)
        # within 1/255 on the [0, 1] scale of the image
        assert np.abs((degraded.reshape(ref.shape) - ref) / 2).max() <= 1 / 255


def test_small_preset_matches_onnx_runtime(browser, tmp_path):
    path = write_random_model(tmp_path / "small.safetensors", small_config(), "uint8", seed=2)
    srv = Server([path])
    try:
        p = open_page(browser, srv.url)
        assert psnr_vs_onnx_runtime(p, path, gradient_frame(240, 320)) >= 35.0
        assert not p.errors
        p.close()
    finally:
        srv.close()


def test_small_preset_at_512_matches_onnx_runtime(browser, tmp_path):
    """HD: the page at ?size=512 runs the 256 model at 512, its grid scaled to 22 (degrade.at_size),
    against ONNX Runtime at 512 on the page's own degraded input, and the degradation against Python."""
    from seeing.degrade import at_size

    path = write_random_model(tmp_path / "small.safetensors", small_config(), "uint8", seed=2)
    srv = Server([path])
    try:
        p = open_page(browser, srv.url, "test=1&engine=webgpu&size=512")
        assert p.evaluate("[window.seeing.engine.canvas.width, window.seeing.state.model.degradation.grid]") == [
            512,
            22,
        ]
        frame = gradient_frame(240, 320)
        rt = Runtime(path, threads=1, size=512)
        degraded, output = run_page(p, frame)
        ref_deg = degrade_frame(frame[..., :3], at_size(read_model(path).degradation, 512))
        assert np.abs((degraded.reshape(512, 512) - ref_deg) / 2).max() <= 1 / 255
        assert psnr(output.reshape(3, 512, 512), rt.run_degraded(degraded.reshape(512, 512))[0]) >= 35.0
        assert not p.errors
        p.close()
    finally:
        srv.close()
