"""Test helpers that several test files share: the tiny nets they train or run, and a test frame.

Each net is as small as its tests allow; the presets are not the point there."""

from __future__ import annotations

import numpy as np

from seeing.arch import GeneratorConfig

# Training end to end (test_train, test_cli_errors): 128x128, four filters everywhere, a 4-wide PatchGAN.
TRAIN_NET = GeneratorConfig(down=[4] * 7, up=[4] * 6, resolution=128)
TRAIN_FLAGS = [
    "--down-filters",
    ",".join(map(str, TRAIN_NET.down)),
    "--up-filters",
    ",".join(map(str, TRAIN_NET.up)),
    "--disc-width",
    "4",
]
# train()'s arguments for those runs: two epochs of batch 4, one decoding thread, quiet.
TRAIN_ARGS = dict(
    gen_cfg=TRAIN_NET, epochs=2, batch_size=4, seed=3, disc_width=4, save_every=0, progress=False, workers=1
)


def tiny_train(data, out, **kw) -> dict:
    """seeing.train.train of TRAIN_NET on the image folder DATA into OUT (one math thread); kw overrides."""
    import torch

    from seeing.train import train

    torch.set_num_threads(1)
    return train([data], out, **{**TRAIN_ARGS, "log": lambda m: None, **kw})


# Model files, export, runtime, translate, import (modelkit.tiny_config).
MODEL_NET = dict(down=[4, 8, 16, 16, 16, 16], up=[16, 16, 16, 8, 4], resolution=64)
# The live page: six layers down at 64x64, small enough for SwiftShader to run thousands of frames (webkit).
PAGE_NET = dict(down=[3, 4, 6, 8, 8, 8], up=[8, 8, 6, 4, 3], resolution=64)
# The benchmark's conversions (test_bench_web_models): odd widths at 16x16.
BENCH_NET = GeneratorConfig(down=[2, 3, 4, 5], up=[4, 3, 2], resolution=16)


def gradient_frame(h: int = 90, w: int = 130, seed: int = 0) -> np.ndarray:
    """An (h, w, 4) RGBA camera-like frame: colour gradients with noise, opaque."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // w, yy * 255 // h, (xx * 3 + yy) % 256], -1).astype(np.int32)
    img = np.clip(img + rng.integers(-60, 60, img.shape), 0, 255).astype(np.uint8)
    return np.concatenate([img, np.full((h, w, 1), 255, np.uint8)], -1)
