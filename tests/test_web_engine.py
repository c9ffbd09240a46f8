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
from webkit import small_config, write_random_model


def run_page(page, rgba, brightness=1.0, contrast=1.0):
    h, w, _ = rgba.shape
    res = page.evaluate(
        """async ([data, w, h, b, c]) => {
        const r = await window.seeing.runTest(data, w, h, {brightness: b, contrast: c});
        return {degraded: Array.from(r.degraded), output: Array.from(r.output)};
    }""",
        [rgba.ravel().tolist(), w, h, brightness, contrast],
    )
    return np.array(res["degraded"], np.float32), np.array(res["output"], np.float32)


def psnr_vs_onnx_runtime(page, path, frame):
    """PSNR of the page's output for `frame` against ONNX Runtime on the page's own degraded input."""
    rt = Runtime(path, threads=1)
    degraded, output = run_page(page, frame)
    R = rt.resolution
    return psnr(output.reshape(3, R, R), rt.run_degraded(degraded.reshape(R, R))[0])


@pytest.fixture(scope="module")
def page(browser, server):
    p = open_page(browser, server.url)
    yield p
    p.close()


def use(page, path):
    assert page.evaluate("([b, n]) => window.seeing.useModel(b, n)", [list(path.read_bytes()), path.name])
    assert page.evaluate("window.seeing.engine.name") == "webgpu"


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


def test_odd_widths_and_sliced_layers_match_onnx_runtime(browser, tmp_path):
    """The kernel's special paths: channel counts not divisible by 4, deep layers split into
    input-channel slices (a slice straddling the skip boundary), 1/2/4/8 pixels per invocation."""
    from seeing.arch import GeneratorConfig

    cfg = GeneratorConfig(down=[5, 10, 36, 60, 100, 140], up=[100, 60, 36, 10, 5], resolution=64)
    path = write_random_model(tmp_path / "odd.safetensors", cfg, "float32", seed=3)
    path_u8 = write_random_model(tmp_path / "odd-u8.safetensors", cfg, "uint8", seed=3)
    srv = Server([path, path_u8])
    try:
        p = open_page(browser, srv.url)
        assert psnr_vs_onnx_runtime(p, path, gradient_frame(77, 101)) >= 40.0
        # the kernel shapes chosen for other adapters (a GPU's many slices, 8 channels, fewer pixels
        # per invocation, no subgroups) and each subgroup mode everywhere it applies compute the same net;
        # a live source (a bitmap) read through a 2D canvas or copied by the GPU gives the same frame
        diffs = p.evaluate(
            TUNINGS_JS,
            [
                "odd",
                [
                    {},
                    {"invocations": 4096},
                    {"px": 4, "py": 1},
                    {"px": 2},
                    {"sg": 0},
                    {"sgMode": 1},
                    {"sgMode": 2},
                    {"source": "bitmap"},
                    {"source": "bitmap", "externalCopy": True},
                ],
            ],
        )
        labels, diffs = diffs["labels"], diffs["diffs"]
        assert max(diffs) < 1e-5, diffs
        # on SwiftShader (subgroups of 4) the default plan uses both modes, the forced ones theirs
        assert "sg1" in labels[0] and "sg2" in labels[0] and "sg" not in labels[4], labels
        assert labels[5].count("sg1") > labels[0].count("sg1") and labels[6].count("sg2") > labels[0].count("sg2")
        # a uint8 file: its bytes on the GPU (every subgroup mode) against weights unpacked at load
        u8 = p.evaluate(TUNINGS_JS, ["odd-u8", [{}, {"qw": 0}, {"qw": 0, "sg": 0}, {"sgMode": 1}, {"sgMode": 2}]])
        assert max(u8["diffs"]) < 1e-5, u8["diffs"]
        assert u8["labels"][0].count("u8") == len(cfg.down) * 2 and "u8" not in u8["labels"][1], u8["labels"]
        use(p, path_u8)
        assert psnr_vs_onnx_runtime(p, path_u8, gradient_frame(77, 101)) >= 35.0
        assert not p.errors
        p.close()
    finally:
        srv.close()


TUNINGS_JS = """async ([stem, tunings]) => {
  const { createWebGPUEngine } = await import('/engine-webgpu.js');
  const { parseModel } = await import('/modelfile.js');
  const model = parseModel(await (await fetch(`/models/${stem}.safetensors`)).arrayBuffer());
  const rgba = new Uint8Array(120 * 90 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37 + (i >> 7) * 11) % 256));
  const outs = [], labels = [];
  for (const tuning of tunings) {
    const e = await createWebGPUEngine(model, document.createElement('canvas'), { tuning });
    outs.push((await e.runTest(rgba, 120, 90, { source: tuning.source })).output);
    labels.push(e.layers.map((l) => l.label).join(' | '));
    e.dispose();
  }
  return { labels, diffs: outs.map((o) => o.reduce((m, v, i) => Math.max(m, Math.abs(v - outs[0][i])), 0)) };
}"""


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
