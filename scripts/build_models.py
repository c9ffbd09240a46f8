"""Rebuild the bundled models from nothing (`make models`).

For each world: procedural data (`seeing data synth`, 600 images, seed 1), training with the default recipe
(small preset, seed 0), a uint8 export into src/seeing/models, and a 128 px thumbnail NAME.png beside the
model file (the model's output on one of its held-out images) for the page's model picker. The measured
training time of each world is kept in RUN/build-time.json (summed over resumed runs) and quoted by
`seeing quality`. An interrupted build continues where it stopped.

    python scripts/build_models.py --worlds nebula,waves,clouds,flowers --epochs 20 --jobs 2
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEING = [sys.executable, "-m", "seeing"]
THUMB = 128


def run(args: list[str], threads: int, log: Path) -> None:
    """One `seeing` command with `threads` math threads, its output appended to `log`; a failure stops the build."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        code = subprocess.run(SEEING + args, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    if code:
        sys.exit(f"seeing {' '.join(args)} failed ({code}); see {log}")


def thumbnail(model: Path, run_dir: Path) -> Path:
    """NAME.png beside the model file: its output on the first held-out image, THUMB px square."""
    import numpy as np
    from PIL import Image

    from seeing.export import degraded_inputs, heldout_images, load_checkpoint
    from seeing.files import atomic_write
    from seeing.runtime import Runtime

    _, cfg, deg, ckpt = load_checkpoint(run_dir)
    images, _ = heldout_images(run_dir, ckpt, cfg.resolution, n=1)
    out = Runtime(model).run_degraded(degraded_inputs(images, deg)[0])[0]
    rgb = ((out.transpose(1, 2, 0) + 1) * 127.5 + 0.5).clip(0, 255).astype(np.uint8)
    path = model.with_suffix(".png")
    small = Image.fromarray(rgb).resize((THUMB, THUMB), Image.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    atomic_write(path, [buf.getvalue()])
    return path


def build(world: str, build_dir: Path, models_dir: Path, epochs: int, images: int, threads: int) -> dict:
    """Data, training, export and thumbnail of one world; returns its timings."""
    data, log = build_dir / "data" / world, build_dir / f"{world}.log"
    if len(list(data.glob("*.png"))) != images:
        run(["data", "synth", str(data), "--kind", world, "-n", str(images), "--seed", "1"], threads, log)
    run_dir = build_dir / f"{world}-small"
    timing_file = run_dir / "build-time.json"
    timing = json.loads(timing_file.read_text()) if timing_file.is_file() else {"train_seconds": 0.0}
    start = time.monotonic()
    run(["train", str(data), "--preset", "small", "--epochs", str(epochs), "--seed", "0", "--save-every", "0",
         "--out", str(run_dir), *(["--resume"] if (run_dir / "last.pt").is_file() else [])], threads, log)
    timing = {"train_seconds": timing["train_seconds"] + time.monotonic() - start, "epochs": epochs,
              "threads": threads, "cpu": os.cpu_count()}
    timing_file.write_text(json.dumps(timing, indent=1))
    run(["export", str(run_dir), "--precision", "uint8", "--out", str(models_dir)], threads, log)
    thumbnail(models_dir / f"{run_dir.name}.safetensors", run_dir)
    print(f"{world}: trained in {timing['train_seconds'] / 60:.1f} min", flush=True)
    return timing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worlds", default="nebula,waves,clouds,flowers", help="comma-separated synth kinds")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--images", type=int, default=600)
    ap.add_argument("--jobs", type=int, default=2, help="worlds built at once (one math thread each)")
    ap.add_argument("--build", default=str(ROOT / "build" / "models"), help="data and run folders")
    ap.add_argument("--models", default=str(ROOT / "src" / "seeing" / "models"), help="where the model files go")
    a = ap.parse_args()
    worlds = [w for w in a.worlds.split(",") if w]
    threads = max(1, (os.cpu_count() or 1) // a.jobs)
    with ThreadPoolExecutor(a.jobs) as pool:
        list(pool.map(lambda w: build(w, Path(a.build), Path(a.models), a.epochs, a.images, threads), worlds))


if __name__ == "__main__":
    main()
