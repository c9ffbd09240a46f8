"""`seeing bench`: per preset, model file size per precision, params, MACs, ms/frame with ONNX Runtime
(2 threads) and PyTorch eager, and `translate` frames/s on a generated 640x480 clip. Random weights:
speed does not depend on their values. Timings are medians over `frames` runs after two warm-up runs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

THREADS = 2


def _median_ms(fn, frames: int) -> float:
    for _ in range(2):
        fn()
    times = []
    for _ in range(frames):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def write_clip(path: Path, frames: int, width: int = 640, height: int = 480, rate: int = 30) -> Path:
    """A moving gradient clip (y4m, lossless) to time translate on."""
    import av

    yy, xx = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w", format="yuv4mpegpipe") as c:
        s = c.add_stream("rawvideo", rate=rate)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        for k in range(frames):
            img = np.stack([(xx + 8 * k) % 256, (yy + 4 * k) % 256, (xx + yy) // 5 % 256], -1).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def bench_preset(preset: str, out: Path, frames: int, clip: Path | None, clip_frames: int) -> dict:
    import torch

    from .arch import macs, param_counts, preset_config
    from .degrade import DegradeParams
    from .export import fold_generator
    from .modelfile import write_model
    from .nets import Generator
    from .runtime import Runtime
    from .translate import translate

    cfg = preset_config(preset)
    deg = DegradeParams(resolution=cfg.resolution)
    torch.manual_seed(0)
    gen = Generator(cfg).eval()
    weights, biases = fold_generator(gen)
    sizes, files = {}, {}
    for precision in ("float32", "float16", "uint8"):
        path = out / f"{preset}-{precision}.safetensors"
        write_model(path, cfg, deg, weights, biases, precision, f"{preset}-{precision}")
        sizes[precision], files[precision] = path.stat().st_size, str(path)
    r = cfg.resolution
    x = np.random.default_rng(0).uniform(-1, 1, (1, 1, r, r)).astype(np.float32)
    rt = Runtime(files["uint8"], threads=THREADS)
    ort_ms = _median_ms(lambda: rt.run_degraded(x), frames)
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        xt = torch.from_numpy(x)
        with torch.inference_mode():
            torch_ms = _median_ms(lambda: gen(xt), frames)
    finally:
        torch.set_num_threads(threads)
    row = {
        "preset": preset,
        "params": param_counts(cfg)["params"],
        "torch_params": sum(p.numel() for p in gen.parameters()),
        "macs": macs(cfg),
        "sizes": sizes,
        "files": files,
        "uint8_ratio": sizes["uint8"] / sizes["float32"],
        "float16_ratio": sizes["float16"] / sizes["float32"],
        "onnxruntime_ms": ort_ms,
        "torch_ms": torch_ms,
        "threads": THREADS,
    }
    if clip is not None:
        t = time.perf_counter()
        n = translate(rt, clip, out / f"{preset}-clip.mp4", threads=THREADS, progress=False)
        row["translate_fps"] = n / (time.perf_counter() - t)
        row["translate_frames"] = n
    return row


def run_bench(
    presets: list[str], frames: int = 20, clip_frames: int = 30, progress: bool = True, out: str | Path | None = None
) -> list[dict]:
    """One row per preset; model files go to `out` (kept) or a temporary folder (removed)."""
    from .arch import PRESETS
    from .errors import UserError

    for p in presets:
        if p not in PRESETS:
            raise UserError(f"unknown preset {p!r}; choose from {', '.join(PRESETS)}")
    with tempfile.TemporaryDirectory(prefix="seeing-bench-") as tmp:
        folder = Path(out) if out else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        clip = write_clip(Path(tmp) / "clip.y4m", clip_frames) if clip_frames else None
        rows = []
        for p in presets:
            if progress:
                print(f"benchmarking {p} ...", flush=True)
            rows.append(bench_preset(p, folder, frames, clip, clip_frames))
    return rows


def format_table(rows: list[dict]) -> str:
    """A Markdown table of the rows."""
    head = (
        "| preset | params (paper's count) | MACs/frame | float32 MB | float16 MB | uint8 MB | uint8 / float32 "
        "| ONNX Runtime ms | PyTorch eager ms | translate 640x480 fps |"
    )
    lines = [head, "|" + " --- |" * 10]
    for r in rows:
        s = r["sizes"]
        lines.append(
            f"| {r['preset']} | {r['params']:,} | {r['macs'] / 1e9:.2f} G | {s['float32'] / 1e6:.1f} "
            f"| {s['float16'] / 1e6:.1f} | {s['uint8'] / 1e6:.1f} | {100 * r['uint8_ratio']:.1f} % "
            f"| {r['onnxruntime_ms']:.1f} | {r['torch_ms']:.1f} | {r.get('translate_fps', float('nan')):.1f} |"
        )
    return "\n".join(lines)
