"""`seeing export`: a checkpoint or run folder -> one model file (BatchNorm folded, optionally quantized) and ONNX.

Folding (eval-mode BatchNorm, per output channel o): s = gamma / sqrt(var + eps), w' = w * s, b' = beta - mean * s.
For a ConvTranspose2d the output channel is axis 1 of torch's weight; the model file stores (cout, cin, 4, 4).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import UserError
from .measures import output_psnr as psnr


def _bn_scale_shift(norm) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift) of an eval-mode BatchNorm2d as float64 arrays; identity for nn.Identity."""
    import torch

    if not isinstance(norm, torch.nn.BatchNorm2d):
        return None, None
    var = norm.running_var.detach().double().numpy()
    mean = norm.running_mean.detach().double().numpy()
    gamma = norm.weight.detach().double().numpy() if norm.weight is not None else np.ones_like(var)
    beta = norm.bias.detach().double().numpy() if norm.bias is not None else np.zeros_like(var)
    scale = gamma / np.sqrt(var + norm.eps)  # the module's own eps (1e-5 ours, 1e-3 Keras)
    return scale, beta - mean * scale


def fold_generator(gen) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Folded float32 (weights (cout, cin, 4, 4), biases (cout,)) per layer, down then up, from a nets.Generator."""
    weights, biases = [], []
    for layer in gen.down:
        w = layer.conv.weight.detach().double().numpy()  # (cout, cin, 4, 4)
        bias = layer.conv.bias.detach().double().numpy() if layer.conv.bias is not None else np.zeros(w.shape[0])
        scale, shift = _bn_scale_shift(layer.norm)
        if scale is None:
            scale, shift = np.ones(w.shape[0]), np.zeros(w.shape[0])
        weights.append((w * scale[:, None, None, None]).astype(np.float32))
        biases.append((bias * scale + shift).astype(np.float32))
    for layer in list(gen.up) + [gen.final]:
        conv = layer if layer is gen.final else layer.conv
        w = conv.weight.detach().double().numpy().transpose(1, 0, 2, 3)  # torch (cin, cout, k, k) -> (cout, cin, k, k)
        bias = conv.bias.detach().double().numpy() if conv.bias is not None else np.zeros(w.shape[0])
        scale, shift = (None, None) if layer is gen.final else _bn_scale_shift(layer.norm)
        if scale is None:
            scale, shift = np.ones(w.shape[0]), np.zeros(w.shape[0])
        weights.append((w * scale[:, None, None, None]).astype(np.float32))
        biases.append((bias * scale + shift).astype(np.float32))
    return weights, biases


def folded_module(model):
    """A torch module running a loaded `Model` (folded weights): for PyTorch timing and parity checks."""
    import torch
    import torch.nn.functional as F

    class Folded(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = [
                torch.tensor(w if k == "down" else w.transpose(1, 0, 2, 3)) for w, k in zip(model.weights, model.kinds)
            ]
            self.b = [torch.tensor(b) for b in model.biases]

        def forward(self, x):  # (B, in, R, R)
            skips, n_down = [], len(model.config.down)
            for i in range(n_down):
                x = F.leaky_relu(F.conv2d(x, self.w[i], self.b[i], 2, 1), model.config.leaky_slope)
                skips.append(x)
            for j in range(n_down, len(self.w)):
                x = F.conv_transpose2d(x, self.w[j], self.b[j], 2, 1)
                if j == len(self.w) - 1:
                    return torch.tanh(x)  # (B, out, R, R)
                x = torch.cat([F.relu(x), skips[-2 - (j - n_down)]], 1)

    return Folded().eval()


def load_checkpoint(path: str | Path):
    """(Generator in eval mode, GeneratorConfig, DegradeParams, checkpoint dict) from a checkpoint or run folder."""
    from .train import load_generator

    try:
        return load_generator(path)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:  # a dict that is not our checkpoint
        raise UserError(
            f"{path}: not a seeing checkpoint ({e.__class__.__name__}: "
            f"{str(e).splitlines()[0][:200] if str(e) else ''})"
        ) from None


def training_facts(ckpt: dict, source: str) -> dict:
    """The training facts that travel in the model file's metadata."""
    train = dict((ckpt.get("config") or {}).get("train") or {})
    facts = {
        k: train[k]
        for k in ("preset", "epochs", "batch_size", "lr", "l1_weight", "lowpass_weight", "seed")
        if k in train
    }
    facts["up"] = train.get("up", "transpose")  # how the up layers were trained (the file's layers are the same)
    if "data" in train:
        sources = train["data"] if isinstance(train["data"], list) else [train["data"]]
        facts["data"] = ", ".join(Path(str(d)).name for d in sources)
    facts.update({"epoch": ckpt.get("epoch"), "step": ckpt.get("step"), "source": Path(source).name})
    metrics = ckpt.get("metrics")
    if isinstance(metrics, dict):
        facts["metrics"] = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str))}
    return {k: v for k, v in facts.items() if v is not None}


