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

from . import data
from .errors import UserError
from .files import atomic_path, atomic_write

IMAGE_EXTS = data.IMAGE_EXTS  # one list for datasets and translate: an animated .gif is a video
VIDEO_EXTS = data.VIDEO_EXTS
# Encoder and pixel format per output extension (default: H.264 in yuv420p), muxer where the extension
# does not name it. GIF stores 3-3-2 bit colour and delays in 1/100 s.
_VIDEO_CODECS = {
    ".webm": ("libvpx-vp9", "yuv420p"),
    ".y4m": ("rawvideo", "yuv420p"),
    ".avi": ("mpeg4", "yuv420p"),
    ".ogv": ("libvpx", "yuv420p"),
    ".gif": ("gif", "rgb8"),
}
_ENCODE_FORMAT = {
    ".y4m": "yuv4mpegpipe",
    ".mkv": "matroska",
    ".m4v": "mp4",
    ".ts": "mpegts",
    ".ogv": "ogg",
    ".mpg": "mpeg",
    ".mpeg": "mpeg",
}


class Translator:
    """Frames in, output frames out, with smoothing state carried between frames."""

    def __init__(
        self,
        model,
        smooth: float = 0.0,
        brightness: float = 1.0,
        contrast: float = 1.0,
        side_by_side: bool = False,
        threads: int | None = None,
        size: int | None = None,
    ):
        from .runtime import Runtime

        if not 0 <= smooth < 1:
            raise UserError(f"--smooth must be in [0, 1), got {smooth}")
        self.rt = model if isinstance(model, Runtime) else Runtime(model, threads, size)
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
    crop = np.ascontiguousarray(frame[top : top + s, left : left + s, :3])
    return crop if s == side else np.asarray(Image.fromarray(crop).resize((side, side), Image.Resampling.BICUBIC))


def _read_image(path: Path) -> np.ndarray:
    from PIL import UnidentifiedImageError

    try:
        return data.read_image(path)  # any mode, EXIF orientation applied, as training reads it
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as e:
        raise UserError(f"{path}: not a readable image ({e.__class__.__name__})") from None


def _write_image(path: Path, img: np.ndarray) -> None:
    from PIL import Image

    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}.get(
        path.suffix.lower(), "PNG"
    )
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt)
    atomic_write(path, [buf.getvalue()])


def translate(
    model,
    source,
    output,
    smooth: float = 0.0,
    brightness: float = 1.0,
    contrast: float = 1.0,
    side_by_side: bool = False,
    threads: int | None = None,
    progress: bool = True,
    size: int | None = None,
) -> int:
    """Translate an image, a folder of images or a video; returns the number of frames written.

    size: run the model at size x size (e.g. 512 for a 256 model; the degradation grid scales with it)."""
    src, out = Path(source), Path(output)
    if not src.exists():
        raise UserError(f"{src}: no such file or folder")
    kind = "folder" if src.is_dir() else "video" if src.suffix.lower() in VIDEO_EXTS else "image"
    if kind == "image" and src.suffix.lower() not in IMAGE_EXTS:
        raise UserError(
            f"{src}: unknown input type {src.suffix!r} (images: {', '.join(sorted(IMAGE_EXTS))}; "
            f"videos: {', '.join(sorted(VIDEO_EXTS))})"
        )
    if kind == "video" and out.suffix.lower() not in VIDEO_EXTS:
        raise UserError(f"{out}: a video needs a video output ({', '.join(sorted(VIDEO_EXTS))})")
    if kind == "image" and out.suffix.lower() not in IMAGE_EXTS:
        raise UserError(f"{out}: an image needs an image output ({', '.join(sorted(IMAGE_EXTS))})")
    if kind == "folder" and out.exists() and not out.is_dir():
        raise UserError(f"{out}: a folder input needs a folder output")
    tr = Translator(model, smooth, brightness, contrast, side_by_side, threads, size)
    if kind == "image":
        _write_image(out, tr(_read_image(src)))
        return 1
    if kind == "folder":
        return _translate_folder(tr, src, out, progress)
    return _translate_video(tr, src, out, progress)


