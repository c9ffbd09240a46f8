"""The pix2pix U-Net generator and the PatchGAN discriminator as torch modules."""
from __future__ import annotations

import torch
from torch import nn

from .arch import DISC_WIDTH, PRESETS, GeneratorConfig, layer_shapes, macs, preset_config  # noqa: F401

class Down(nn.Module):
    """Conv 4x4 stride 2 (no bias) -> BatchNorm (not on the first layer) -> LeakyReLU."""

    def __init__(self, cin: int, cout: int, norm: bool, slope: float, eps: float):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 4, 2, 1, bias=False)
        self.norm = nn.BatchNorm2d(cout, eps=eps) if norm else nn.Identity()
        self.act = nn.LeakyReLU(slope)

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class Up(nn.Module):
    """ConvTranspose 4x4 stride 2 (no bias) -> BatchNorm -> dropout (optional) -> ReLU."""

    def __init__(self, cin: int, cout: int, dropout: float, eps: float):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)
        self.norm = nn.BatchNorm2d(cout, eps=eps)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.drop(self.norm(self.conv(x))))


class Generator(nn.Module):
    """U-Net generator: (B, in, R, R) in [-1, 1] -> (B, out, R, R) in [-1, 1]."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.cfg = cfg
        d, u = cfg.down, cfg.up
        self.down = nn.ModuleList(
            Down(cfg.in_channels if i == 0 else d[i - 1], d[i], i > 0, cfg.leaky_slope, cfg.bn_eps) for i in range(len(d)))
        ups = []
        cin = d[-1]
        for i, cout in enumerate(u):
            ups.append(Up(cin, cout, cfg.dropout if i < cfg.dropout_layers else 0.0, cfg.bn_eps))
            cin = cout + d[-2 - i]  # concatenated with the mirrored down layer
        self.up = nn.ModuleList(ups)
        self.final = nn.ConvTranspose2d(cin, cfg.out_channels, 4, 2, 1, bias=True)

    def forward(self, x):  # (B, in, R, R)
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        skips = skips[:-1][::-1]  # mirrored: the deepest skip first
        for layer, skip in zip(self.up, skips):
            x = torch.cat([layer(x), skip], dim=1)
        return torch.tanh(self.final(x))  # (B, out, R, R)


class PatchGAN(nn.Module):
    """The pix2pix 70x70 PatchGAN on (input, image) pairs: (B, in+out, R, R) -> (B, 1, R/8-2, R/8-2) logits."""

    def __init__(self, in_channels: int = 4, width: int = 64):
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, w, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * w), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * w, 8 * w, 4, 1, 1, bias=False), nn.BatchNorm2d(8 * w), nn.LeakyReLU(0.2),
            nn.Conv2d(8 * w, 1, 4, 1, 1),
        )

    def forward(self, inp, img):
        return self.net(torch.cat([inp, img], dim=1))
