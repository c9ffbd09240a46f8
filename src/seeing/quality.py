"""The quality report (docs/QUALITY.md): held-out metrics per precision, sample grids, and flicker.

    seeing quality RUN [RUN ...] --out docs/QUALITY.md

For each run folder: export float32, float16 and uint8 model files (as `seeing export` does), run
them through the Python runtime on the run's held-out images, and measure held-out L1/PSNR/SSIM,
each precision's output PSNR against float32, what a viewer sees (seeing.measures: lattice, input
fidelity, detail, colour) on the held-out images and on ordinary photos, a sample grid, and the flicker of
the output on a slowly panning clip (mean absolute change between consecutive frames) with and without smoothing.

The ordinary photos are the ones scikit-image ships inside its package (a test dependency, read as files,
never downloaded at run time); without it the photo row is left out.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PRECISIONS = ("float32", "float16", "uint8")
FLICKER_SMOOTH = 0.6  # the smoothing the flicker figure is measured with
# scikit-image's bundled photographs (skimage/data): people, animals, objects, textures, landscapes.
PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "moon.png",
    "motorcycle_left.png",
    "retina.jpg",
    "rocket.jpg",
)


def ordinary_photos() -> list[np.ndarray]:
    """The PHOTOS as (H, W, 3) uint8 arrays (grey ones repeated), or [] where scikit-image is not installed."""
    import importlib.util

    from PIL import Image

    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    return [np.asarray(Image.open(folder / name).convert("RGB")) for name in PHOTOS if (folder / name).is_file()]


def photo_measures(rt, photos: list[np.ndarray], targets: np.ndarray) -> dict:
    """What a viewer sees when the model looks at ordinary photos: lattice and input fidelity of its outputs,
    and detail and colour against the world's own (held-out) targets."""
    from .measures import colour_distance, detail, input_fidelity, lattice, worst_lattice

    x = np.stack([rt.degrade(p) for p in photos])
    out = np.concatenate([rt.run_degraded(xi[None, None]) for xi in x])
    o = _to01(out)
    lat = lattice(o)
    k, worst = worst_lattice(lat)
    return {
        "photos": len(photos),
        "lattice": {str(kk): v for kk, v in lat.items()},
        "lattice_worst_k": k,
        "lattice_worst": worst,
        "fidelity_db": input_fidelity(o, x, rt.model.degradation),
        "detail": detail(o, targets),
        "colour": colour_distance(o, targets),
    }


def run_name(run: Path) -> str:
    """A run folder's name, also for a checkpoint inside it (RUN/best.pt -> RUN's name)."""
    return run.name if run.is_dir() else run.parent.name


def _to01(a: np.ndarray) -> np.ndarray:
    """(N, 3, R, R) on [-1, 1] -> (N, R, R, 3) on [0, 1]."""
    return ((a.transpose(0, 2, 3, 1) + 1) / 2).clip(0, 1)


def viewer_results(rt, out: np.ndarray, target: np.ndarray, x: np.ndarray, deg) -> dict:
    """seeing.measures on the held-out outputs (N, 3, R, R) and, where the photos are at hand, on ordinary photos."""
    from .measures import viewer_measures

    result = {"heldout": viewer_measures(_to01(out), _to01(target), x, deg)}
    photos = ordinary_photos()
    if photos:
        result["photos"] = photo_measures(rt, photos, _to01(target))
    return result


def sample_grid(x: np.ndarray, out: np.ndarray, images: np.ndarray, path: Path, rows: int = 6) -> str:
    """A PNG of `rows` rows of degraded input | output | target; returns its file name."""
    from PIL import Image

    from .runtime import to_uint8

    lines = []
    for i in range(min(rows, len(images))):
        grey = np.repeat(to_uint8(x[i]), 3, axis=2)
        lines.append(np.concatenate([grey, to_uint8(out[i]), images[i]], axis=1))
    Image.fromarray(np.concatenate(lines, axis=0)).save(path)
    return path.name


@dataclass
class HeldOut:
    """A run's held-out images as the report measures them, read once per run."""

    images: np.ndarray  # (N, R, R, 3) uint8
    origin: str  # where they came from
    x: np.ndarray  # (N, 1, R, R) degraded inputs on [-1, 1]
    target: np.ndarray  # (N, 3, R, R) on [-1, 1]
    deg: object  # the run's DegradeParams
    cfg: object  # the run's GeneratorConfig
    ckpt: dict


