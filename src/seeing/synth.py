"""Procedural worlds (`seeing data synth`): image sets to train on without data, each one world a person
names at a glance (ocean waves, cumulus clouds, flowers, a nebula, an aurora, marble), its colours following its
brightness so a model can learn them from a blurred grey input.

numpy only. Image i of kind K with seed S is drawn from its own generator seeded by (S, K, i), so a set
is byte-identical for the same seed and a longer set starts with the images of a shorter one.
Noise is spectral (random phases shaped by a power law, one inverse FFT), so an image takes milliseconds.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

KINDS = ("nebula", "aurora", "waves", "marble", "clouds", "flowers")


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

# Nebula palettes: the hues each gas layer draws from. "hubble" gives one world (blue haze, magenta cores,
# teal wisps); "random" is any hue for any layer, a different colour scheme per image.
NEBULA_PALETTES = {
    "hubble": [[(0.2, 0.4, 1.0), (0.3, 0.3, 0.95)], [(0.9, 0.22, 0.72), (0.95, 0.3, 0.6)], [(0.2, 0.85, 0.85)]],
    "random": [
        [
            (0.9, 0.25, 0.75),
            (0.2, 0.55, 1.0),
            (1.0, 0.45, 0.15),
            (0.25, 0.95, 0.85),
            (0.95, 0.2, 0.3),
            (0.55, 0.35, 1.0),
        ]
    ]
    * 3,
}


def nebula(rng: np.random.Generator, size: int = 256, palette: str = "hubble") -> np.ndarray:
    """Coloured gas clouds with dark dust lanes and a star field, in one of NEBULA_PALETTES."""
    layers = NEBULA_PALETTES[palette]
    img = np.zeros((size, size, 3))
    shape = noise(rng, size, 3.2)  # the large-scale form every layer shares
    for layer in range(rng.integers(2, 4)):
        n = 0.7 * shape + 0.55 * noise(rng, size, 2.6) + 0.25 * noise(rng, size, 1.7)
        density = np.exp(1.3 * n - rng.uniform(1.0, 1.8))
        img += density[..., None] * _hue(rng, layers[layer]) * rng.uniform(0.5, 1.0)
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


def smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    """0 below lo, 1 above hi, a smooth S between."""
    t = np.clip((x - lo) / (hi - lo), 0, 1)
    return t * t * (3 - 2 * t)


def waves(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """An ocean seen from near the water: dark blue-green swell in perspective, breaking crests with white
    foam and spray, a pale sky above a horizon that may lie above the frame."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    horizon = rng.uniform(-0.3, -0.02) if rng.random() < 0.35 else rng.uniform(0.1, 0.4)
    dy = np.maximum(yy - horizon, 1.5 / size)
    cam = (1 - horizon) * rng.uniform(0.5, 1.0)  # camera height: lower means bigger waves up close
    z, wx = cam / dy, (xx - 0.5) * cam / dy  # distance and sideways position on the sea
    footprint = cam / (dy * dy * size)  # distance one pixel row spans: finer detail fades out instead of aliasing
    sea = yy > horizon
    # The sea's height: sharp-crested swell rolling towards the viewer, warped and roughened by noise.
    n = 512
    swell, chop, warp = (
        noise(rng, n, 3.8, aspect=(1.0, 3.5)),
        noise(rng, n, 2.6, aspect=(1.0, 1.6)),
        noise(rng, 256, 3.5),
    )
    kz, kx = 150.0, 110.0  # texels per unit of sea
    u, v = wx * kx + rng.uniform(0, n), z * kz
    height = 0.6 * sample(swell, v, u) * np.exp(-((footprint * kz / 40) ** 2))
    wavelength, angle = rng.uniform(0.22, 0.4), rng.uniform(-0.3, 0.3)
    for m, (scale, amp) in enumerate(((1.0, 1.0), (0.55, 0.45))):
        a = angle + rng.normal(0, 0.2)
        phase = 2 * np.pi * (z * np.cos(a) + wx * np.sin(a)) / (wavelength * scale) + rng.uniform(0, 6.3)
        phase = phase + 2.0 * sample(warp, z * 60 + 100 * m, wx * 40)
        fade = np.exp(-((footprint / (wavelength * scale)) ** 2) * 30)
        height += 1.6 * amp * fade * ((0.5 + 0.5 * np.cos(phase)) ** 3 - 0.3)
    fine = sample(chop, v * 3.1, u * 3.1) * np.exp(-((footprint * kz * 3.1 / 12) ** 2))
    height = height + 0.3 * fine
    # Whitecaps on the highest crests (a share of the sea that varies by image), lace foam around them.
    crest = height + 0.3 * sample(noise(rng, 256, 3.0), v * 0.3, u * 0.3)
    top = np.quantile(crest[sea], 1 - rng.uniform(0.03, 0.14))
    foam = smoothstep(top - 0.1, top + 0.3, crest + 0.3 * fine)
    ridges = 1 - np.abs(sample(chop, v * 1.3 + 77, u * 1.3))
    lace = smoothstep(0.75, 0.95, ridges) * smoothstep(top - 1.0, top - 0.1, crest) * 0.7
    near = smoothstep(0.0, 0.04, yy - horizon)
    foam = np.clip(foam + lace * np.exp(-((footprint * kz * 1.3 / 10) ** 2)), 0, 1) * near
    # Light: faces turned away from the viewer reflect the pale sky (more at grazing angles), faces turned
    # towards it show the dark water, lit green-blue near the crests.
    sky_low = np.array([0.74, 0.81, 0.85]) * rng.uniform(0.85, 1.05)
    sky_top = np.array([0.3, 0.46, 0.64]) * rng.uniform(0.8, 1.1)
    deep = np.array([0.0, 0.035, 0.07])
    body = np.array([0.02, 0.3, 0.32]) * rng.uniform(0.8, 1.2)
    tilt = np.tanh(np.diff(height, axis=0, prepend=height[:1]) * 4 / np.sqrt(np.maximum(footprint * kz, 0.05)))
    refl = np.clip(0.08 + 0.7 * np.exp(-dy * 8) + 0.25 * tilt, 0, 1)[..., None]
    glow = smoothstep(top - 1.6, top, height)[..., None]
    water = deep + body * glow + refl * sky_low * 0.6
    foam_col = np.array([0.96, 0.97, 0.98]) * (0.82 + 0.18 * np.clip(tilt, -1, 1))[..., None]
    img = water * (1 - foam[..., None]) + foam_col * foam[..., None]
    # Spray: mist blown up from the breaking crests.
    spray = blur(np.roll(foam * smoothstep(top, top + 0.6, crest), -int(size * 0.02), axis=0), size * 0.015)
    img = img + np.clip(spray * 1.5, 0, 0.6)[..., None] * (np.array([0.9, 0.93, 0.95]) - img)
    h = np.clip((horizon - yy) / 0.6, 0, 1)[..., None]
    sky = sky_low + (sky_top - sky_low) * h**0.7
    sky = sky + 0.12 * np.clip(noise(rng, size, 2.8, aspect=(1.0, 4.0)), 0, None)[..., None]
    img = np.where(sea[..., None], img, sky)
    return (np.clip(img, 0, 1) ** (1 / 1.1) * 255 + 0.5).astype(np.uint8)


