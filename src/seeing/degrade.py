"""The degradation (DESIGN section 3): one spec, built here as small matrices every runtime multiplies.

For a grey S x S image X the degraded image is U P X P^T U^T: P (grid x S) holds
`adaptive_avg_pool2d` weights, U (R x grid) holds `interpolate(mode="bicubic", align_corners=False)`
weights (A = -0.75, indices clamped at the edges). Then brightness/contrast about the image mean,
clip to [0, 1], map to [-1, 1]. Training adds a random scale/crop/flip and random brightness/contrast.
This module imports numpy only at top level; the torch versions import torch when called.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

LUMA = (0.299, 0.587, 0.114)


@dataclass
class DegradeParams:
    resolution: int = 256  # side of the degraded image the generator sees
    grid: int = 11  # side of the area-average grid: round(256 / 24)
    bicubic_a: float = -0.75  # torch's bicubic coefficient
    luma: tuple = LUMA  # weights of sRGB R, G, B
    scale_range: tuple = (1.0, 1.3)  # training: random rescale of the target, as a fraction of resolution
    flip: str = "horizontal"  # training: random flip, "horizontal", "vertical", "both" or "none"
    brightness_range: tuple = (0.8, 1.2)  # training: b ~ U(lo, hi)
    contrast_range: tuple = (0.85, 1.15)  # training: c ~ U(lo, hi)

    def __post_init__(self):
        self.luma, self.scale_range = tuple(self.luma), tuple(self.scale_range)
        self.brightness_range, self.contrast_range = tuple(self.brightness_range), tuple(self.contrast_range)
        if not (1 <= self.grid <= self.resolution):
            raise ValueError(f"grid {self.grid} must be between 1 and the resolution {self.resolution}")
        if self.flip not in ("horizontal", "vertical", "both", "none"):
            raise ValueError(f"flip must be horizontal, vertical, both or none, not {self.flip!r}")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> DegradeParams:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})


def default_grid(resolution: int) -> int:
    return max(1, round(resolution / 24))


def at_size(params: DegradeParams, size: int) -> DegradeParams:
    """The degradation of a model run at `size` (e.g. 512, HD): the grid scales with the side, so a
    cell keeps its size in output pixels (11 cells over 256 -> 22 over 512)."""
    return replace(params, resolution=size, grid=max(1, round(params.grid * size / params.resolution)))


def pool_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) weights of adaptive_avg_pool1d: row i averages [floor(i*src/dst), ceil((i+1)*src/dst))."""
    m = np.zeros((dst, src), np.float64)
    for i in range(dst):
        start, end = (i * src) // dst, -((-(i + 1) * src) // dst)
        m[i, start:end] = 1.0 / (end - start)
    return m


def _cubic(x: float, a: float) -> float:
    x = abs(x)
    if x <= 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def bicubic_matrix(src: int, dst: int, a: float = -0.75) -> np.ndarray:
    """(dst, src) weights of torch bicubic interpolation, align_corners=False, edge indices clamped."""
    m = np.zeros((dst, src), np.float64)
    scale = src / dst
    for i in range(dst):
        x = scale * (i + 0.5) - 0.5  # not clamped at 0 for cubic, as in torch
        x0 = math.floor(x)
        t = x - x0
        for k, w in zip(range(-1, 3), (_cubic(t + 1, a), _cubic(t, a), _cubic(1 - t, a), _cubic(2 - t, a))):
            m[i, min(max(x0 + k, 0), src - 1)] += w
    return m


def blur_matrix(src: int, params: DegradeParams) -> np.ndarray:
    """(resolution, src) matrix M = U P, so that the blurred grey image is M X M^T."""
    return bicubic_matrix(params.grid, params.resolution, params.bicubic_a) @ pool_matrix(src, params.grid)


def center_crop_box(height: int, width: int) -> tuple[int, int, int]:
    """(top, left, side) of the centred square crop of a frame."""
    side = min(height, width)
    return (height - side) // 2, (width - side) // 2, side


# ---------------------------------------------------------------- numpy (runtimes without torch)