def heldout_set(run: Path, n: int = 32) -> HeldOut:
    """The held-out images of a run folder (or of a checkpoint in one), degraded as live."""
    from .export import degraded_inputs, heldout_images, load_checkpoint

    _, cfg, deg, ckpt = load_checkpoint(run)
    images, origin = heldout_images(run, ckpt, cfg.resolution, n=n)
    target = images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
    return HeldOut(images, origin, degraded_inputs(images, deg), target, deg, cfg, ckpt)


def evaluate_baseline(model: Path, run: Path, out_dir: Path, held: HeldOut | None = None) -> dict:
    """An earlier model file on `run`'s held-out images: L1, what a viewer sees, and its sample grid."""
    from .runtime import Runtime

    h = held or heldout_set(run)
    rt = Runtime(model)
    out = np.concatenate([rt.run_degraded(xi) for xi in h.x])
    name = model.stem
    return {
        "name": name,
        "run": run_name(run),
        "l1": _metrics(out, h.target)["l1"],
        "viewer": viewer_results(rt, out, h.target, h.x, h.deg),
        "grid": sample_grid(h.x, out, h.images, out_dir / f"{name}-samples.png"),
    }


def _metrics(out: np.ndarray, target: np.ndarray) -> dict:
    """Held-out L1 (on [-1, 1]), PSNR and SSIM (on [0, 1]) of (N, 3, R, R) outputs, as in training."""
    import torch

    from .measures import psnr
    from .train import ssim

    o, t = torch.from_numpy(out).double(), torch.from_numpy(target).double()
    a, b = (o + 1) / 2, (t + 1) / 2
    return {
        "l1": float((o - t).abs().mean()),
        "psnr": psnr(a.numpy(), b.numpy(), per_image=True),
        "ssim": float(ssim(a, b)),
    }


def panning_clip(image: np.ndarray, frames: int = 48, window: int = 384, step: int = 2) -> list[np.ndarray]:
    """A slowly moving clip: a window panning diagonally over an image upscaled to fit, `step` px per frame."""
    from PIL import Image

    side = window + step * frames
    big = np.asarray(Image.fromarray(image).resize((side, side), Image.BICUBIC))
    return [big[i * step : i * step + window, i * step : i * step + window] for i in range(frames)]


def flicker(frames: list[np.ndarray]) -> float:
    """Mean absolute change between consecutive frames, in 0-255 units."""
    return float(
        np.mean([np.abs(a.astype(np.float64) - b.astype(np.float64)).mean() for a, b in zip(frames, frames[1:])])
    )


def evaluate_run(run: Path, out_dir: Path, bundled: Path | None = None, held: HeldOut | None = None) -> dict:
    """Every figure of the report for one run; writes its sample grid PNG into out_dir."""
    from .export import export
    from .measures import output_psnr
    from .runtime import Runtime
    from .translate import Translator, input_view

    h = held or heldout_set(run)
    images, origin, x, target, deg, cfg, ckpt = h.images, h.origin, h.x, h.target, h.deg, h.cfg, h.ckpt
    name = run_name(run)
    result = {
        "name": name,
        "inputs": origin,
        "epoch": ckpt.get("epoch"),
        "step": ckpt.get("step"),
        "preset": (ckpt.get("config") or {}).get("train", {}).get("preset"),
        "precisions": {},
    }
    outs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for prec in PRECISIONS:
            rep = export(run, Path(tmp) / prec, name, prec)  # same name as `seeing export RUN`, so same bytes
            rt = Runtime(rep["path"])
            outs[prec] = np.concatenate([rt.run_degraded(xi) for xi in x])
            result["precisions"][prec] = {"size": rep["size"], **_metrics(outs[prec], target)}
            if prec == "uint8":
                digest = hashlib.sha256(Path(rep["path"]).read_bytes()).hexdigest()
                result["uint8_sha256"] = digest
                if bundled and bundled.is_file():
                    result["bundled"] = bundled.name
                    result["bundled_identical"] = hashlib.sha256(bundled.read_bytes()).hexdigest() == digest
                uint8_rt = rt
        for prec in PRECISIONS:
            result["precisions"][prec]["psnr_vs_float32"] = output_psnr(outs[prec], outs["float32"])

    result["viewer"] = viewer_results(uint8_rt, outs["uint8"], target, x, deg)

    result["grid"] = sample_grid(x, outs["uint8"], images, out_dir / f"{name}-samples.png")
    timing = (run if run.is_dir() else run.parent) / "build-time.json"  # written by scripts/build_models.py
    if timing.is_file():
        result["train_seconds"] = json.loads(timing.read_text())["train_seconds"]

    clip = panning_clip(images[0])
    plain, smooth = Translator(uint8_rt), Translator(uint8_rt, smooth=FLICKER_SMOOTH)
    degraded = [(uint8_rt.degrade(f) + 1) * 127.5 for f in clip]
    result["flicker"] = {
        "input": flicker([input_view(f, cfg.resolution) for f in clip]),
        "degraded": flicker(degraded),
        "output": flicker([plain(f) for f in clip]),
        "output_smoothed": flicker([smooth(f) for f in clip]),
        "frames": len(clip),
        "smooth": FLICKER_SMOOTH,
    }
    return result