def clouds(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """A daytime sky of cumulus: a blue gradient, billowy white clouds lit from above with grey undersides."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    top, low = np.array([0.12, 0.33, 0.72]) * rng.uniform(0.85, 1.1), np.array([0.55, 0.72, 0.9])
    sky = top + (low - top) * (yy ** rng.uniform(0.8, 1.6))[..., None]
    # Each cloud: a cluster of soft puffs over a flatter base, roughened by billowy noise.
    density = np.zeros((size, size))
    for _ in range(rng.integers(2, 7)):
        cx, base = rng.uniform(-0.1, 1.1), rng.uniform(0.3, 1.05)
        width = rng.uniform(0.12, 0.45)
        for _ in range(rng.integers(5, 14)):
            px = cx + rng.normal(0, width * 0.45)
            r = rng.uniform(0.35, 1.0) * width * 0.5 * (1 - 0.6 * abs(px - cx) / (width + 1e-3)) + 0.02
            py = base - r * rng.uniform(0.3, 1.2)
            d2 = ((xx - px) ** 2 + np.where(yy > py, 2.2, 1.0) * (yy - py) ** 2) / (r * r)
            density += np.exp(-d2 * 1.6) * smoothstep(base + 0.06, base - 0.01, yy)
    billow = noise(rng, size, 3.0) * 0.7 + noise(rng, size, 2.2) * 0.3
    density = density + 0.3 * billow * smoothstep(0.05, 0.4, density) - rng.uniform(0.3, 0.45)
    alpha = smoothstep(0.0, 0.3, density)
    # Light from the sun above: march a few steps towards it through the (smoothed) cloud; the more cloud
    # lies in the way, the greyer the point, so tops are white and undersides grey.
    thick = blur(np.clip(density, 0, None), size * 0.01)
    sun = np.array([-1.0, rng.uniform(-0.7, 0.7)])
    sun = sun / np.linalg.norm(sun) * size * 0.02
    pad = size // 4
    padded = np.pad(thick, pad)  # no cloud beyond the frame
    depth = np.zeros((size, size))
    for i in range(1, 6):
        dy, dx = np.round(sun * i).astype(int) + pad
        depth += padded[dy : dy + size, dx : dx + size]
    fine = blur(np.clip(density, 0, None), size * 0.004)
    billows = fine - np.roll(fine, (int(-sun[0] * 0.4), int(-sun[1] * 0.4)), axis=(0, 1))  # puffs facing the sun
    lit = np.exp(-depth * rng.uniform(0.15, 0.3)) + 1.2 * billows
    rim = smoothstep(0.3, 0.0, density) * alpha * 0.3  # thin sun-lit edges
    white, shade = np.array([1.0, 0.99, 0.96]), np.array([0.4, 0.45, 0.55])
    cloud = shade + (white - shade) * np.clip(lit + rim, 0, 1)[..., None]
    img = sky * (1 - alpha[..., None]) + cloud * alpha[..., None]
    return (np.clip(img, 0, 1) ** (1 / 1.1) * 255 + 0.5).astype(np.uint8)


def window(size: int, cx: float, cy: float, reach: float) -> tuple[slice, slice]:
    """The rows and columns of a (size, size) image within reach of (cx, cy), all in image widths."""
    lo = lambda c: int(np.clip((c - reach) * size, 0, size))  # noqa: E731
    hi = lambda c: int(np.clip((c + reach) * size + 1, 0, size))  # noqa: E731
    return slice(lo(cy), hi(cy)), slice(lo(cx), hi(cx))


def flowers(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """Close-up of flowers filling the frame: warm petals around yellow or dark centres over green leaves."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    # Foliage: dark green shade with brighter, ribbed leaves.
    img = np.array([0.03, 0.12, 0.03]) * np.ones((size, size, 3))
    for _ in range(rng.integers(8, 16)):
        cx, cy, a = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0, np.pi)
        length, width = rng.uniform(0.15, 0.45), rng.uniform(0.04, 0.1)
        green = np.array([0.1, 0.35, 0.06]) * rng.uniform(0.6, 1.4)
        box = window(size, cx, cy, length)
        dx, dy = xx[box] - cx, yy[box] - cy
        u, w = dx * np.cos(a) + dy * np.sin(a), -dx * np.sin(a) + dy * np.cos(a)
        t = np.clip(u / length, -1, 1)
        leaf = (smoothstep(0.0, 0.01, width * (1 - t * t) - np.abs(w)) * (np.abs(u) < length))[..., None]
        img[box] = img[box] * (1 - leaf) + green * (0.75 + 0.25 * np.cos(w / width * 3))[..., None] * leaf
    img *= (0.7 + 0.3 * np.tanh(noise(rng, size, 2.5)))[..., None]
    petals = [
        (0.95, 0.35, 0.55),
        (0.85, 0.08, 0.12),
        (1.0, 0.78, 0.12),
        (1.0, 0.5, 0.1),
        (0.98, 0.7, 0.8),
        (0.8, 0.15, 0.45),
    ]
    ragged = noise(rng, size, 2.8)
    for _ in range(rng.integers(4, 11)):
        cx, cy = rng.uniform(-0.05, 1.05), rng.uniform(-0.05, 1.05)
        radius = rng.uniform(0.12, 0.45)
        count = int(rng.integers(5, 13))
        colour = np.clip(np.asarray(petals[rng.integers(len(petals))]) + rng.normal(0, 0.05, 3), 0, 1)
        box = window(size, cx + 0.01, cy + 0.015, radius * 1.3)
        dx, dy = xx[box] - cx, yy[box] - cy
        r, theta = np.sqrt(dx * dx + dy * dy) / radius, np.arctan2(dy, dx)
        part = img[box]
        # its shadow on what lies beneath
        part *= 1 - 0.55 * smoothstep(1.25, 0.7, np.sqrt((dx - 0.02) ** 2 + (dy - 0.03) ** 2) / radius)[..., None]
        for layer, (scale, turn) in enumerate(((1.0, 0.0), (0.72, 0.5))):
            phase = count * (theta + rng.uniform(0, 2 * np.pi) / count) / 2 + turn * np.pi
            lobe = np.abs(np.cos(phase))  # 1 along a petal's axis, 0 between petals
            outline = scale * (0.45 + 0.55 * lobe ** rng.uniform(0.4, 1.2)) * (1 + 0.05 * ragged[box])
            petal = smoothstep(0.0, 0.03, outline - r)[..., None]
            shade = (0.55 + 0.45 * smoothstep(0.15, 0.7, r / scale)) * (0.8 + 0.2 * lobe)
            shade = shade * (0.92 + 0.08 * np.cos(theta * count * 5)) * (0.9 + 0.2 * layer)  # fine veins
            part = part * (1 - petal) + colour * shade[..., None] * petal
        eye = smoothstep(0.0, 0.03, rng.uniform(0.15, 0.28) - r)[..., None]
        centre = np.asarray((0.95, 0.72, 0.08) if rng.random() < 0.6 else (0.22, 0.1, 0.03))
        dots = 0.75 + 0.25 * np.cos(r * 60) * np.cos(theta * 21)
        img[box] = part * (1 - eye) + centre * dots[..., None] * eye
    return (np.clip(img, 0, 1) ** (1 / 1.1) * 255 + 0.5).astype(np.uint8)


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
    pal = cosine_palette(
        t * rng.uniform(0.5, 1.0) + 0.15 * warped,
        rng.uniform(0.35, 0.55, 3),
        rng.uniform(0.3, 0.5, 3),
        rng.uniform(0.6, 1.2, 3),
        rng.uniform(0, 1, 3),
    )
    img = np.clip(pal, 0, 1) * (0.85 + 0.15 * np.tanh(noise(rng, size, 2.4)))[..., None] + veins[..., None] * 0.35
    return (np.clip(img, 0, 1) ** 1.1 * 255 + 0.5).astype(np.uint8)


