"""Datasets: folders of images (searched recursively), video files, or several; and `data frames`.

Every image becomes an RGB uint8 array whatever its mode (grey, grey+alpha, RGBA, palette, CMYK,
16-bit, EXIF-rotated). Unreadable files are skipped and reported in one warning line; a set with no
usable image is a UserError. About 5 % of the images are held out, chosen by a hash of their names so
the split does not depend on the order of the files or on the machine.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import UserError

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".y4m", ".gif", ".ogv", ".ts"}
DARK_LUMA = 16.0  # mean luma (0-255) under which a video frame counts as dark/black
HELDOUT_FRACTION = 0.05


# ---------------------------------------------------------------- single images


def to_rgb(img) -> np.ndarray:
    """A PIL image of any mode -> (H, W, 3) uint8, EXIF orientation applied, alpha composited on black."""
    from PIL import ImageOps

    img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img).astype(np.float64)
        peak = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        grey = np.clip(a / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode == "F":
        a = np.asarray(img, dtype=np.float64)
        peak = 1.0 if a.max() <= 1.0 else 255.0
        grey = np.clip(a / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or img.mode == "RGBA":
        rgba = np.asarray(img.convert("RGBA")).astype(np.float64)
        rgb = rgba[..., :3] * (rgba[..., 3:] / 255.0)  # composite on black
        return (rgb + 0.5).astype(np.uint8)
    return np.asarray(img.convert("RGB"))


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8; raises OSError/ValueError when it cannot."""
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        return to_rgb(img)


def square(rgb: np.ndarray, side: int) -> np.ndarray:
    """Centre square crop, then a high-quality resize to side x side: (side, side, 3) uint8."""
    from PIL import Image

    h, w = rgb.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = rgb[top : top + s, left : left + s]
    if s == side:
        return np.ascontiguousarray(crop)
    return np.asarray(Image.fromarray(crop).resize((side, side), Image.Resampling.LANCZOS))


# ---------------------------------------------------------------- video


def _open_video(path: str | Path):
    import av

    try:
        container = av.open(str(path))
        if not container.streams.video:
            container.close()
            raise UserError(f"{path}: no video stream")
        return container
    except av.FFmpegError as e:
        raise UserError(f"{path}: not a readable video ({' '.join(str(e).split())[:120]})") from None


def frame_rgb(frame) -> np.ndarray:
    """A decoded video frame -> upright (H, W, 3) uint8: its display matrix (a phone's rotation tag) applied."""
    rgb = frame.to_ndarray(format="rgb24")
    quarter_turns = round((frame.rotation or 0) / 90) % 4  # counter-clockwise, as np.rot90 turns
    return np.ascontiguousarray(np.rot90(rgb, quarter_turns)) if quarter_turns else rgb


def _luma_mean(rgb: np.ndarray) -> float:
    return float(rgb[..., 0].mean() * 0.299 + rgb[..., 1].mean() * 0.587 + rgb[..., 2].mean() * 0.114)


def video_frames(path: str | Path, n: int, side: int = 256, dark: float = DARK_LUMA) -> list[np.ndarray]:
    """Up to n evenly spaced, square centre-cropped (side, side, 3) frames; a dark frame is replaced by
    the next bright one before the following pick, or skipped. A corrupt video is a UserError."""
    import av

    if n < 1:
        raise UserError("the number of frames must be at least 1")
    container = _open_video(path)
    try:
        stream = container.streams.video[0]
        total = stream.frames
        if not total:  # not in the header: count by demuxing (cheap, no decoding)
            total = sum(1 for p in container.demux(stream) if p.size)
            container.close()
            container = _open_video(path)
            stream = container.streams.video[0]
        if total < 1:
            raise UserError(f"{path}: the video has no frames")
        n = min(n, total)
        picks = sorted({min(total - 1, int((k + 0.5) * total / n)) for k in range(n)})
        out, want, looking, decoded = [], 0, False, 0
        for i, frame in enumerate(container.decode(stream)):
            decoded += 1
            if want < len(picks) and i >= picks[want]:
                looking = True  # a dark pick still unmatched is given up for this one
                want += 1
            if looking:
                rgb = frame_rgb(frame)
                if _luma_mean(rgb) >= dark:
                    out.append(square(rgb, side))
                    looking = False
            if want >= len(picks) and not looking:
                break
    except av.FFmpegError as e:
        raise UserError(f"{path}: corrupt video ({' '.join(str(e).split())[:120]})") from None
    finally:
        container.close()
    if not decoded:
        raise UserError(f"{path}: no frames could be decoded")
    return out