def heldout_images(source: str | Path, ckpt: dict, side: int, n: int = 8) -> tuple[np.ndarray, str]:
    """(N, side, side, 3) uint8 held-out images of the run, else synth images; and where they came from."""
    from . import data as data_mod

    run = Path(source) if Path(source).is_dir() else Path(source).parent
    images = []
    heldout = run / "heldout.json"
    if heldout.exists():
        try:
            names = json.loads(heldout.read_text())
        except (OSError, ValueError):
            names = []
        if isinstance(names, dict):
            names = names.get("heldout") or names.get("names") or []
        base = Path(str(((ckpt.get("config") or {}).get("train") or {}).get("data", "")))
        for name in names if isinstance(names, list) else []:
            if not isinstance(name, str) or "#" in name:
                continue  # video frames are not files
            for p in (Path(name), run / name, base / name, base.parent / name):
                if p.is_file():
                    try:
                        images.append(data_mod.square(data_mod.read_image(p), side))
                    except Exception:  # an unreadable image just drops out of the check
                        pass
                    break
            if len(images) >= n:
                break
    if images:
        return np.stack(images), f"{len(images)} held-out images"
    from .synth import KINDS, make_image

    imgs = [make_image(KINDS[i % len(KINDS)], 12345, i, side) for i in range(n)]
    return np.stack(imgs), f"{n} synth images (no held-out images found)"


def degraded_inputs(images: np.ndarray, deg) -> np.ndarray:
    """(N, 1, R, R) float32 degraded inputs of square uint8 images, neutral brightness/contrast."""
    from .degrade import degrade_frame

    return np.stack([degrade_frame(img, deg) for img in images])[:, None].astype(np.float32)


def export(
    source: str | Path,
    out_dir: str | Path | None = None,
    name: str | None = None,
    precision: str = "uint8",
    onnx: bool = False,
) -> dict:
    """Export a checkpoint or run folder. Returns a report: paths, sizes, params, PSNR vs float32."""
    import torch

    from .modelfile import PRECISIONS, read_model, write_model
    from .runtime import Runtime

    if precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    gen, cfg, deg, ckpt = load_checkpoint(source)
    src = Path(source)
    name = name or (src.name if src.is_dir() else src.stem)
    out = Path(out_dir) if out_dir else (src if src.is_dir() else src.parent)
    weights, biases = fold_generator(gen)
    path = out / f"{name}.safetensors"
    meta = write_model(path, cfg, deg, weights, biases, precision, name, training_facts(ckpt, str(source)))
    model = read_model(path)

    images, origin = heldout_images(source, ckpt, cfg.resolution)
    x = degraded_inputs(images, deg)
    with torch.no_grad():
        ref = gen(torch.from_numpy(x)).numpy()  # the float32 checkpoint, BatchNorm unfolded
    rt = Runtime(model)
    got = np.concatenate([rt.run_degraded(xi) for xi in x])
    report = {
        "path": str(path),
        "size": path.stat().st_size,
        "params": meta["params"],
        "precision": precision,
        "psnr": psnr(got, ref),
        "inputs": origin,
    }
    if onnx:
        from .onnx_export import write_onnx

        onnx_path = out / f"{name}.onnx"
        report["onnx_path"], report["onnx_size"] = str(onnx_path), write_onnx(model, onnx_path)
    return report
