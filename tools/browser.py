"""Headless Chromium for the browser tests and benchmarks: the system browser, DESIGN section 6's flags,
a y4m clip for its fake camera, and the scripts that create and time the CPU engine on a blank page
(tools.static_server serves one)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

CHROMIUM = "/usr/bin/chromium"
# DESIGN section 6's flags (without the fake camera).
DESIGN_FLAGS = [
    "--no-sandbox",
    "--enable-unsafe-webgpu",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Plus Vulkan on SwiftShader for the compositor: without these, headless Chromium 156 destroys the WebGPU
# device (and the whole GPU instance) the first time a frame is presented on a WebGPU canvas ("A valid
# external Instance reference no longer exists"). They cost WebGL, so the peer benchmark (TF.js WebGL) runs
# with DESIGN_FLAGS alone and draws WebGPU output to a texture.
WEBGPU_FLAGS = DESIGN_FLAGS + ["--use-vulkan=swiftshader", "--enable-features=Vulkan"]
FAKE_CAMERA_FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
FLAGS = WEBGPU_FLAGS + FAKE_CAMERA_FLAGS


def write_y4m(path: Path, frames: np.ndarray, fps: int = 10) -> Path:
    """uint8 (N, H, W, 3) frames as a y4m clip (PyAV, rawvideo yuv420p) for Chromium's fake camera."""
    import av

    n, h, w, _ = frames.shape
    with av.open(str(path), "w", format="yuv4mpegpipe") as out:
        stream = out.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return Path(path)


@contextlib.contextmanager
def chromium(extra_flags: list[str] | None = None):
    """A headless Chromium (the system one) through Playwright; yields the browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS + (extra_flags or []))
        try:
            yield browser
        finally:
            browser.close()


# Creates the CPU engine on a blank page for `url` (a model file); returns it as window.eng.
CREATE_JS = """async ([url, opts]) => {
  const { parseModel } = await import("./modelfile.js");
  const { createWasmEngine, wasmFeatures } = await import("./engine-wasm.js");
  const buf = await (await fetch(url)).arrayBuffer();
  const model = parseModel(buf, url);
  const canvas = document.createElement("canvas");
  document.body.appendChild(canvas);
  window.eng?.dispose();
  window.eng = await createWasmEngine(model, canvas, opts);
  return { threads: window.eng.threads, variant: window.eng.variant, features: wasmFeatures(),
           isolated: self.crossOriginIsolated };
}"""

# Times engine.frame() on a camera-sized canvas for at least `seconds`; median ms per frame.
TIME_JS = """async ([seconds, width, height]) => {
  const src = document.createElement("canvas");
  src.width = width; src.height = height;
  const g = src.getContext("2d");
  const grad = g.createLinearGradient(0, 0, width, height);
  grad.addColorStop(0, "#123"); grad.addColorStop(1, "#fc8");
  g.fillStyle = grad; g.fillRect(0, 0, width, height);
  g.fillStyle = "#fff"; g.fillRect(width / 3, height / 3, width / 4, height / 4);
  for (let i = 0; i < 3; i++) await window.eng.frame(src, {});
  const times = [];
  const end = performance.now() + seconds * 1000;
  while (times.length < 5 || performance.now() < end) {
    const t = performance.now();
    await window.eng.frame(src, {});
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1], min: times[0], frames: times.length };
}"""
