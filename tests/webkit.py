"""Helpers for the page and server tests: random model files, y4m clips, Chromium flags."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seeing.arch import GeneratorConfig, preset_config
from seeing.degrade import DegradeParams, default_grid
from seeing.export import psnr  # on the [0, 1] scale of outputs in [-1, 1], as the engines give
from seeing.modelfile import random_weights, write_model
from seeing.runtime import Runtime
from tools.browser import CHROMIUM, FAKE_CAMERA_FLAGS, write_y4m  # noqa: F401  (used by conftest)
from tools.browser import WEBGPU_FLAGS as CHROMIUM_FLAGS  # noqa: F401

from support import PAGE_NET

# Every wait in the browser tests follows something the page reports (an event of window.seeing.events(),
# a state), with this limit: sized for a machine that two training runs keep busy, never a timing.
WAIT_MS = 300_000


def wait_event(page, kind: str, after: int = 0) -> dict:
    """The first event of this kind numbered after `after` (see app.js event()), once the page records it."""
    handle = page.wait_for_function(
        "([kind, after]) => window.seeing.events().find((e) => e.type === kind && e.seq > after)",
        arg=[kind, after],
        timeout=WAIT_MS,
    )
    return handle.json_value()


def last_seq(page) -> int:
    return page.evaluate("window.seeing.lastSeq()")


def write_random_model(
    path: Path, cfg: GeneratorConfig | None = None, precision: str = "float32", seed: int = 0, name: str | None = None
) -> Path:
    cfg = cfg or GeneratorConfig(**PAGE_NET)
    deg = DegradeParams(resolution=cfg.resolution, grid=default_grid(cfg.resolution))
    w, b = random_weights(cfg, seed)
    write_model(path, cfg, deg, w, b, precision, name or Path(path).stem)
    return Path(path)


def small_config() -> GeneratorConfig:
    return preset_config("small")


def moving_square_clip(n: int = 20, h: int = 120, w: int = 160) -> np.ndarray:
    """A bright square sweeping across a dark gradient: every frame differs from the last."""
    yy, xx = np.mgrid[0:h, 0:w]
    frames = np.zeros((n, h, w, 3), np.uint8)
    for i in range(n):
        f = np.stack([xx * 200 // w, yy * 200 // h, np.full_like(xx, 60)], -1).astype(np.uint8)
        x0 = int((w - 40) * i / max(n - 1, 1))
        f[40:80, x0 : x0 + 40] = (250, 240, 220)
        frames[i] = f
    return frames


# ---------------------------------------------------------------- the engines' parity tests


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


def use(page, path):
    """Run the model file `path` on the page's WebGPU engine (no rebuild where it already runs it)."""
    if page.evaluate("[window.seeing.state.modelName, window.seeing.engine?.name]") != [path.name, "webgpu"]:
        assert page.evaluate("([b, n]) => window.seeing.useModel(b, n)", [list(path.read_bytes()), path.name])
    assert page.evaluate("window.seeing.engine.name") == "webgpu"
