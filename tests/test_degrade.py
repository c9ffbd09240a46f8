"""The degradation: P and U against torch's adaptive_avg_pool2d and bicubic interpolate, hand-computed
weights, the brightness/contrast formula, seeded training pairs, and numpy == torch for live frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seeing.degrade import (
    DegradeParams,
    augment,
    bicubic_matrix,
    blur_matrix,
    degrade,
    degrade_frame,
    degrade_live,
    pool_matrix,
    training_pair,
)


@pytest.mark.parametrize("src,dst", [(256, 11), (333, 11), (480, 11), (100, 7), (13, 5), (11, 11), (64, 3)])
def test_pool_matrix_is_adaptive_avg_pool(src, dst):
    x = torch.rand(2, 1, src, src, dtype=torch.float64)
    p = torch.from_numpy(pool_matrix(src, dst))
    torch.testing.assert_close(p @ x @ p.T, F.adaptive_avg_pool2d(x, dst), rtol=0, atol=1e-13)


@pytest.mark.parametrize("src,dst", [(11, 256), (5, 128), (7, 20), (3, 256), (11, 11), (2, 9)])
def test_bicubic_matrix_is_torch_bicubic(src, dst):
    x = torch.rand(2, 1, src, src, dtype=torch.float64)
    u = torch.from_numpy(bicubic_matrix(src, dst))
    ref = F.interpolate(x, size=(dst, dst), mode="bicubic", align_corners=False)
    torch.testing.assert_close(u @ x @ u.T, ref, rtol=0, atol=1e-13)


def test_hand_computed_matrices():
    np.testing.assert_array_equal(pool_matrix(5, 2), [[1 / 3, 1 / 3, 1 / 3, 0, 0], [0, 0, 1 / 3, 1 / 3, 1 / 3]])
    # 2 -> 4 with A = -0.75: cubic(0.25) = 0.87890625, cubic(0.75) = 0.26171875,
    # cubic(1.25) = -0.10546875, cubic(1.75) = -0.03515625; indices past the edge clamp onto it
    expect = [[1.10546875, -0.10546875], [0.7734375, 0.2265625], [0.2265625, 0.7734375], [-0.10546875, 1.10546875]]
    np.testing.assert_allclose(bicubic_matrix(2, 4), expect, rtol=0, atol=1e-15)
    np.testing.assert_allclose(bicubic_matrix(5, 9).sum(axis=1), 1, atol=1e-15)
    assert DegradeParams().grid == 11


def test_constant_colour_gives_its_luma():
    rgb = torch.zeros(1, 3, 64, 64, dtype=torch.float64)
    rgb[:, 0] = 1.0  # pure red
    out = degrade(rgb, DegradeParams(resolution=32, grid=4))
    assert out.shape == (1, 1, 32, 32)
    torch.testing.assert_close(out, torch.full_like(out, 0.299 * 2 - 1), rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
def test_brightness_contrast_formula(dtype, tol):
    params = DegradeParams(resolution=64, grid=5)
    rgb = torch.rand(3, 3, 80, 80, dtype=dtype)
    rgb[2] = torch.linspace(0, 1, 80, dtype=dtype)  # a ramp, so contrast 3 pushes both ends out of range
    x = (degrade(rgb, params) + 1) / 2  # neutral: the blurred luma itself
    b = torch.tensor([1.2, 0.8, 1.0], dtype=dtype)
    c = torch.tensor([0.85, 1.15, 3.0], dtype=dtype)
    y = (degrade(rgb, params, b, c) + 1) / 2
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    ref = (b.view(-1, 1, 1, 1) * ((x - m) * c.view(-1, 1, 1, 1) + m)).clamp(0, 1)
    torch.testing.assert_close(y, ref, rtol=0, atol=tol)
    assert y[2].max() == 1 and y[2].min() == 0  # contrast 3 clips


def test_float32_matches_float64():
    params = DegradeParams()
    rgb = torch.rand(2, 3, 300, 300, dtype=torch.float64)
    torch.testing.assert_close(
        degrade(rgb.float(), params, 1.1, 0.9).double(), degrade(rgb, params, 1.1, 0.9), rtol=0, atol=1e-5
    )


def test_training_pair_is_seeded():
    params = DegradeParams()
    rgb = torch.rand(3, 3, 333, 333)
    a = training_pair(rgb, params, torch.Generator().manual_seed(5))
    b = training_pair(rgb, params, torch.Generator().manual_seed(5))
    c = training_pair(rgb, params, torch.Generator().manual_seed(6))
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    assert not torch.equal(a[1], c[1])
    inp, target = a
    assert inp.shape == (3, 1, 256, 256) and target.shape == (3, 3, 256, 256)
    assert target.min() >= -1 and target.max() <= 1 and inp.min() >= -1 and inp.max() <= 1
    # the input is the deterministic degradation of the target with b, c drawn after the augmentation
    g = torch.Generator().manual_seed(5)
    t = augment(rgb, params, g)
    bright = 0.8 + 0.4 * torch.rand(3, generator=g)
    contr = 0.85 + 0.3 * torch.rand(3, generator=g)
    torch.testing.assert_close(target, t * 2 - 1, rtol=0, atol=0)
    torch.testing.assert_close(inp, degrade(t, params, bright, contr), rtol=0, atol=0)
    assert ((bright >= 0.8) & (bright <= 1.2)).all()


def test_no_flip_and_full_scale_is_a_crop():
    params = DegradeParams(resolution=16, grid=3, scale_range=(1.0, 1.0), flip="none")
    rgb = torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(augment(rgb, params, torch.Generator().manual_seed(0)), rgb)


@pytest.mark.parametrize("h,w", [(48, 64), (100, 75), (256, 256), (480, 640)])
@pytest.mark.parametrize("bc", [(1.0, 1.0), (1.15, 0.9)])
def test_degrade_frame_equals_degrade_live(h, w, bc):
    params = DegradeParams()
    frames = np.random.default_rng(h * w).integers(0, 256, (2, h, w, 3), dtype=np.uint8)
    live = degrade_live(torch.from_numpy(frames), params, *bc)
    assert live.shape == (2, 1, 256, 256) and live.dtype == torch.float32
    for i in range(2):
        np.testing.assert_allclose(degrade_frame(frames[i], params, *bc), live[i, 0].numpy(), rtol=0, atol=1e-6)
    # and both are the centre crop pooled straight to the grid, then bicubic up
    top, left, side = (h - min(h, w)) // 2, (w - min(h, w)) // 2, min(h, w)
    crop = torch.from_numpy(frames[:, top : top + side, left : left + side]).permute(0, 3, 1, 2).double() / 255
    grey = (crop * torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)).sum(1, keepdim=True)
    ref = F.interpolate(F.adaptive_avg_pool2d(grey, 11), size=(256, 256), mode="bicubic", align_corners=False)
    if bc == (1.0, 1.0):
        torch.testing.assert_close(live.double(), ref.clamp(0, 1) * 2 - 1, rtol=0, atol=1e-6)


def test_blur_matrix_is_u_times_p():
    p = DegradeParams()
    np.testing.assert_allclose(blur_matrix(300, p), bicubic_matrix(11, 256) @ pool_matrix(300, 11), atol=0)
