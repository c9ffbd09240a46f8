"""What a viewer sees: each measure finds what is planted in natural-looking images and moves the right way."""

import numpy as np
import pytest

from seeing.degrade import DegradeParams, degrade_frame
from seeing.measures import LATTICE_K, band_power, colour_distance, detail, input_fidelity, lattice, worst_lattice
from seeing.synth import blur, make_image


@pytest.fixture(scope="module")
def natural():
    """(12, 256, 256, 3) floats: procedural images with natural 1/f spectra."""
    return np.stack([make_image(k, 3, i) for i in range(6) for k in ("nebula", "marble")]).astype(np.float64) / 255


def plant(images, period: int, amplitude: float, axis: int = 2) -> np.ndarray:
    """Add a grid of lines of this period (pixels) and amplitude (0-1 units) along one axis."""
    n = images.shape[axis]
    wave = amplitude * np.cos(2 * np.pi * np.arange(n) / period)
    shape = [1, 1, 1, 1]
    shape[axis] = n
    return np.clip(images + wave.reshape(shape), 0, 1)


def test_natural_images_have_no_lattice(natural):
    ratios = lattice(natural)
    assert set(ratios) == set(LATTICE_K)
    assert all(0.3 < r < 2.0 for r in ratios.values()), ratios


@pytest.mark.parametrize("period,k", [(2, 128), (4, 64), (8, 32), (16, 16), (32, 8)])
def test_planted_lattice_is_found_at_its_k(natural, period, k):
    weak, strong = plant(natural, period, 0.01), plant(natural, period, 0.05, axis=1)
    r_weak, r_strong = lattice(weak), lattice(strong)
    assert worst_lattice(r_strong) == (k, r_strong[k])
    assert r_strong[k] > r_weak[k] > 1.1 and r_strong[k] > 3
    others = [r for kk, r in r_strong.items() if kk != k and kk != 2 * k and kk * 2 != k]
    assert all(r < 2.5 for r in others), r_strong


def test_lattice_scales_with_image_size(natural):
    """At 512 px the same k counts cycles per 256 px: a 4 px grid is still k = 64."""
    big = np.repeat(np.repeat(natural[:4], 2, axis=1), 2, axis=2)
    r = lattice(plant(big, 4, 0.05))
    assert worst_lattice(r)[0] == 64


def test_detail_sees_blur_and_ignores_axis_lines(natural):
    assert detail(natural, natural) == pytest.approx(1.0)
    blurred = np.stack([blur(im, 2.0) for im in natural])
    assert detail(blurred, natural) < 0.2
    assert detail(np.stack([blur(im, 0.7) for im in natural]), natural) > detail(blurred, natural)
    # lines along the axes (a lattice) add no "detail"
    assert band_power(plant(natural, 4, 0.05)) == pytest.approx(band_power(natural), rel=0.02)


def test_colour_distance_sees_one_hue(natural):
    natural = natural[::3]  # two of each kind: each distance sorts 64 projections of every pixel
    assert colour_distance(natural, natural) == pytest.approx(0.0, abs=1e-9)
    purple = np.broadcast_to(natural.mean(axis=(0, 1, 2)), natural.shape) * 0 + np.array([0.5, 0.2, 0.6])
    shifted = np.clip(natural + 10 / 255, 0, 1)
    d_shift, d_purple = colour_distance(shifted, natural), colour_distance(purple, natural)
    assert 2 < d_shift < 12
    assert d_purple > 3 * d_shift
    # symmetric, and uint8 input is read as 0-255
    assert colour_distance(natural, shifted) == pytest.approx(d_shift)
    as_u8 = (natural * 255 + 0.5).astype(np.uint8)
    assert colour_distance(as_u8, natural) < 0.5


def test_input_fidelity_follows_the_input(natural):
    params = DegradeParams()
    u8 = (natural * 255 + 0.5).astype(np.uint8)
    inputs = np.stack([degrade_frame(im, params) for im in u8])  # what the model was given
    same = input_fidelity(natural, inputs, params)
    assert same > 45
    darker = input_fidelity(natural * 0.8, inputs, params)
    flat = input_fidelity(np.full_like(natural, natural.mean()), inputs, params)
    inverted = input_fidelity(1 - natural, inputs, params)
    assert same > darker > 15 and darker > flat > inverted
    # fine detail the degradation averages away does not lower fidelity
    noisy = np.clip(natural + np.random.default_rng(0).normal(0, 0.05, natural.shape), 0, 1)
    assert input_fidelity(noisy, inputs, params) > 35
