"""Rebuild the bundled models from nothing (`make models`).

For each world: procedural data (`seeing data synth`, 600 images, seed 1), training with the default recipe
(small preset, seed 0, a checkpoint kept per epoch), the choice of epoch by the held-out measures training
logs (pick_epoch: no lattice, follows the camera, then the detail nearest the targets'), copied to RUN/best.pt, its uint8
export into src/seeing/models, and a 128 px thumbnail NAME.png beside the model file (the model's output on
one of its held-out images) for the page's model picker. The measured
training time of each world is kept in RUN/build-time.json (summed over resumed runs) and quoted by
`seeing quality`. An interrupted build continues where it stopped.

    python scripts/build_models.py --worlds clouds:16,waves:16,flowers:14 --also aurora:10,nebula:14 --jobs 2

WORLD:N trains that world for N epochs instead of --epochs; --also worlds are built and reported the same
way but exported into the build folder, not bundled.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from seeing.files import atomic_write

ROOT = Path(__file__).resolve().parents[1]
SEEING = [sys.executable, "-m", "seeing"]
THUMB = 128
GOALS = {"lattice_worst": 2.0, "fidelity_db": 30.0}  # what a bundled model must meet (docs/QUALITY.md)


def pick_epoch(metrics: list[dict]) -> int:
    """The epoch to bundle, from the second half of the run: among those meeting GOALS, the detail nearest the
    targets' own (1.0, as a ratio: too little is blur, too much is noise; later wins ties); if none meets them,
    the least lattice."""
    late = [m for m in metrics if m["epoch"] > metrics[-1]["epoch"] // 2]
    good = [
        m for m in late if m["lattice_worst"] <= GOALS["lattice_worst"] and m["fidelity_db"] >= GOALS["fidelity_db"]
    ]
    if good:
        return min(good, key=lambda m: (round(abs(math.log(max(m["detail"], 1e-6))), 6), -m["epoch"]))["epoch"]
    return min(late, key=lambda m: (m["lattice_worst"], -m["epoch"]))["epoch"]


def run(args: list[str], threads: int, log: Path) -> None:
    """One `seeing` command with `threads` math threads, its output appended to `log`; a failure stops the build."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        code = subprocess.run(SEEING + args, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    if code:
        sys.exit(f"seeing {' '.join(args)} failed ({code}); see {log}")


def thumbnail(model: Path, checkpoint: Path) -> Path:
    """NAME.png beside the model file: its output on the first held-out image, THUMB px square."""
    from PIL import Image

    from seeing.quality import heldout_set
    from seeing.runtime import Runtime, to_uint8

    out = Runtime(model).run_degraded(heldout_set(checkpoint, n=1).x[0])[0]
    path = model.with_suffix(".png")
    small = Image.fromarray(to_uint8(out)).resize((THUMB, THUMB), Image.LANCZOS)
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
    timing_file, metrics_file = run_dir / "build-time.json", run_dir / "metrics.jsonl"
    timing = json.loads(timing_file.read_text()) if timing_file.is_file() else {"train_seconds": 0.0}
    metrics = [json.loads(line) for line in metrics_file.read_text().splitlines()] if metrics_file.is_file() else []
    if not metrics or metrics[-1]["epoch"] < epochs:
        start = time.monotonic()
        run(
            [
                "train",
                str(data),
                "--preset",
                "small",
                "--epochs",
                str(epochs),
                "--seed",
                "0",
                "--save-every",
                "1",
                "--out",
                str(run_dir),
                *(["--resume"] if (run_dir / "last.pt").is_file() else []),
            ],
            threads,
            log,
        )
        timing = {
            "train_seconds": timing["train_seconds"] + time.monotonic() - start,
            "epochs": epochs,
            "threads": threads,
            "cpu": os.cpu_count(),
        }
        atomic_write(timing_file, [json.dumps(timing, indent=1).encode()])
        metrics = [json.loads(line) for line in metrics_file.read_text().splitlines()]
    chosen = pick_epoch(metrics)
    best = run_dir / "best.pt"
    shutil.copyfile(run_dir / f"epoch_{chosen:03d}.pt", best)
    run(["export", str(best), "--name", run_dir.name, "--precision", "uint8", "--out", str(models_dir)], threads, log)
    thumbnail(models_dir / f"{run_dir.name}.safetensors", best)
    print(f"{world}: epoch {chosen} of {epochs}, trained in {timing['train_seconds'] / 60:.1f} min", flush=True)
    return timing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worlds", default="clouds:16,waves:16,flowers:14", help="comma-separated synth kinds [:epochs]")
    ap.add_argument("--also", default="", help="worlds to build and report but not bundle")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--images", type=int, default=600)
    ap.add_argument("--jobs", type=int, default=2, help="worlds built at once (one math thread each)")
    ap.add_argument("--build", default=str(ROOT / "build" / "models"), help="data and run folders")
    ap.add_argument("--models", default=str(ROOT / "src" / "seeing" / "models"), help="where the model files go")
    a = ap.parse_args()
    build_dir = Path(a.build)
    jobs = [
        (w, build_dir / "unbundled" if extra else Path(a.models))
        for extra, names in enumerate((a.worlds, a.also))
        for w in names.split(",")
        if w
    ]
    threads = max(1, (os.cpu_count() or 1) // a.jobs)

    def one(job):
        world, epochs = (job[0].split(":") + [a.epochs])[:2]
        return build(world, build_dir, job[1], int(epochs), a.images, threads)

    with ThreadPoolExecutor(a.jobs) as pool:
        list(pool.map(one, jobs))


if __name__ == "__main__":
    main()
