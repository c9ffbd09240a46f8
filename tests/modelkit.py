"""Tiny generators and checkpoints for the model-file, export, runtime, translate and import tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from seeing.arch import GeneratorConfig
from seeing.degrade import DegradeParams
from seeing.nets import Generator

from support import MODEL_NET


def tiny_config(**overrides) -> GeneratorConfig:
    return GeneratorConfig(**{**MODEL_NET, **overrides})


def tiny_degradation(cfg: GeneratorConfig) -> DegradeParams:
    return DegradeParams(resolution=cfg.resolution, grid=max(1, round(cfg.resolution / 24)))


def random_generator(cfg: GeneratorConfig, seed: int = 0, up: str = "transpose") -> Generator:
    """A Generator with random weights and random (non-trivial) BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    gen = Generator(cfg, up=up)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in gen.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.05)
                m.weight.copy_(1 + torch.randn(n, generator=g) * 0.2)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)
        gen.final.bias.copy_(torch.randn(cfg.out_channels, generator=g) * 0.1)
    return gen.eval()


def save_checkpoint(path: Path, gen: Generator, deg: DegradeParams, **train) -> Path:
    """A checkpoint in the team's format (docs/CONTRACTS.md), generator part only filled for real."""
    ckpt = {
        "generator": gen.state_dict(),
        "discriminator": {},
        "opt_g": None,
        "opt_d": None,
        "scaler": None,
        "config": {
            "generator": gen.cfg.to_dict(),
            "degradation": deg.to_dict(),
            "train": {"preset": "custom", "epochs": 1, "batch_size": 4, "lr": 2e-4, "seed": 0, **train},
        },
        "epoch": 1,
        "step": 10,
        "rng": {},
        "metrics": {"l1": 0.1},
        "version": 1,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    return path


def synth_batch(n: int, side: int, seed: int = 0) -> np.ndarray:
    from seeing.synth import KINDS, make_image

    return np.stack([make_image(KINDS[i % len(KINDS)], seed, i, side) for i in range(n)])


def trained_generator(
    cfg: GeneratorConfig, deg: DegradeParams, steps: int = 40, seed: int = 0, up: str = "transpose"
) -> Generator:
    """A generator trained with L1 for a few Adam steps on synth images (BatchNorm statistics become real)."""
    from seeing.degrade import training_pair

    torch.manual_seed(seed)
    gen = Generator(cfg, up=up)
    opt = torch.optim.Adam(gen.parameters(), 2e-3, betas=(0.5, 0.999))
    images = (
        torch.from_numpy(synth_batch(16, cfg.resolution + cfg.resolution // 4, seed)).permute(0, 3, 1, 2).float() / 255
    )
    g = torch.Generator().manual_seed(seed)
    gen.train()
    for _ in range(steps):
        idx = torch.randint(0, len(images), (4,), generator=g)
        inp, target = training_pair(images[idx], deg, g)
        loss = (gen(inp) - target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return gen.eval()