def summary_table(results: list[dict]) -> list[str]:
    """One row per model: training, held-out L1 and what a viewer sees (uint8), held-out images and photos."""
    lines = [
        "| model | training | held-out L1 | worst lattice (held-out / photos) | fidelity (dB) | detail | colour |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        h, p = r["viewer"]["heldout"], r["viewer"].get("photos")
        took = f", {r['train_seconds'] / 60:.0f} min" if "train_seconds" in r else ""
        lat = f"{h['lattice_worst']:.1f}" + (f" / {p['lattice_worst']:.1f}" if p else "")
        lines.append(
            f"| {r['name']} | {r['epoch']} epochs{took} | {r['precisions']['uint8']['l1']:.3f} | {lat} | "
            f"{h['fidelity_db']:.1f} | {h['detail']:.2f} | {h['colour']:.1f} |"
        )
    return lines + [""]


def baseline_section(base: dict, results: list[dict]) -> list[str]:
    """Before and after: the earlier model against today's model of the same world, on the same held-out images."""
    after = next((r for r in results if r["name"] == base["run"]), None)
    if after is None:
        return []
    lines = [
        f"## Before and after: `{base['name']}` (free 4x4 up kernels) and `{after['name']}`",
        "",
        f"The model bundled before resize-convolution, on `{after['name']}`'s held-out images and the same photos.",
        "",
        *viewer_table(base["viewer"], label=base["name"]),
        *viewer_table(after["viewer"], label=after["name"], header=False),
        "",
        f"Held-out L1: {base['l1']:.3f} before, {after['precisions']['uint8']['l1']:.3f} after.",
        "",
        "| before | after |",
        "| --- | --- |",
        f"| ![before](quality/{base['grid']}) | ![after](quality/{after['grid']}) |",
        "",
    ]
    return lines


def render(results: list[dict], command: str, baseline: dict | None = None) -> str:
    """The Markdown of docs/QUALITY.md."""
    lines = [
        "# Quality of the bundled models",
        "",
        f"Made by `{command}` (`make quality`; the figures below are its output, rerun it to refresh them).",
        "",
        "Held-out figures are on the run's held-out images (about 5 % of its data, never trained on), "
        "degraded with the live degradation at neutral brightness and contrast, run through the Python "
        "runtime (ONNX Runtime) from each exported model file. L1 is on [-1, 1] as in training; PSNR and "
        "SSIM on [0, 1].",
        "",
        "The bundled models are trained by `make models` with `seeing train`'s defaults: resize-convolution up "
        "layers (`--up resize`: each up layer a nearest-neighbour 2x upsample and a 3x3 convolution, trained "
        "as such and exported as the paper's 4x4 transposed convolution, so it cannot make a checkerboard), "
        "the L1 term (`--l1-weight 100`), an L1 term between the degraded output and the degraded target "
        "(`--lowpass-weight 100`: the output follows the camera) and a term matching the output's power "
        "spectrum to the targets' (`--spectral-weight 5`: detail, and no lines on the image axes); the "
        "epoch bundled is chosen by the held-out measures training logs. Why each, with the variants "
        "measured: [TRAINING.md](TRAINING.md).",
        "",
        *summary_table(results),
    ]
    if baseline:
        lines += baseline_section(baseline, results)
    for r in results:
        lines += [
            f"## {r['name']}",
            "",
            f"Preset {r['preset']}, {r['epoch']} epochs ({r['step']} steps"
            + (f", {r['train_seconds'] / 60:.0f} minutes of training" if "train_seconds" in r else "")
            + f"); {r['inputs']}."
            + (
                f" The uint8 file is byte-identical to the bundled `{r['bundled']}`: {r['bundled_identical']}."
                if "bundled" in r
                else ""
            ),
            "",
            "| precision | file size | held-out L1 | PSNR (dB) | SSIM | output PSNR vs float32 (dB) |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for prec, m in r["precisions"].items():
            vs = "reference" if prec == "float32" else f"{m['psnr_vs_float32']:.1f}"
            lines.append(
                f"| {prec} | {m['size'] / 1e6:.2f} MB | {m['l1']:.4f} | {m['psnr']:.2f} | {m['ssim']:.4f} | {vs} |"
            )
        lines += ["", *viewer_table(r["viewer"]), ""]
        f = r["flicker"]
        lines += [
            "",
            f"![degraded input | output (uint8) | target](quality/{r['grid']})",
            "",
            f"Flicker on a slowly panning clip ({f['frames']} frames, 2 px per frame), mean absolute change "
            "between consecutive frames in 0-255 units:",
            "",
            "| input (centre crop) | degraded input | output | output, smoothing " + f"{f['smooth']} |",
            "| ---: | ---: | ---: | ---: |",
            f"| {f['input']:.2f} | {f['degraded']:.2f} | {f['output']:.2f} | {f['output_smoothed']:.2f} |",
            "",
        ]
    return "\n".join(lines)


def viewer_table(viewer: dict, label: str = "", header: bool = True) -> list[str]:
    """Markdown rows of what a viewer sees (uint8 file) on the held-out images and on ordinary photos."""
    from .measures import LATTICE_K

    ks = " / ".join(str(k) for k in LATTICE_K)
    pre = f"{label}: " if label else ""
    lines = (
        []
        if not header
        else [
            "What a viewer sees (uint8 file; `seeing.measures`): the lattice ratio at k = " + ks + " cycles per "
            "256 px (natural images about 1; a checkerboard 5-300), input fidelity (PSNR of the output's own live "
            "degradation against the input it was given), detail (off-axis power at 24-120 cycles, outputs over "
            "targets) and colour (sliced Wasserstein distance of the RGB distributions to the targets, 0-255 units).",
            "",
            f"| inputs | lattice k = {ks} | worst | fidelity (dB) | detail | colour |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
    )

    def row(label, m):
        lat = " / ".join(f"{m['lattice'][str(k)]:.1f}" for k in LATTICE_K)
        return (
            f"| {label} | {lat} | {m['lattice_worst']:.1f} (k {m['lattice_worst_k']}) | {m['fidelity_db']:.1f} | "
            f"{m['detail']:.2f} | {m['colour']:.1f} |"
        )

    h = viewer["heldout"]
    lines.append(row(pre + "held-out images", h))
    if header:
        tgt = " / ".join(f"{h['lattice_targets'][str(k)]:.1f}" for k in LATTICE_K)
        lines.append(f"| their targets | {tgt} | {max(h['lattice_targets'].values()):.1f} | | 1.00 | 0.0 |")
    if "photos" in viewer:
        lines.append(row(f"{pre}{viewer['photos']['photos']} ordinary photos", viewer["photos"]))
    return lines


def write_report(
    runs: list[str | Path],
    out: str | Path,
    bundled_dir: Path | None = None,
    command: str = "",
    baseline: Path | None = None,
) -> list[dict]:
    """Evaluate each run (and the baseline model file, on the run of the same world) and write the report."""
    from .files import atomic_write

    out = Path(out)
    img_dir = out.parent / "quality"
    img_dir.mkdir(parents=True, exist_ok=True)
    results, held = [], {}
    for run in map(Path, runs):
        bundled = bundled_dir / f"{run_name(run)}.safetensors" if bundled_dir else None
        held[run] = heldout_set(run)
        results.append(evaluate_run(run, img_dir, bundled, held[run]))
    base = None
    if baseline:  # compared on the run of its world (the name before the first "-")
        world = next((r for r in held if run_name(r).split("-")[0] == Path(baseline).name.split("-")[0]), None)
        base = evaluate_baseline(Path(baseline), world, img_dir, held[world]) if world else None
    text = render(results, command or f"seeing quality {' '.join(map(str, runs))} --out {out}", base)
    atomic_write(out, [text.encode()])
    return results
