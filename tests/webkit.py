"""Helpers for the page and server tests: random model files, y4m clips, Chromium flags."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seeing.arch import GeneratorConfig, preset_config
from seeing.degrade import DegradeParams, default_grid
from seeing.modelfile import random_weights, write_model
from tools.browser import CHROMIUM, FAKE_CAMERA_FLAGS, write_y4m  # noqa: F401  (used by conftest)
from tools.browser import WEBGPU_FLAGS as CHROMIUM_FLAGS  # noqa: F401

from support import PAGE_NET as TINY  # the page tests' net

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
    cfg = cfg or GeneratorConfig(**TINY)
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