def degrade_frame(
    frame: np.ndarray, params: DegradeParams, brightness: float = 1.0, contrast: float = 1.0
) -> np.ndarray:
    """Live degradation of one uint8 (H, W, 3) frame -> float32 (R, R) in [-1, 1]."""
    if frame.ndim != 3 or frame.shape[2] < 3:
        raise ValueError(f"expected an (H, W, 3) frame, got shape {frame.shape}")
    top, left, side = center_crop_box(*frame.shape[:2])
    rgb = frame[top : top + side, left : left + side, :3].astype(np.float64) / 255.0
    grey = rgb @ np.asarray(params.luma, np.float64)
    m = blur_matrix(side, params)
    x = m @ grey @ m.T
    mean = x.mean()
    y = np.clip(brightness * ((x - mean) * contrast + mean), 0.0, 1.0)
    return (y * 2 - 1).astype(np.float32)


# ---------------------------------------------------------------- torch (training, export checks)


def degrade(rgb, params: DegradeParams, brightness=1.0, contrast=1.0):
    """Deterministic degradation of square images: (B, 3, S, S) in [0, 1] -> (B, 1, R, R) in [-1, 1].

    brightness/contrast are floats or (B,) tensors. Runs on the device of `rgb`.
    """
    import torch

    b, _, h, w = rgb.shape
    if h != w:
        raise ValueError(f"degrade expects square images, got {h}x{w}")
    luma = torch.tensor(params.luma, dtype=rgb.dtype, device=rgb.device)
    grey = torch.einsum("bchw,c->bhw", rgb, luma)
    m = torch.from_numpy(blur_matrix(h, params)).to(rgb.device, rgb.dtype)
    x = m @ grey @ m.T  # (B, R, R)
    bright = torch.as_tensor(brightness, dtype=rgb.dtype, device=rgb.device).reshape(-1, 1, 1)
    contr = torch.as_tensor(contrast, dtype=rgb.dtype, device=rgb.device).reshape(-1, 1, 1)
    mean = x.mean(dim=(1, 2), keepdim=True)
    y = (bright * ((x - mean) * contr + mean)).clamp(0, 1)
    return (y * 2 - 1).unsqueeze(1)


def augment(rgb, params: DegradeParams, generator):
    """Training step 1: random rescale to 100-130 % of R, random R x R crop, random flip.

    rgb: (B, 3, S, S) in [0, 1] (any S); returns (B, 3, R, R). Random draws come from `generator`
    (a torch.Generator on the CPU), so the same seed gives the same batch on any device.
    """
    import torch
    import torch.nn.functional as F

    res = params.resolution
    out = []
    for img in rgb:
        lo, hi = params.scale_range
        scale = lo + (hi - lo) * torch.rand((), generator=generator).item()
        side = max(res, round(res * scale))
        img = F.interpolate(img[None], size=(side, side), mode="bilinear", align_corners=False, antialias=True)[0]
        top = int(torch.randint(0, side - res + 1, (), generator=generator))
        left = int(torch.randint(0, side - res + 1, (), generator=generator))
        img = img[:, top : top + res, left : left + res]
        flips = torch.rand(2, generator=generator)
        if params.flip in ("horizontal", "both") and flips[0] < 0.5:
            img = img.flip(-1)
        if params.flip in ("vertical", "both") and flips[1] < 0.5:
            img = img.flip(-2)
        out.append(img)
    return torch.stack(out).clamp(0, 1)


def training_pair(rgb, params: DegradeParams, generator):
    """(degraded input (B, 1, R, R), target (B, 3, R, R)), both in [-1, 1], from images in [0, 1]."""
    import torch

    target = augment(rgb, params, generator)
    n = target.shape[0]
    (blo, bhi), (clo, chi) = params.brightness_range, params.contrast_range
    bright = blo + (bhi - blo) * torch.rand(n, generator=generator)
    contr = clo + (chi - clo) * torch.rand(n, generator=generator)
    inp = degrade(target, params, bright.to(target.device), contr.to(target.device))
    return inp, target * 2 - 1


def degrade_live(frames, params: DegradeParams, brightness=1.0, contrast=1.0):
    """Live degradation in torch: uint8 (B, H, W, 3) frames -> (B, 1, R, R), centre square crop first."""
    import torch

    top, left, side = center_crop_box(frames.shape[1], frames.shape[2])
    rgb = frames[:, top : top + side, left : left + side, :3].permute(0, 3, 1, 2).to(torch.float64) / 255.0
    return degrade(rgb, params, brightness, contrast).float()
