"""The generator's extra training terms: the low-pass term and the spectral term."""

import torch
import torch.nn.functional as F

from seeing.degrade import DegradeParams, blur_matrix
from seeing.train import lowpass, spectral_loss


def textured(seed: int, n: int = 4, size: int = 64) -> torch.Tensor:
    """Natural-looking images: 1/f noise in [-1, 1], (n, 3, size, size)."""
    g = torch.Generator().manual_seed(seed)
    ky = torch.fft.fftfreq(size)[:, None]
    kx = torch.fft.fftfreq(size)[None, :]
    amp = 1 / torch.sqrt(ky**2 + kx**2).clamp_min(1 / size)
    phase = torch.rand(n, 3, size, size, generator=g) * 6.2832
    img = torch.fft.ifft2(amp * torch.exp(1j * phase)).real
    return (img / img.abs().amax(dim=(2, 3), keepdim=True)).float()


def test_spectral_loss_is_zero_on_the_targets_and_placement_free():
    t = textured(0)
    assert spectral_loss(t, t).item() == 0.0
    shifted = torch.roll(t, (13, 29), dims=(2, 3))  # same spectrum, texture elsewhere
    assert spectral_loss(shifted, t).item() < 1e-5


def test_spectral_loss_sees_blur_and_streaks():
    t = textured(1)
    other = textured(2)  # another image of the same kind: a small distance
    base = spectral_loss(other, t).item()
    blurred = F.avg_pool2d(other, 5, 1, 2)
    streaked = other.clone()
    streaked[:, :, ::8, :] += 0.4  # horizontal lines every 8 px: power on the vertical axis at k = 8, 16, 24, 32
    assert spectral_loss(blurred, t).item() > 3 * base
    assert spectral_loss(streaked, t).item() > 1.5 * base


def test_spectral_loss_gradient_adds_detail():
    t = textured(3)
    x = F.avg_pool2d(textured(4), 5, 1, 2).requires_grad_()
    opt = torch.optim.Adam([x], 1e-2)
    first = spectral_loss(x, t).item()
    for _ in range(30):
        opt.zero_grad()
        spectral_loss(x, t).backward()
        opt.step()
    assert spectral_loss(x, t).item() < 0.5 * first


def test_lowpass_is_the_live_degradation_of_luma():
    deg = DegradeParams(resolution=64, grid=8)
    blur = torch.from_numpy(blur_matrix(64, deg)).float()
    flat = torch.full((1, 3, 64, 64), 0.25)
    assert torch.allclose(lowpass(flat, blur), torch.full((1, 64, 64), 0.25), atol=1e-5)
