"""Generator presets: the paper's exact parameter counts through `seeing info`, PyTorch's own count, and
multiply-accumulates against a hook-based count on the torch model."""

from __future__ import annotations

import json

import pytest
import torch

from seeing.arch import PRESETS, GeneratorConfig, macs, param_counts, preset_config
from seeing.nets import Generator, PatchGAN

from conftest import run_cli

PAPER = {"small": 6_297_491, "medium": 16_786_211, "large": 54_423_811}
TORCH_TRAINABLE = {"small": 6_294_443, "medium": 16_781_139, "large": 54_412_931}
MACS_G = {"small": 0.05, "medium": 0.17, "large": 6.0}  # DESIGN's rounded figures


def hook_macs(gen: torch.nn.Module, resolution: int) -> int:
    """MACs of one forward pass counted by hooks: a conv on its output grid, a transposed conv on its input grid."""
    total = 0

    def hook(mod, inputs, output):
        nonlocal total
        k = mod.kernel_size[0] * mod.kernel_size[1]
        if isinstance(mod, torch.nn.ConvTranspose2d):
            total += inputs[0].shape[2] * inputs[0].shape[3] * mod.in_channels * mod.out_channels * k
        else:
            total += output.shape[2] * output.shape[3] * mod.in_channels * mod.out_channels * k

    for m in gen.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            m.register_forward_hook(hook)
    gen.eval()(torch.zeros(1, gen.cfg.in_channels, resolution, resolution, device="meta"))
    return total


@pytest.mark.parametrize("preset", list(PRESETS))
def test_info_json_exact_counts(preset):
    r = run_cli("info", preset, "--json")
    assert r.returncode == 0, r.stderr
    facts = json.loads(r.stdout)
    assert facts["params"] == PAPER[preset]
    assert facts["trainable"] == TORCH_TRAINABLE[preset]
    with torch.device("meta"):
        gen = Generator(preset_config(preset))
    assert facts["trainable"] == sum(p.numel() for p in gen.parameters() if p.requires_grad)
    running = sum(b.numel() for n, b in gen.named_buffers() if n.endswith(("running_mean", "running_var")))
    assert facts["params"] == facts["trainable"] + running  # Keras' Total params
    assert facts["macs"] == hook_macs(gen, 256)
    assert facts["macs"] / 1e9 == pytest.approx(MACS_G[preset], rel=0.05)


@pytest.mark.parametrize(
    "down,up",
    [
        ([4, 8, 16, 32, 64, 128, 256], [128, 64, 32, 16, 8, 4]),
        ([3, 5, 7, 9, 11, 13, 15, 17, 19], [17, 15, 13, 11, 9, 7, 5, 3]),
    ],
)
def test_custom_widths(down, up):
    cfg = GeneratorConfig(down=down, up=up, resolution=2 ** len(down))
    r = run_cli("info", "--down-filters", ",".join(map(str, down)), "--up-filters", ",".join(map(str, up)), "--json")
    assert r.returncode == 0, r.stderr
    facts = json.loads(r.stdout)
    assert facts["preset"] == "custom" and facts["resolution"] == cfg.resolution
    with torch.device("meta"):
        gen = Generator(cfg)
    assert facts["trainable"] == sum(p.numel() for p in gen.parameters()) == param_counts(cfg)["trainable"]
    assert facts["macs"] == hook_macs(gen, cfg.resolution) == macs(cfg)


def test_generator_shapes_and_patchgan():
    cfg = GeneratorConfig(down=[4] * 7, up=[4] * 6, resolution=128)
    gen = Generator(cfg).eval()
    y = gen(torch.rand(2, 1, 128, 128) * 2 - 1)
    assert y.shape == (2, 3, 128, 128) and y.abs().max() <= 1
    d = PatchGAN(4, 8)
    assert d(torch.zeros(2, 1, 256, 256), torch.zeros(2, 3, 256, 256)).shape == (2, 1, 30, 30)  # 70x70 patches
    # pix2pix's n_layers=3 PatchGAN on RGB pairs (input_nc 6) has 2,768,705 parameters; ours takes grey + RGB
    assert sum(p.numel() for p in PatchGAN(6, 64).parameters()) == 2_768_705
    assert sum(p.numel() for p in PatchGAN(4, 64).parameters()) == 2_768_705 - 2 * 64 * 16
