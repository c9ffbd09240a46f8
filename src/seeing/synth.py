"""Procedural image sets (`seeing data synth`): textured 256x256 pictures to try everything without data.

numpy only. Image i of kind K with seed S is drawn from its own generator seeded by (S, K, i), so a set
is byte-identical for the same seed and a longer set starts with the images of a shorter one.
Noise is spectral (random phases shaped by a power law, one inverse FFT), so an image takes milliseconds.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

KINDS = ("nebula", "aurora", "waves", "marble")


# ---------------------------------------------------------------- building blocks

def noise(rng: np.random.Generator, size: int, beta: float, aspect: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Tileable (size, size) noise with power spectrum 1/f^beta, zero mean, unit std.

    aspect stretches the frequencies per axis (y, x): (1, 4) gives horizontal streaks.
    """
    fy = np.fft.fftfreq(size)[:, None] * aspect[0]
    fx = np.fft.rfftfreq(size)[None, :] * aspect[1]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    amp = f ** (-beta / 2)
    amp[0, 0] = 0.0
    spec = amp * (rng.standard_normal(f.shape) + 1j * rng.standard_normal(f.shape))
    n = np.fft.irfft2(spec, s=(size, size))
    return (n - n.mean()) / (n.std() + 1e-12)


def noise1d(rng: np.random.Generator, size: int, beta: float) -> np.ndarray:
    """Tileable 1-D noise with power spectrum 1/f^beta, zero mean, unit std."""
    f = np.fft.rfftfreq(size)
    f[0] = 1.0
    amp = f ** (-beta / 2)
    amp[0] = 0.0
    n = np.fft.irfft(amp * (rng.standard_normal(f.shape) + 1j * rng.standard_normal(f.shape)), n=size)
    return (n - n.mean()) / (n.std() + 1e-12)


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur (wrapping at the edges) of (H, W) or (H, W, C) through the FFT."""
    h, w = img.shape[:2]
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    g = np.exp(-2 * (np.pi * sigma) ** 2 * (fx * fx + fy * fy))
    if img.ndim == 3:
        g = g[..., None]
    return np.fft.irfft2(np.fft.rfft2(img, axes=(0, 1)) * g, s=(h, w), axes=(0, 1))


def sample(field: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Bilinear lookup of a tileable (N, N) field at float coordinates, wrapping around."""
    n = field.shape[0]
    y0, x0 = np.floor(y), np.floor(x)
    ty, tx = y - y0, x - x0
    y0, x0 = y0.astype(np.int64) % n, x0.astype(np.int64) % n
    y1, x1 = (y0 + 1) % n, (x0 + 1) % n
    top = field[y0, x0] * (1 - tx) + field[y0, x1] * tx
    bottom = field[y1, x0] * (1 - tx) + field[y1, x1] * tx
    return top * (1 - ty) + bottom * ty


def stars(rng: np.random.Generator, size: int, count: int, glow: float = 1.0) -> np.ndarray:
    """(size, size) star field: points with a power-law brightness, a tight core and a soft glow."""
    field = np.zeros((size, size))
    ys, xs = rng.integers(0, size, count), rng.integers(0, size, count)
    np.add.at(field, (ys, xs), rng.pareto(2.2, count) * 0.6 + 0.15)
    return blur(field, 0.6) * 3.0 + blur(field, 2.5 * glow) * 4.0 * glow


def cosine_palette(t: np.ndarray, a, b, c, d) -> np.ndarray:
    """Inigo Quilez's palette a + b cos(2 pi (c t + d)), per channel: (..., 3)."""
    t = t[..., None]
    return np.asarray(a) + np.asarray(b) * np.cos(2 * np.pi * (np.asarray(c) * t + np.asarray(d)))


def tonemap(rgb: np.ndarray, exposure: float = 1.0) -> np.ndarray:
    """Soft highlight roll-off and display gamma, then uint8."""
    y = 1.0 - np.exp(-np.maximum(rgb, 0) * exposure)
    return (np.clip(y, 0, 1) ** (1 / 1.15) * 255 + 0.5).astype(np.uint8)


def _hue(rng: np.random.Generator, choices) -> np.ndarray:
    base = np.asarray(choices[rng.integers(len(choices))], float)
    return np.clip(base + rng.normal(0, 0.06, 3), 0, 1)


