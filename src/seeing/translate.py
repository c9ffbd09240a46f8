"""`seeing translate MODEL INPUT OUTPUT`: a model applied offline to an image, a folder of images or a video.

Each frame gets the live degradation (centre square crop, DESIGN section 3) and the generator (the Python
runtime). `smooth` A blends each output with the previous one: out_t = A * out_{t-1} + (1 - A) * net_t, as
the live page's smoothing slider does. Outputs are written atomically: a temp file beside the target, then
a rename, so an interrupted run never leaves a half-written file under the final name.
"""
from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import UserError
from .files import atomic_path, atomic_write

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
VIDEO_EXTS = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".y4m", ".ogv", ".ts"}
_VIDEO_CODECS = {".webm": ("libvpx-vp9", "yuv420p"), ".y4m": ("rawvideo", "yuv420p"),
                 ".avi": ("mpeg4", "yuv420p"), ".ogv": ("libtheora", "yuv420p")}  # default: h264
_ENCODE_FORMAT = {".y4m": "yuv4mpegpipe", ".mkv": "matroska", ".m4v": "mp4", ".ts": "mpegts", ".ogv": "ogg",
                  ".mpg": "mpeg", ".mpeg": "mpeg"}


class Translator:
    """Frames in, output frames out, with smoothing state carried between frames."""

    def __init__(self, model, smooth: float = 0.0, brightness: float = 1.0, contrast: float = 1.0,
                 side_by_side: bool = False, threads: int | None = None):
        from .runtime import Runtime

        if not 0 <= smooth < 1:
            raise UserError(f"--smooth must be in [0, 1), got {smooth}")
        self.rt = model if isinstance(model, Runtime) else Runtime(model, threads)
        self.smooth, self.brightness, self.contrast, self.side_by_side = smooth, brightness, contrast, side_by_side
        self.prev = None  # previous smoothed output, float32 (C, R, R)

    def reset(self):
        self.prev = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """uint8 (H, W, 3) -> uint8 (R, R, 3), or (R, 2R, 3) with the input on the left."""
        from .runtime import to_uint8

        out = self.rt.run_degraded(self.rt.degrade(frame, self.brightness, self.contrast))[0]
        if self.smooth and self.prev is not None:
            out = self.smooth * self.prev + (1 - self.smooth) * out
        self.prev = out
        img = to_uint8(out)
        if self.side_by_side:
            img = np.concatenate([input_view(frame, self.rt.resolution), img], axis=1)
        return img


def input_view(frame: np.ndarray, side: int) -> np.ndarray:
    """The centre square of a frame (the part the model sees), resized to side x side."""
    from PIL import Image

    from .degrade import center_crop_box

    top, left, s = center_crop_box(*frame.shape[:2])
    crop = np.ascontiguousarray(frame[top:top + s, left:left + s, :3])
    return crop if s == side else np.asarray(Image.fromarray(crop).resize((side, side), Image.Resampling.BICUBIC))


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return np.asarray(img.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as e:
        raise UserError(f"{path}: not a readable image ({e.__class__.__name__})") from None


def _write_image(path: Path, img: np.ndarray) -> None:
    from PIL import Image


    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP",
           ".gif": "GIF"}.get(path.suffix.lower(), "PNG")
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt)
    atomic_write(path, [buf.getvalue()])


def translate(model, source, output, smooth: float = 0.0, brightness: float = 1.0, contrast: float = 1.0,
              side_by_side: bool = False, threads: int | None = None, progress: bool = True) -> int:
    """Translate an image, a folder of images or a video; returns the number of frames written."""
    src, out = Path(source), Path(output)
    if not src.exists():
        raise UserError(f"{src}: no such file or folder")
    kind = "folder" if src.is_dir() else "video" if src.suffix.lower() in VIDEO_EXTS else "image"
    if kind == "image" and src.suffix.lower() not in IMAGE_EXTS:
        raise UserError(f"{src}: unknown input type {src.suffix!r} (images: {', '.join(sorted(IMAGE_EXTS))}; "
                        f"videos: {', '.join(sorted(VIDEO_EXTS))})")
    if kind == "video" and out.suffix.lower() not in VIDEO_EXTS:
        raise UserError(f"{out}: a video needs a video output ({', '.join(sorted(VIDEO_EXTS))})")
    if kind == "image" and out.suffix.lower() not in IMAGE_EXTS:
        raise UserError(f"{out}: an image needs an image output ({', '.join(sorted(IMAGE_EXTS))})")
    if kind == "folder" and out.exists() and not out.is_dir():
        raise UserError(f"{out}: a folder input needs a folder output")
    tr = Translator(model, smooth, brightness, contrast, side_by_side, threads)
    if kind == "image":
        _write_image(out, tr(_read_image(src)))
        return 1
    if kind == "folder":
        return _translate_folder(tr, src, out, progress)
    return _translate_video(tr, src, out, progress)


def _translate_folder(tr: Translator, src: Path, out: Path, progress: bool) -> int:
    from tqdm import tqdm

    files = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTS
                   and not any(part.startswith(".") for part in p.relative_to(src).parts))
    if not files:
        raise UserError(f"{src}: no images ({', '.join(sorted(IMAGE_EXTS))})")
    for p in tqdm(files, desc="translating", unit="img", disable=not progress):
        tr.reset()  # images of a folder are not a sequence: no smoothing across them
        _write_image(out / p.relative_to(src), tr(_read_image(p)))
    return len(files)


def _translate_video(tr: Translator, src: Path, out: Path, progress: bool) -> int:
    import av
    from tqdm import tqdm

    try:
        inp = av.open(str(src))
        stream = inp.streams.video[0]
    except (av.error.FFmpegError, IndexError, OSError) as e:
        raise UserError(f"{src}: not a readable video ({e.__class__.__name__})") from None
    rate = stream.average_rate or stream.guessed_rate or 25
    total = stream.frames or None
    ext = out.suffix.lower()
    codec, pix_fmt = _VIDEO_CODECS.get(ext, ("libx264", "yuv420p"))
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    try:
        with atomic_path(out, suffix=ext) as tmp:
            with av.open(tmp, "w", format=_ENCODE_FORMAT.get(ext)) as container:
                vs = container.add_stream(codec, rate=rate)
                side = tr.rt.resolution
                vs.width, vs.height, vs.pix_fmt = side * (2 if tr.side_by_side else 1), side, pix_fmt
                vs.time_base = Fraction(1) / Fraction(rate)  # frame k at k / rate: same count, same rate
                try:
                    for frame in tqdm(inp.decode(stream), total=total, desc="translating", unit="frame",
                                      disable=not progress):
                        img = tr(frame.to_ndarray(format="rgb24"))
                        vf = av.VideoFrame.from_ndarray(img, format="rgb24")
                        vf.pts, vf.time_base = n, vs.time_base
                        for packet in vs.encode(vf):
                            container.mux(packet)
                        n += 1
                except av.error.FFmpegError as e:
                    raise UserError(f"{src}: video failed after {n} frames ({e.__class__.__name__}: {e})") from None
                for packet in vs.encode():
                    container.mux(packet)
            if n == 0:
                raise UserError(f"{src}: the video has no frames")
    finally:
        inp.close()
    return n