GENERATORS = {
    "nebula": nebula,
    "aurora": aurora,
    "waves": waves,
    "marble": marble,
    "clouds": clouds,
    "flowers": flowers,
}


def make_image(kind: str, seed: int, index: int, size: int = 256, palette: str | None = None) -> np.ndarray:
    """Image `index` of a set: (size, size, 3) uint8, a pure function of (kind, seed, index, size, palette).

    palette chooses among NEBULA_PALETTES (nebula only; None is the kind's own)."""
    if kind not in GENERATORS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    options = {}
    if palette is not None:
        if kind != "nebula" or palette not in NEBULA_PALETTES:
            raise ValueError(f"palette {palette!r} is for --kind nebula, one of {', '.join(NEBULA_PALETTES)}")
        options["palette"] = palette
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, KINDS.index(kind), int(index)])
    return GENERATORS[kind](rng, size, **options)


def png_bytes(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def write_set(
    out: str | Path,
    kind: str,
    n: int,
    seed: int = 0,
    size: int = 256,
    progress: bool = True,
    palette: str | None = None,
) -> list[Path]:
    """Write `n` images `OUT/{kind}_{i:05d}.png` (each atomically); returns their paths."""
    from tqdm import tqdm

    from .files import atomic_write

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in tqdm(range(n), desc=f"synth {kind}", unit="img", disable=not progress, leave=False):
        path = out / f"{kind}_{i:05d}.png"
        atomic_write(path, [png_bytes(make_image(kind, seed, i, size, palette))])
        paths.append(path)
    return paths
