"""The WebGPU engine's tunings in real Chromium (SwiftShader): the kernel's special paths and every plan
another adapter would get compute the same net as the default, and as ONNX Runtime (a file of its own so
that the test runner gives it a worker of its own: it builds a dozen engines)."""

from __future__ import annotations

from conftest import Server, open_page
from support import gradient_frame
from webkit import psnr_vs_onnx_runtime, use, write_random_model


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
        # the kernel shapes chosen for other adapters (a GPU's many slices, 8 channels, fewer pixels per
        # invocation, no subgroups) and each subgroup mode everywhere it applies compute the same net; a live
        # source (a bitmap) read through a 2D canvas or copied by the GPU gives the same frame. Independent
        # choices share an engine (each build costs seconds on SwiftShader).
        diffs = p.evaluate(
            TUNINGS_JS,
            [
                "odd",
                [
                    {},
                    {"invocations": 4096, "px": 2, "source": "bitmap"},
                    {"px": 4, "py": 1, "sg": 0, "source": "bitmap", "externalCopy": True},
                    {"sgMode": 1},
                    {"sgMode": 2},
                ],
            ],
        )
        labels, diffs = diffs["labels"], diffs["diffs"]
        assert max(diffs) < 1e-5, diffs
        # on SwiftShader (subgroups of 4) the default plan uses both modes, the forced ones theirs
        assert "sg1" in labels[0] and "sg2" in labels[0] and "sg" not in labels[2], labels
        assert labels[3].count("sg1") > labels[0].count("sg1") and labels[4].count("sg2") > labels[0].count("sg2")
        # a uint8 file: its bytes on the GPU (every subgroup mode) against weights unpacked at load
        u8 = p.evaluate(TUNINGS_JS, ["odd-u8", [{}, {"qw": 0, "sg": 0}, {"sgMode": 1}, {"sgMode": 2}]])
        assert max(u8["diffs"]) < 1e-5, u8["diffs"]
        assert u8["labels"][0].count("u8") == len(cfg.down) * 2 and "u8" not in u8["labels"][1], u8["labels"]
        assert "u8" in u8["labels"][2] and "u8" in u8["labels"][3], u8["labels"]
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
