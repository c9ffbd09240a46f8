"""Synth worlds (`seeing data synth`): byte-identical for a seed, every kind a textured 256x256 picture with
coarse bright and dark regions, and colour statistics that identify each world."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from seeing.synth import KINDS, NEBULA_PALETTES, make_image, write_set

from conftest import run_cli


def luminance(img: np.ndarray) -> np.ndarray:
    return img.astype(float) @ np.array([0.299, 0.587, 0.114])


def world(kind: str, n: int = 8, **options) -> list[np.ndarray]:
    """n images of a kind from two seeds, as float RGB."""
    return [make_image(kind, seed, i, **options).astype(float) for seed in (0, 1) for i in range(n // 2)]


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_per_seed(tmp_path, kind):
    a = write_set(tmp_path / "a", kind, 2, seed=5, size=64, progress=False)
    b = write_set(tmp_path / "b", kind, 2, seed=5, size=64, progress=False)
    c = write_set(tmp_path / "c", kind, 2, seed=6, size=64, progress=False)
    for pa, pb, pc in zip(a, b, c):
        assert pa.read_bytes() == pb.read_bytes()
        assert pa.read_bytes() != pc.read_bytes()
    img = np.asarray(Image.open(io.BytesIO(a[1].read_bytes())))
    np.testing.assert_array_equal(img, make_image(kind, 5, 1, 64))


def test_kinds_differ_and_have_coarse_structure():
    """What pix2pix sees is an 11x11 grey blur: each world needs bright and dark regions at that scale."""
    imgs = {k: make_image(k, 0, 0) for k in KINDS}
    for k, img in imgs.items():
        assert img.shape == (256, 256, 3) and img.dtype == np.uint8, k
        lum = luminance(img)
        assert np.percentile(lum, 95) - np.percentile(lum, 5) > 90, k  # a real luminance spread
        assert np.abs(np.diff(img.astype(float), axis=1)).mean() > 1.0, k  # texture at the pixel scale
    for k in KINDS:
        for img in world(k, 4):
            cells = luminance(img)[:253, :253].reshape(23, 11, 23, 11).mean(axis=(1, 3))
            assert cells.std() > 10, k
    for i, a in enumerate(KINDS):
        for b in KINDS[i + 1 :]:
            assert np.abs(imgs[a].astype(float) - imgs[b]).mean() > 10, (a, b)


def test_waves_dark_blue_water_and_white_foam():
    for img in world("waves"):
        lum = luminance(img)
        r, g, b = img[lum < np.percentile(lum, 25)].mean(axis=0)
        assert b > r + 8 and g > r + 5, (r, g, b)  # the dark water is blue-green
        foam = img[lum > 200]
        assert len(foam) > 0.01 * lum.size  # there are whitecaps
        assert (foam.min(axis=1) / foam.max(axis=1)).mean() > 0.8  # and they are near white, not tinted


def test_clouds_blue_sky_and_white_cloud():
    for img in world("clouds"):
        r, g, b = np.median(img[:20].reshape(-1, 3), axis=0)
        assert b > r + 80 and b > g + 40, (r, g, b)  # the sky at the top is blue
        lum = luminance(img)
        bright = img[lum >= np.percentile(lum, 98)]
        assert bright.min() > 200, bright.min(axis=0)  # the brightest part is white cloud


def test_flowers_green_leaves_and_warm_petals():
    for img in world("flowers"):
        r, g, b = np.moveaxis(img, -1, 0)
        top, bottom = img.max(axis=2), img.min(axis=2)
        saturated = (top - bottom) > 0.5 * top
        assert ((g > r) & (g > b)).mean() > 0.08  # leaves
        assert (saturated & (r == top) & (top > 120)).mean() > 0.15  # red, pink, orange and yellow petals
        assert (saturated & (b == top) & (top > 120)).mean() < 0.01  # and no blue ones


def test_nebula_keeps_one_palette_unless_asked():
    def chroma(imgs):  # mean colour of the gas (bright pixels) of each image, as fractions of its sum
        means = np.array([img[luminance(img) > 60].mean(axis=0) for img in imgs])
        return means / means.sum(axis=1, keepdims=True)

    hubble = chroma(world("nebula", 12))
    assert np.array_equal(world("nebula", 2)[0], world("nebula", 2, palette="hubble")[0])  # the default
    random = chroma(world("nebula", 12, palette="random"))
    assert hubble.std(axis=0).max() < 0.045 and random.std(axis=0).max() > 0.055
    assert (hubble[:, 2] > hubble[:, 1]).all()  # never a green- or orange-dominated gas
    assert set(NEBULA_PALETTES) == {"hubble", "random"}
    with pytest.raises(ValueError, match="palette"):
        make_image("waves", 0, 0, palette="random")
    with pytest.raises(ValueError, match="palette"):
        make_image("nebula", 0, 0, palette="sepia")


def test_synth_cli(tmp_path):
    r = run_cli(
        "data", "synth", tmp_path / "s", "--kind", "nebula", "--palette", "random", "-n", 3, "--seed", 1, "--size", 32
    )
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [f"nebula_{i:05d}.png" for i in range(3)]
    img = np.asarray(Image.open(tmp_path / "s" / "nebula_00002.png"))
    np.testing.assert_array_equal(img, make_image("nebula", 1, 2, 32, palette="random"))
    r = run_cli("data", "synth", tmp_path / "w", "--kind", "waves", "--palette", "random", "-n", 1)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--palette" in r.stderr, r.stderr