def _translate_folder(tr: Translator, src: Path, out: Path, progress: bool) -> int:
    from tqdm import tqdm

    files = sorted(
        p
        for p in src.rglob("*")
        if p.is_file()
        and p.suffix.lower() in IMAGE_EXTS
        and not any(part.startswith(".") for part in p.relative_to(src).parts)
    )
    if not files:
        raise UserError(f"{src}: no images ({', '.join(sorted(IMAGE_EXTS))})")
    for p in tqdm(files, desc="translating", unit="img", disable=not progress):
        tr.reset()  # images of a folder are not a sequence: no smoothing across them
        _write_image(out / p.relative_to(src), tr(_read_image(p)))
    return len(files)


def _translate_video(tr: Translator, src: Path, out: Path, progress: bool) -> int:
    """Every frame of the video, upright (its rotation tag applied), at the input's average rate."""
    import av
    from tqdm import tqdm

    try:
        inp = av.open(str(src))
        stream = inp.streams.video[0]
    except (av.error.FFmpegError, IndexError, OSError) as e:
        raise UserError(f"{src}: not a readable video ({e.__class__.__name__})") from None
    # Frame k is written at k / rate (same count, same rate); a small denominator suits every muxer.
    rate = Fraction(stream.average_rate or stream.guessed_rate or 25).limit_denominator(1001)
    tb = 1 / rate
    total = stream.frames or None
    ext = out.suffix.lower()
    codec, pix_fmt = _VIDEO_CODECS.get(ext, ("libx264", "yuv420p"))
    n = 0
    try:
        with atomic_path(out, suffix=ext) as tmp:
            try:
                container = av.open(tmp, "w", format=_ENCODE_FORMAT.get(ext))
            except (av.error.FFmpegError, ValueError, OSError) as e:
                raise UserError(f"{out}: cannot write this video ({e.__class__.__name__}: {e})") from None
            with container:
                vs = _add_stream(container, codec, pix_fmt, rate, tr, out)
                frames = tqdm(
                    _frames_of(inp, stream, src, lambda: n),
                    total=total,
                    desc="translating",
                    unit="frame",
                    disable=not progress,
                )
                try:
                    for rgb in frames:
                        vf = av.VideoFrame.from_ndarray(tr(rgb), format="rgb24")
                        vf.pts, vf.time_base = n, tb  # our own time base: the stream's is the muxer's to change
                        container.mux(vs.encode(vf))
                        n += 1
                    container.mux(vs.encode())  # flush the encoder
                except (av.error.FFmpegError, ValueError) as e:
                    raise UserError(
                        f"{out}: encoding failed after {n} frames ({e.__class__.__name__}: "
                        f"{' '.join(str(e).split())[:160]})"
                    ) from None
            if n == 0:
                raise UserError(f"{src}: the video has no frames")
    except av.error.FFmpegError as e:  # closing the container writes the trailer
        raise UserError(f"{out}: writing the video failed ({e.__class__.__name__}: {e})") from None
    finally:
        inp.close()
    return n


def _add_stream(container, codec: str, pix_fmt: str, rate: Fraction, tr: Translator, out: Path):
    import av

    try:
        vs = container.add_stream(codec, rate=rate)
    except (av.error.FFmpegError, ValueError) as e:
        raise UserError(f"{out}: no {codec} encoder here for {out.suffix} ({e.__class__.__name__})") from None
    side = tr.rt.resolution
    vs.width, vs.height, vs.pix_fmt = side * (2 if tr.side_by_side else 1), side, pix_fmt
    vs.codec_context.time_base = 1 / rate
    return vs


def _frames_of(inp, stream, src: Path, done):
    """Decoded frames as upright uint8 (H, W, 3); a decoding error is a UserError naming the input."""
    import av

    try:
        for frame in inp.decode(stream):
            yield data.frame_rgb(frame)
    except av.error.FFmpegError as e:
        raise UserError(f"{src}: video failed after {done()} frames ({e.__class__.__name__}: {e})") from None
