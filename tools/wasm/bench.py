"""Time the CPU engine's kernels natively (wasmtime) next to native ONNX Runtime, same random weights.

    python -m tools.wasm.bench [small medium large] [--threads 2] [--variant seeing-relaxed-mt.wasm]

A rough guide while tuning kernels; the browser figures come from browser_main below and `make bench-web`.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path

import numpy as np


def random_model(preset: str, path: Path, precision: str = "float32", seed: int = 0) -> Path:
    """A model file with seeing's random (He-scaled) folded weights for a preset."""
    from seeing.arch import preset_config
    from seeing.degrade import DegradeParams
    from seeing.modelfile import random_weights, write_model

    cfg = preset_config(preset)
    write_model(path, cfg, DegradeParams(), *random_weights(cfg, seed), precision, name=f"random-{preset}")
    return path


def median_ms(fn, min_runs: int = 5, min_s: float = 1.0) -> float:
    fn()
    times, t_end = [], time.perf_counter() + min_s
    while len(times) < min_runs or time.perf_counter() < t_end:
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def main(argv=None):
    from seeing.runtime import Runtime
    from tools.wasm.runner import WasmNet

    ap = argparse.ArgumentParser()
    ap.add_argument("presets", nargs="*", default=["small", "medium"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variant", default="seeing-relaxed-mt.wasm")
    args = ap.parse_args(argv)
    frame = np.random.default_rng(1).integers(0, 256, (256, 256, 4), np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets:
            path = random_model(preset, Path(tmp) / f"{preset}.safetensors")
            rt = Runtime(path, threads=args.threads)
            x = rt.degrade(frame[..., :3])
            ort_ms = median_ms(functools.partial(rt.run_degraded, x))
            net = WasmNet.from_model(path, args.variant, threads=args.threads)
            run = net.frame_threads if args.threads > 1 else net.frame
            wasm_ms = median_ms(functools.partial(run, frame))
            print(
                f"{preset:7s} ORT {args.threads}T {ort_ms:8.2f} ms   wasm(wasmtime) {args.threads}T {wasm_ms:8.2f} ms"
                f"   ratio {wasm_ms / ort_ms:5.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()


def browser_main(argv=None):
    """python -c 'from tools.wasm.bench import browser_main; browser_main()' [presets] [--threads N]:
    the engine in headless Chromium next to native ONNX Runtime, same random weights."""
    from seeing.runtime import Runtime
    from tools.browser import CREATE_JS, TIME_JS, chromium
    from tools.static_server import static_server

    ap = argparse.ArgumentParser()
    ap.add_argument("presets", nargs="*", default=["small", "medium", "large"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default="float32")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--relaxed", type=int, default=1)
    args = ap.parse_args(argv)
    frame = np.random.default_rng(1).integers(0, 256, (256, 256, 3), np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            f"{p}.safetensors": random_model(p, Path(tmp) / f"{p}.safetensors", args.precision) for p in args.presets
        }
        rows = []
        with static_server(files, isolated=args.threads > 1) as base, chromium() as browser:
            page = browser.new_page()
            page.goto(base + "blank.html")
            for preset in args.presets:
                info = page.evaluate(
                    CREATE_JS, [f"{preset}.safetensors", {"threads": args.threads, "relaxed": bool(args.relaxed)}]
                )
                t = page.evaluate(TIME_JS, [args.seconds, 640, 480])
                page.evaluate("() => { window.eng.dispose(); window.eng = null; }")
                rt = Runtime(files[f"{preset}.safetensors"], threads=args.threads)
                x = rt.degrade(frame)
                ort_ms = median_ms(functools.partial(rt.run_degraded, x), min_s=args.seconds)
                rows.append((preset, t["median"], ort_ms))
                print(
                    f"{preset:7s} wasm {info['variant']} {info['threads']}T: {t['median']:8.2f} ms/frame "
                    f"({t['frames']} frames)   native ORT {args.threads}T: {ort_ms:8.2f} ms   "
                    f"ratio {t['median'] / ort_ms:5.2f}",
                    flush=True,
                )
    return rows
