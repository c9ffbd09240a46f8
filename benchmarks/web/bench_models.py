"""The benchmark's nets: one set of random folded weights per preset, written for every runtime.

For a preset, a seed and a precision this writes, from the same random weights:
    PRESET.safetensors   our model file (uint8 by default, as shipped; or float16, float32), read by
                         our engines, and dequantized by `read_model` for every other conversion
    PRESET.onnx          the same net as an ONNX graph (`seeing.onnx_export`), for ONNX Runtime (native and Web)
    PRESET.tfjs.json/.bin  the same weights in TF.js layouts (conv HWIO, transposed conv HWOI)
                         with a layer list; bench.js builds the net from tf ops
Every conversion starts from `read_model` of our file, so all runtimes see the file's weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seeing.arch import GeneratorConfig, layer_shapes, preset_config
from seeing.degrade import DegradeParams
from seeing.modelfile import Model, read_model, write_model
from seeing.modelfile import random_weights as modelfile_random_weights


def random_weights(cfg: GeneratorConfig, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """seeing's random folded weights, with no bias on the first layer (it has no BatchNorm to fold one from)."""
    weights, biases = modelfile_random_weights(cfg, seed)
    biases[0][:] = 0
    return weights, biases


def layer_plan(model: Model) -> list[dict]:
    """Per layer: kind, channels, activation and slope, in forward order (shared by every conversion)."""
    cfg, plan = model.config, []
    shapes = layer_shapes(cfg)
    for i, layer in enumerate(shapes):
        last = i == len(shapes) - 1
        act = "tanh" if last else ("leaky" if layer["kind"] == "down" else "relu")
        plan.append(
            {
                "kind": layer["kind"],
                "cin": layer["cin"],
                "cout": layer["cout"],
                "act": act,
                "slope": cfg.leaky_slope,
                "concat": layer["kind"] == "up" and not last,
            }
        )
    return plan


def onnx_model(model: Model):
    """The net as an ONNX graph, input (N, 1, R, R) -> output (N, 3, R, R): seeing's own export of the file."""
    from seeing.onnx_export import build_onnx

    return build_onnx(model)


def tfjs_weights(model: Model) -> tuple[dict, bytes]:
    """TF.js layouts: conv2d filter (kh, kw, cin, cout), conv2dTranspose filter (kh, kw, cout, cin); NHWC nets."""
    layers, blobs, offset = [], [], 0
    for p, w, b in zip(layer_plan(model), model.weights, model.biases):
        f = w.transpose(2, 3, 1, 0) if p["kind"] == "down" else w.transpose(2, 3, 0, 1)
        entry = dict(p, filter_shape=list(f.shape))
        for key, arr in (("filter", f), ("bias", b)):
            data = np.ascontiguousarray(arr, np.float32).tobytes()
            entry[key + "_offset"] = offset // 4  # in float32 elements
            blobs.append(data)
            offset += len(data)
        layers.append(entry)
    manifest = {
        "resolution": model.config.resolution,
        "in_channels": model.config.in_channels,
        "out_channels": model.config.out_channels,
        "layers": layers,
    }
    return manifest, b"".join(blobs)


def write_bench_models(preset: str, out_dir: str | Path, seed: int = 0, precision: str = "uint8") -> dict[str, Path]:
    """Write (or reuse) the model file, ONNX and TF.js files of a preset; returns their paths. The peers
    get the model file's weights as float32 (a uint8 file's dequantized values): the same net."""
    from seeing.onnx_export import write_onnx

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{preset}-s{seed}-{precision}"
    paths = {
        "model": stem.with_suffix(".safetensors"),
        "onnx": stem.with_suffix(".onnx"),
        "tfjs_json": Path(f"{stem}.tfjs.json"),
        "tfjs_bin": Path(f"{stem}.tfjs.bin"),
    }
    if all(p.exists() for p in paths.values()):
        return paths
    cfg = preset_config(preset)
    weights, biases = random_weights(cfg, seed)
    write_model(
        paths["model"],
        cfg,
        DegradeParams(),
        weights,
        biases,
        precision=precision,
        name=f"bench-{preset}",
        training={"note": f"random weights, seed {seed}"},
    )
    model = read_model(paths["model"])
    write_onnx(model, paths["onnx"])
    manifest, blob = tfjs_weights(model)
    paths["tfjs_bin"].write_bytes(blob)
    paths["tfjs_json"].write_text(json.dumps(manifest))
    return paths
