"""The pix2pix U-Net generator and the PatchGAN discriminator as torch modules."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .arch import GeneratorConfig

# How the up layers are trained: "resize" (nearest 2x upsample + 3x3 conv, expanded exactly into the 4x4
# transposed kernel, so no checkerboard) or "transpose" (the paper's free 4x4 kernels). The model file is the same.
UP_MODES = ("resize", "transpose")

# Row a of EXPAND holds the 3x3 taps that reach tap a of the 4x4 transposed kernel: K = EXPAND W3 EXPANDᵀ.
EXPAND = ((0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (1.0, 1.0, 0.0), (1.0, 0.0, 0.0))


def expand_kernel(w3: torch.Tensor) -> torch.Tensor:
    """(cin, cout, 3, 3) -> (cin, cout, 4, 4): conv_transpose2d(x, K, stride 2, pad 1) equals
    conv2d(nearest_upsample_2x(x), w3.transpose(0, 1), pad 1) exactly."""
    a = torch.tensor(EXPAND, dtype=w3.dtype, device=w3.device)
    return a @ w3 @ a.T


class ResizeConvTranspose2d(nn.Module):
    """A 4x4 stride-2 transposed conv whose kernel is an expanded 3x3 one (Odena et al. 2016: resize-convolution).

    Trains 9 weights per channel pair instead of 16 and cannot make a checkerboard; `weight` is the
    expanded (cin, cout, 4, 4) kernel, so export and every runtime see an ordinary ConvTranspose2d.
    """

    def __init__(self, cin: int, cout: int, bias: bool):
        super().__init__()
        self.weight3 = nn.Parameter(torch.empty(cin, cout, 3, 3))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        nn.init.normal_(self.weight3, 0.0, 0.02)

    @property
    def weight(self) -> torch.Tensor:
        return expand_kernel(self.weight3)

    def forward(self, x):  # (B, cin, H, W) -> (B, cout, 2H, 2W)
        return F.conv_transpose2d(x, self.weight, self.bias, stride=2, padding=1)


def up_conv(cin: int, cout: int, bias: bool, mode: str) -> nn.Module:
    """The up-sampling conv of an up layer or the final layer, trained as `mode` (see UP_MODES)."""
    if mode == "resize":
        return ResizeConvTranspose2d(cin, cout, bias)
    if mode == "transpose":
        return nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=bias)
    raise ValueError(f"unknown up mode {mode!r}; choose one of {', '.join(UP_MODES)}")


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

    def __init__(self, cin: int, cout: int, dropout: float, eps: float, mode: str = "transpose"):
        super().__init__()
        self.conv = up_conv(cin, cout, False, mode)
        self.norm = nn.BatchNorm2d(cout, eps=eps)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.drop(self.norm(self.conv(x))))


class Generator(nn.Module):
    """U-Net generator: (B, in, R, R) in [-1, 1] -> (B, out, R, R) in [-1, 1]; `up` is how the up layers
    and the final layer are trained (UP_MODES)."""

    def __init__(self, cfg: GeneratorConfig, up: str = "transpose"):
        super().__init__()
        self.cfg, self.up_mode = cfg, up
        d, u = cfg.down, cfg.up
        self.down = nn.ModuleList(
            Down(cfg.in_channels if i == 0 else d[i - 1], d[i], i > 0, cfg.leaky_slope, cfg.bn_eps)
            for i in range(len(d))
        )
        ups = []
        cin = d[-1]
        for i, cout in enumerate(u):
            ups.append(Up(cin, cout, cfg.dropout if i < cfg.dropout_layers else 0.0, cfg.bn_eps, up))
            cin = cout + d[-2 - i]  # concatenated with the mirrored down layer
        self.up = nn.ModuleList(ups)
        self.final = up_conv(cin, cfg.out_channels, True, up)

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
            nn.Conv2d(in_channels, w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(4 * w),
            nn.LeakyReLU(0.2),
            nn.Conv2d(4 * w, 8 * w, 4, 1, 1, bias=False),
            nn.BatchNorm2d(8 * w),
            nn.LeakyReLU(0.2),
            nn.Conv2d(8 * w, 1, 4, 1, 1),
        )

    def forward(self, inp, img):
        return self.net(torch.cat([inp, img], dim=1))
