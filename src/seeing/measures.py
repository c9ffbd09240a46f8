"""What a viewer sees, as numbers (numpy only): lattice, input fidelity, detail and colour.

Images are (N, H, W, 3) float arrays in [0, 1] (or uint8, converted); frequencies are in cycles per
256 px, so a 512 px image is measured on the same scale.

- lattice: the power spectrum along the image axes at k = 8, 16, 32, 64, 128, each over the median of
  its neighbours k-6..k+6. Natural images give about 1; a transposed-conv checkerboard gives 5-300.
- psnr: the one PSNR of the project (held-out images, precisions, engines' parity, input fidelity).
- input fidelity: PSNR (dB) between the live degradation of an output and the input the model was given.
- detail: off-axis power in the band 24-120 cycles, outputs over targets (a blurred output is far below 1).
- colour: sliced Wasserstein distance between the RGB distributions of outputs and targets, in 0-255 units.
"""

from __future__ import annotations

import math

import numpy as np

LATTICE_K = (8, 16, 32, 64, 128)
LATTICE_HALF_WIDTH = 6  # neighbours k-6..k+6 (k itself excluded)
DETAIL_BAND = (24, 120)
LUMA = np.array([0.299, 0.587, 0.114])


def _float(images) -> np.ndarray:
    a = np.asarray(images)
    a = a.astype(np.float64) / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"expected (N, S, S, 3) images, got shape {a.shape}")
    return a


def _luma_power(images) -> np.ndarray:
    """Mean 2-D power spectrum (S, S) of the images' luma, mean removed, unshifted FFT order."""
    grey = _float(images) @ LUMA
    grey = grey - grey.mean(axis=(1, 2), keepdims=True)
    return (np.abs(np.fft.fft2(grey)) ** 2).mean(axis=0)


def axis_spectrum(images) -> np.ndarray:
    """Power along the two image axes (mean of the kx and ky axes), indexed by FFT bin 0..S-1."""
    p = _luma_power(images)
    return 0.5 * (p[0, :] + p[:, 0])


def lattice(images) -> dict[int, float]:
    """{k: axis power at k over the median of its neighbours}, k in cycles per 256 px (LATTICE_K)."""
    s = _float(images).shape[1]
    axis = axis_spectrum(images)
    scale = s / 256
    out = {}
    for k in LATTICE_K:
        kk = round(k * scale)
        hw = max(1, round(LATTICE_HALF_WIDTH * scale))
        neighbours = [axis[(kk + d) % s] for d in range(-hw, hw + 1) if d != 0]
        out[k] = float(axis[kk % s] / max(np.median(neighbours), 1e-20))
    return out


def worst_lattice(ratios: dict[int, float]) -> tuple[int, float]:
    """(k, ratio) of the largest lattice ratio."""
    k = max(ratios, key=ratios.get)
    return k, ratios[k]


def band_power(images, band=DETAIL_BAND) -> float:
    """Luma power at radii band[0]..band[1] cycles per 256 px, off the axes (|kx|, |ky| > 1 bin)."""
    s = _float(images).shape[1]
    p = _luma_power(images)
    f = np.fft.fftfreq(s) * 256  # cycles per 256 px
    fy, fx = np.meshgrid(f, f, indexing="ij")
    r = np.hypot(fx, fy)
    step = 256 / s
    mask = (r >= band[0]) & (r <= band[1]) & (np.abs(fx) > step * 1.01) & (np.abs(fy) > step * 1.01)
    return float(p[mask].sum() / s**4)


def detail(outputs, targets) -> float:
    """Off-axis band power of the outputs over that of the targets."""
    return band_power(outputs) / max(band_power(targets), 1e-20)


def colour_distance(outputs, targets, directions: int = 64, quantiles: int = 256, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between the RGB pixel distributions, in 0-255 units."""
    a, b = _float(outputs).reshape(-1, 3), _float(targets).reshape(-1, 3)
    dirs = np.random.default_rng(seed).standard_normal((directions, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    q = (np.arange(quantiles) + 0.5) / quantiles
    qa, qb = np.quantile(a @ dirs.T, q, axis=0), np.quantile(b @ dirs.T, q, axis=0)
    return float(np.abs(qa - qb).mean() * 255)


def psnr(a, b, span: float = 1.0, per_image: bool = False) -> float:
    """PSNR in dB between images whose values span [0, span] (or any interval that long): of the whole arrays
    (inf where they are equal), or with per_image the mean over the first axis of each image's PSNR, its MSE
    floored at 1e-10 (100 dB at most on [0, 1])."""
    d = ((np.asarray(a, np.float64) - np.asarray(b, np.float64)) / span) ** 2
    if not per_image:
        mse = float(d.mean())
        return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)
    mse = np.maximum(d.reshape(len(d), -1).mean(1), 1e-10)
    return float(np.mean(10 * np.log10(1 / mse)))


def output_psnr(a, b) -> float:
    """PSNR in dB of two generator outputs in [-1, 1], on the [0, 1] scale of the images they show."""
    return psnr(a, b, span=2.0)


def input_fidelity(outputs, inputs, params) -> float:
    """Mean PSNR (dB, on [0, 1]) between the neutral live degradation of each output and its input.

    inputs: the (N, R, R) or (N, 1, R, R) degraded inputs in [-1, 1] the model was given.
    """
    from .degrade import blur_matrix

    out = _float(outputs)
    inp = (np.asarray(inputs, np.float64).reshape(out.shape[0], out.shape[1], out.shape[2]) + 1) / 2
    m = blur_matrix(out.shape[1], params)
    seen = np.stack([np.clip(m @ (o @ np.asarray(params.luma, np.float64)) @ m.T, 0, 1) for o in out])
    return psnr(seen, inp, per_image=True)


def viewer_measures(outputs, targets, inputs, params) -> dict:
    """Every measure above for one set of outputs: lattice of outputs and targets, fidelity, detail, colour."""
    lat_out, lat_tgt = lattice(outputs), lattice(targets)
    k, worst = worst_lattice(lat_out)
    return {
        "lattice": {str(k): v for k, v in lat_out.items()},
        "lattice_worst_k": k,
        "lattice_worst": worst,
        "lattice_targets": {str(k): v for k, v in lat_tgt.items()},
        "fidelity_db": input_fidelity(outputs, inputs, params),
        "detail": detail(outputs, targets),
        "colour": colour_distance(outputs, targets),
    }