# ---------------------------------------------------------------- the kinds

def nebula(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """Coloured gas clouds with dark dust lanes and a star field."""
    hues = [(0.9, 0.25, 0.75), (0.2, 0.55, 1.0), (1.0, 0.45, 0.15), (0.25, 0.95, 0.85), (0.95, 0.2, 0.3),
            (0.55, 0.35, 1.0)]
    img = np.zeros((size, size, 3))
    shape = noise(rng, size, 3.2)  # the large-scale form every layer shares
    for _ in range(rng.integers(2, 4)):
        n = 0.7 * shape + 0.55 * noise(rng, size, 2.6) + 0.25 * noise(rng, size, 1.7)
        density = np.exp(1.3 * n - rng.uniform(1.0, 1.8))
        img += density[..., None] * _hue(rng, hues) * rng.uniform(0.5, 1.0)
    dust = noise(rng, size, 2.3) + 0.3 * noise(rng, size, 1.5)
    img *= (1 - 0.85 / (1 + np.exp(-4 * (dust - rng.uniform(0.3, 0.9)))))[..., None]
    img += stars(rng, size, int(rng.integers(150, 450)))[..., None] * np.array([0.95, 0.95, 1.0])
    return tonemap(img, rng.uniform(1.1, 1.6))


def aurora(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """Night sky with rayed green and violet curtains above a dark ridge of hills."""
    y = np.linspace(0, 1, size)[:, None]
    x = np.arange(size)
    sky_top, sky_low = np.array([0.01, 0.02, 0.06]), np.array([0.03, 0.09, 0.16]) * rng.uniform(0.6, 1.3)
    img = (sky_top + (sky_low - sky_top) * y[..., None] ** 1.5) * np.ones((size, size, 3))
    img += stars(rng, size, int(rng.integers(80, 250)), glow=0.5)[..., None] * 0.6
    low, high = np.array([0.15, 1.0, 0.45]), _hue(rng, [(0.8, 0.2, 0.7), (0.5, 0.3, 1.0), (0.95, 0.25, 0.35)])
    for _ in range(rng.integers(1, 4)):
        base = rng.uniform(0.35, 0.7) + rng.uniform(0.04, 0.12) * noise1d(rng, size, 3.0)  # the curtain's lower edge
        shift = rng.uniform(4, 14) * noise1d(rng, size, 2.5)
        rays = noise1d(rng, size * 4, 1.2)  # fine vertical rays, sheared along the curtain
        t = base[None, :] - y  # height above the lower edge
        xs = (x[None, :] + shift[None, :] + 40 * t) * 4
        ray = 0.55 + 0.45 * np.tanh(1.2 * rays[np.round(xs).astype(np.int64) % (size * 4)])
        height = rng.uniform(0.12, 0.35)
        profile = np.where(t >= 0, np.exp(-t / height), np.exp(t / 0.012))
        inten = profile * ray * rng.uniform(0.8, 1.6)
        mix = np.clip(t / (height * 1.5), 0, 1)[..., None]
        img += inten[..., None] * (low * (1 - mix) + high * mix)
    ridge = rng.uniform(0.72, 0.9) + 0.05 * noise1d(rng, size, 2.8) + 0.006 * noise1d(rng, size, 0.8)
    land = y > ridge[None, :]
    img[land] = img[land] * 0.05 + np.array([0.005, 0.01, 0.02])
    return tonemap(img, rng.uniform(1.3, 1.9))


def waves(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """A sea at dusk in perspective: a glowing sky with streaky clouds, the sun's glitter on the waves."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    horizon = rng.uniform(0.32, 0.5)
    sun_x, sun_y = rng.uniform(0.2, 0.8), horizon - rng.uniform(0.03, 0.2)
    warm, cool = _hue(rng, [(1.0, 0.55, 0.2), (1.0, 0.35, 0.3), (1.0, 0.75, 0.4)]), np.array([0.2, 0.15, 0.45])
    h = np.clip((horizon - yy) / horizon, 0, 1)[..., None]
    sky = warm * (1 - h) ** 2 + cool * (0.3 + 0.7 * h) * 0.6
    d2 = (xx - sun_x) ** 2 + (yy - sun_y) ** 2
    sky = sky + (np.exp(-d2 / 0.0006) * 3 + np.exp(-d2 / 0.02) * 0.8)[..., None] * warm
    clouds = noise(rng, size, 2.6, aspect=(1.0, 5.0))
    cover = np.clip(clouds - rng.uniform(0.0, 0.8), 0, None)[..., None]
    sky = sky * (1 - 0.6 * np.tanh(cover)) + cover * 0.25 * warm
    # The sea: each row below the horizon looks at a strip of tileable wave texture further away.
    tex = noise(rng, 512, 4.0, aspect=(3.0, 1.0)) + 0.3 * noise(rng, 512, 3.0, aspect=(2.0, 1.0))
    depth = 1.0 / np.maximum(yy - horizon, 1e-3)
    u = (xx - 0.5) * depth * 60
    v = depth * 14 + 3.0
    far = np.clip((yy - horizon) * 8, 0.15, 1)  # fewer waves resolved towards the horizon
    hgt = sample(tex, v * 3, u * 3) * far
    slope = (hgt - sample(tex, v * 3 + 1.5, u * 3) * far) * 3
    fade = np.clip((yy - horizon) * 6, 0, 1)[..., None]
    water = np.array([0.02, 0.08, 0.12]) * (1 + 0.4 * hgt[..., None])
    refl = np.clip(0.5 + 0.8 * slope, 0, None)[..., None] * (warm * 0.35 + cool * 0.2) * (0.4 + fade)
    glitter = np.exp(-((xx - sun_x) ** 2) / (0.004 + 0.05 * (yy - horizon) ** 2)) * np.clip(slope, 0, None) ** 2
    sea = water + refl * (1 - 0.7 * fade) + glitter[..., None] * warm * 4
    img = np.where((yy > horizon)[..., None], sea, sky)
    return tonemap(img, rng.uniform(1.2, 1.8))


def marble(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """Domain-warped bands like agate or polished marble, with a random cosine palette."""
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    w1, w2 = noise(rng, size, 4.5), noise(rng, size, 4.5)
    detail = noise(rng, size, 3.6)
    k = rng.uniform(2.0, 5.0)
    warped = sample(detail, yy + 18 * w1, xx + 18 * w2)
    angle = rng.uniform(0, np.pi)
    t = np.sin(2 * np.pi * k * (xx * np.cos(angle) + yy * np.sin(angle)) / size + 3.0 * w1 + 1.5 * warped)
    t = 0.5 + 0.5 * t
    veins = np.exp(-((t - rng.uniform(0.2, 0.8)) ** 2) / 0.002)
    pal = cosine_palette(t * rng.uniform(0.5, 1.0) + 0.15 * warped, rng.uniform(0.35, 0.55, 3),
                         rng.uniform(0.3, 0.5, 3), rng.uniform(0.6, 1.2, 3), rng.uniform(0, 1, 3))
    img = np.clip(pal, 0, 1) * (0.85 + 0.15 * np.tanh(noise(rng, size, 2.4)))[..., None] + veins[..., None] * 0.35
    return (np.clip(img, 0, 1) ** 1.1 * 255 + 0.5).astype(np.uint8)


GENERATORS = {"nebula": nebula, "aurora": aurora, "waves": waves, "marble": marble}


def make_image(kind: str, seed: int, index: int, size: int = 256) -> np.ndarray:
    """Image `index` of a set: (size, size, 3) uint8, a pure function of (kind, seed, index, size)."""
    if kind not in GENERATORS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, KINDS.index(kind), int(index)])
    return GENERATORS[kind](rng, size)


def png_bytes(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def write_set(out: str | Path, kind: str, n: int, seed: int = 0, size: int = 256, progress: bool = True) -> list[Path]:
    """Write `n` images `OUT/{kind}_{i:05d}.png` (each atomically); returns their paths."""
    from tqdm import tqdm

    from .files import atomic_write

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in tqdm(range(n), desc=f"synth {kind}", unit="img", disable=not progress, leave=False):
        path = out / f"{kind}_{i:05d}.png"
        atomic_write(path, [png_bytes(make_image(kind, seed, i, size))])
        paths.append(path)
    return paths