def write_frames(video: str | Path, out: str | Path, n: int, side: int = 256, progress: bool = True) -> list[Path]:
    """`seeing data frames`: evenly spaced square frames of a video as OUT/frame_NNNNN.png."""
    from .files import atomic_write
    from .synth import png_bytes

    video = Path(video)
    if not video.is_file():
        raise UserError(f"{video}: no such video file")
    frames = video_frames(video, n, side)
    if not frames:
        raise UserError(f"{video}: every picked frame was dark; nothing written")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, rgb in enumerate(frames):
        path = out / f"frame_{k:05d}.png"
        atomic_write(path, [png_bytes(rgb)])
        paths.append(path)
    return paths


# ---------------------------------------------------------------- datasets


@dataclass
class ImageSet:
    """Decoded images, all (side, side, 3) uint8, with names and the held-out split."""

    images: np.ndarray  # (N, side, side, 3) uint8
    names: list[str]
    heldout: list[int]  # indices into images
    train: list[int]
    skipped: list[str] = field(default_factory=list)


def find_files(sources: list[str | Path]) -> tuple[list[Path], list[Path], list[str]]:
    """(image files, video files, skipped names) under the sources, each folder searched recursively."""
    images, videos, skipped = [], [], []
    for src in sources:
        src = Path(src)
        if not src.exists():
            raise UserError(f"{src}: no such file or folder")
        files = sorted(p for p in src.rglob("*") if p.is_file()) if src.is_dir() else [src]
        for p in files:
            if any(part.startswith(".") for part in p.relative_to(src).parts) and src.is_dir():
                continue  # hidden files such as .DS_Store are not data
            ext = p.suffix.lower()
            if ext in IMAGE_EXTS:
                images.append(p)
            elif ext in VIDEO_EXTS:
                videos.append(p)
            else:
                skipped.append(str(p))
    return images, videos, skipped


def split_heldout(names: list[str], fraction: float = HELDOUT_FRACTION) -> list[int]:
    """Indices of the held-out images: the ceil(fraction * N) names with the lowest CRC32 (1 at least
    when N >= 2), so adding files rarely moves an image between the splits."""
    n = len(names)
    if n < 2:
        return []
    k = min(n - 1, max(1, math.ceil(fraction * n)))
    order = sorted(range(n), key=lambda i: (zlib.crc32(names[i].encode()), names[i]))
    return sorted(order[:k])


def load_dataset(
    sources: list[str | Path],
    side: int = 333,
    video_frames_max: int = 1000,
    workers: int = 0,
    progress: bool = True,
    warn=None,
) -> ImageSet:
    """Decode every image and video frame under the sources into (N, side, side, 3) uint8."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    images, videos, skipped = find_files(list(sources))

    def load(p: Path):
        try:
            return square(read_image(p), side)
        except Exception:  # PIL raises many types for broken files; every one means "skip it"
            return None

    arrays, names = [], []
    with ThreadPoolExecutor(max(1, workers)) as pool:  # PIL decodes without the GIL
        for p, a in zip(
            images,
            tqdm(
                pool.map(load, images),
                total=len(images),
                desc="loading images",
                unit="img",
                disable=not progress or len(images) < 50,
                leave=False,
            ),
        ):
            if a is None:
                skipped.append(str(p))
            else:
                arrays.append(a)
                names.append(str(p))
    named = {Path(s) for s in sources}
    for v in videos:
        try:
            frames = video_frames(v, video_frames_max, side)
        except UserError:
            if v in named:  # a video the user named is an error; one found in a folder is skipped
                raise
            skipped.append(str(v))
            continue
        arrays += frames
        names += [f"{v}#{k:05d}" for k in range(len(frames))]
    if skipped:
        msg = (
            f"warning: skipped {len(skipped)} unreadable or non-image file{'s' if len(skipped) > 1 else ''}: "
            + ", ".join(skipped[:3])
            + (", ..." if len(skipped) > 3 else "")
        )
        (warn or _warn)(msg)
    if not arrays:
        where = ", ".join(str(s) for s in sources)
        raise UserError(f"{where}: no usable images (looked for {', '.join(sorted(IMAGE_EXTS))} and videos)")
    heldout = split_heldout(names)
    held = set(heldout)
    train = [i for i in range(len(names)) if i not in held]
    return ImageSet(np.stack(arrays), names, heldout, train, skipped)


def _warn(msg: str):
    import click

    click.echo(msg, err=True)
