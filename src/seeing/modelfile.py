"""The model file: one `.safetensors` with folded weights and a `seeing` metadata block (DESIGN section 4).

Layout (format version 1), numpy only so every runtime can use it:

    header  __metadata__["seeing"] = JSON {format, version, name, precision, architecture,
                                          degradation, training, params, macs}
    down.{i}.weight   (cout, cin, 4, 4)   conv weight, BatchNorm folded in
    down.{i}.bias     (cout,) float32      (zeros for the first layer, which has no BatchNorm)
    up.{j}.weight     (cout, cin, 4, 4)   transposed-conv weight stored as [out, in, ky, kx]
                                          (torch's ConvTranspose2d weight with axes 0 and 1 swapped)
    up.{j}.bias       (cout,) float32      the last up layer is the 3-channel tanh output
    {layer}.scale, {layer}.zero  (cout,) float32, uint8 files only: w = scale * (q - zero)

Weights are uint8, float16 or float32 (the file's precision); biases, scales and zeros float32.
`read_model` checks every length, offset, dtype and shape before it touches the data. The page's parser
(web/modelfile.js) gives the same verdict on every file of tests/modelfiles/, with the same limits (below).
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .arch import MAX_RUN_SIZE, GeneratorConfig, layer_shapes, macs, param_counts
from .degrade import DegradeParams
from .files import atomic_write

FORMAT = "seeing-model"
VERSION = 1
PRECISIONS = ("float32", "float16", "uint8")
_DTYPES = {"F32": np.float32, "F16": np.float16, "U8": np.uint8}
_DTYPE_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}
_WEIGHT_DTYPE = {"float32": "F32", "float16": "F16", "uint8": "U8"}
MAX_HEADER = 1 << 24  # 16 MiB of JSON is far beyond any real header
MAX_DEPTH = 64  # nesting of JSON arrays and objects
MAX_RESOLUTION = MAX_RUN_SIZE  # 4096, also the largest side a model runs at
MAX_FILTERS = 8192
MAX_CHANNELS = 64
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string literal
_BRACKET = re.compile(r"[\[\]{}]")
_CONSTANT = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|-?Infinity|NaN')  # a string (kept), or a constant


class ModelFileError(ValueError):
    """A model file that is not a valid seeing model; the message says what and where."""


@dataclass
class Model:
    """A loaded model file: metadata and dequantized float32 weights, layer by layer."""

    config: GeneratorConfig
    degradation: DegradeParams
    precision: str
    name: str
    meta: dict  # the whole `seeing` metadata block
    weights: list[np.ndarray]  # per layer, (cout, cin, 4, 4) float32, down layers then up layers
    biases: list[np.ndarray]  # per layer, (cout,) float32
    kinds: list[str]  # "down" or "up", per layer


def layer_names(cfg: GeneratorConfig) -> list[str]:
    """Tensor name prefixes of the layers, in forward order."""
    n_down = len(cfg.down)
    return [f"down.{i}" for i in range(n_down)] + [f"up.{j}" for j in range(len(cfg.up) + 1)]


def quantize_uint8(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-output-channel affine uint8: returns (q, scale, zero) with w ~= scale * (q - zero)."""
    flat = w.reshape(w.shape[0], -1).astype(np.float64)
    lo, hi = np.minimum(flat.min(1), 0.0), np.maximum(flat.max(1), 0.0)
    scale = (hi - lo) / 255.0
    scale[scale == 0] = 1.0
    zero = -lo / scale
    q = np.clip(np.round(flat / scale[:, None] + zero[:, None]), 0, 255).astype(np.uint8)
    return q.reshape(w.shape), scale.astype(np.float32), zero.astype(np.float32)


def dequantize_uint8(q: np.ndarray, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    shape = (-1,) + (1,) * (q.ndim - 1)
    with np.errstate(over="ignore", invalid="ignore"):  # a broken file's overflow: read_model rejects the result
        return (scale.reshape(shape) * (q.astype(np.float32) - zero.reshape(shape))).astype(np.float32)


def build_meta(cfg: GeneratorConfig, deg: DegradeParams, precision: str, name: str, training: dict | None) -> dict:
    counts = param_counts(cfg)
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": name,
        "precision": precision,
        "architecture": cfg.to_dict(),
        "degradation": deg.to_dict(),
        "training": training or {},
        "params": counts["params"],
        "trainable": counts["trainable"],
        "macs": macs(cfg),
    }


def random_weights(
    cfg: GeneratorConfig, seed: int = 0, bias_std: float = 0.1
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """He-scaled random folded weights and biases per layer (activations stay O(1)): for demos, tests, benchmarks."""
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for layer in layer_shapes(cfg):
        fan_in = layer["cin"] * (16 if layer["kind"] == "down" else 4)  # taps each output gathers (stride 2)
        weights.append(rng.normal(0, (2.0 / fan_in) ** 0.5, (layer["cout"], layer["cin"], 4, 4)).astype(np.float32))
        biases.append(rng.normal(0, bias_std, layer["cout"]).astype(np.float32))
    return weights, biases


def write_model(
    path: str | os.PathLike,
    cfg: GeneratorConfig,
    deg: DegradeParams,
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    precision: str = "uint8",
    name: str = "model",
    training: dict | None = None,
) -> dict:
    """Write folded float weights (per layer, (cout, cin, 4, 4)) as a model file, atomically. Returns the metadata."""
    if precision not in PRECISIONS:
        raise ModelFileError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    tensors: dict[str, np.ndarray] = {}
    for prefix, w, b in zip(layer_names(cfg), weights, biases, strict=True):
        w = np.asarray(w, np.float32)
        if precision == "uint8":
            q, scale, zero = quantize_uint8(w)
            tensors[f"{prefix}.weight"], tensors[f"{prefix}.scale"], tensors[f"{prefix}.zero"] = q, scale, zero
        else:
            tensors[f"{prefix}.weight"] = w.astype(np.float16 if precision == "float16" else np.float32)
        tensors[f"{prefix}.bias"] = np.asarray(b, np.float32)
    meta = build_meta(cfg, deg, precision, name, training)
    header: dict = {"__metadata__": {"seeing": json.dumps(_finite(meta))}}
    offset, blobs = 0, []
    for key, arr in tensors.items():
        data = np.ascontiguousarray(arr).tobytes()
        header[key] = {
            "dtype": _DTYPE_NAMES[arr.dtype],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # safetensors aligns the data to 8 bytes
    atomic_write(path, [struct.pack("<Q", len(head)), head, *blobs])
    return meta


def _fail(where: str, what: str):
    raise ModelFileError(f"{where}: {what}")


def _finite(x):
    """x with every NaN or infinite float replaced by None: the metadata stays standard JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _loads(text: str):
    """json.loads as JSON.parse reads it in modelfile.js: NaN, Infinity and -Infinity (which Python's json writes)
    read as null, no nesting deeper than MAX_DEPTH, and integers of more than 300 digits as floats (JS numbers).
    Raises ValueError (or RecursionError) on a fault."""
    text = _CONSTANT.sub(lambda m: m.group(1) or "null", text)
    depth = 0
    for m in _BRACKET.finditer(_STRING.sub('""', text)):
        if m.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError("nested too deep")
        else:
            depth -= 1
    return json.loads(text, parse_int=lambda t: int(t) if len(t) <= 300 else float(t))


def parse_header(data: bytes, where: str = "model file") -> tuple[dict, dict, int]:
    """Check the safetensors framing; returns (tensor entries, metadata, data start)."""
    if len(data) < 8:
        _fail(where, f"too short to be a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        _fail(where, f"header length {n} runs past the end of the file ({len(data)} bytes)")
    try:
        header = _loads(data[8 : 8 + n].decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        _fail(where, f"header is not valid JSON ({e.__class__.__name__})")
    if not isinstance(header, dict):
        _fail(where, "header is not a JSON object")
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        _fail(where, "no __metadata__ block of strings (not a seeing model file)")
    size = len(data) - 8 - n
    spans = []
    for key, e in header.items():
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            _fail(where, f"tensor {key!r} entry must have exactly dtype, shape and data_offsets")
        if not isinstance(e["dtype"], str) or e["dtype"] not in _DTYPES:
            _fail(where, f"tensor {key!r} has unsupported dtype {e['dtype']!r}")
        shape, offs = e["shape"], e["data_offsets"]
        if not (isinstance(shape, list) and all(type(s) is int and 0 <= s < 1 << 31 for s in shape)):
            _fail(where, f"tensor {key!r} has an invalid shape {shape!r}")
        if not (
            isinstance(offs, list)
            and len(offs) == 2
            and all(type(o) is int for o in offs)
            and 0 <= offs[0] <= offs[1] <= size
        ):
            _fail(where, f"tensor {key!r} has offsets {offs!r} outside the data ({size} bytes)")
        count = math.prod(shape)  # Python ints: no overflow, nothing allocated
        if count * np.dtype(_DTYPES[e["dtype"]]).itemsize != offs[1] - offs[0]:
            _fail(where, f"tensor {key!r}: {offs[1] - offs[0]} bytes do not hold shape {shape} of {e['dtype']}")
        spans.append((offs[0], offs[1], key))
    spans.sort()
    for (_, e0, k0), (b1, _, k1) in zip(spans, spans[1:]):
        if b1 < e0:
            _fail(where, f"tensors {k0!r} and {k1!r} overlap")
    # Like the safetensors package: the tensors tile the data exactly, no holes, nothing after.
    covered = 0
    for b0, e0, key in spans:
        if b0 != covered:
            _fail(where, f"tensor {key!r} starts at {b0}, expected {covered} (hole in the data)")
        covered = e0
    if covered != size:
        _fail(where, f"{size - covered} bytes after the last tensor")
    return header, meta, 8 + n


def parse_meta(meta: dict, where: str) -> dict:
    try:
        info = _loads(meta["seeing"])
    except KeyError:
        _fail(where, "metadata has no 'seeing' entry (not a seeing model file)")
    except (ValueError, RecursionError):
        _fail(where, "the 'seeing' metadata is not valid JSON")
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        _fail(where, "the 'seeing' metadata does not name the seeing-model format")
    if not (_is_num(info.get("version")) and info["version"] == VERSION):
        _fail(where, f"unknown format version {info.get('version')!r} (this seeing reads version {VERSION})")
    if info.get("precision") not in PRECISIONS:
        _fail(where, f"unknown precision {info.get('precision')!r}")
    if not isinstance(info.get("architecture"), dict) or not isinstance(info.get("degradation"), dict):
        _fail(where, "metadata lacks architecture or degradation")
    return info


def _is_int(x, lo: int, hi: int) -> bool:
    """An integer in [lo, hi]; JSON has one number type, so 64.0 counts (as JSON.parse reads it)."""
    return (type(x) is int or (type(x) is float and x.is_integer())) and lo <= x <= hi


def _ints(d: dict, keys: tuple) -> dict:
    """d with these keys' (checked) integral values, or lists of them, as ints."""
    out = dict(d)
    for k in keys:
        if k in out:
            out[k] = [int(x) for x in out[k]] if isinstance(out[k], list) else int(out[k])
    return out


def _is_num(x) -> bool:
    return type(x) in (int, float) and math.isfinite(x)


def _check_architecture(info: dict, where: str) -> tuple[GeneratorConfig, DegradeParams]:
    """Types and ranges of the architecture and degradation, before anything is built from them."""
    a, d = info["architecture"], info["degradation"]
    for key in ("down", "up"):
        f = a.get(key)
        if not (isinstance(f, list) and all(_is_int(x, 1, MAX_FILTERS) for x in f)):
            _fail(where, f"architecture {key!r} must be a list of integers from 1 to {MAX_FILTERS}")
    if not (
        _is_int(a.get("resolution"), 2, MAX_RESOLUTION)
        and _is_int(a.get("in_channels", 1), 1, MAX_CHANNELS)
        and _is_int(a.get("out_channels", 3), 1, MAX_CHANNELS)
        and _is_num(a.get("leaky_slope", 0.2))
        and _is_num(a.get("bn_eps", 1e-5))
    ):
        _fail(where, "architecture resolution, channels, leaky_slope or bn_eps out of range")
    luma = d.get("luma", [0.299, 0.587, 0.114])
    if not (
        _is_int(d.get("resolution"), 2, MAX_RESOLUTION)
        and _is_int(d.get("grid", 11), 1, MAX_RESOLUTION)
        and _is_num(d.get("bicubic_a", -0.75))
        and isinstance(luma, list)
        and len(luma) == 3
        and all(_is_num(x) for x in luma)
    ):
        _fail(where, "degradation resolution, grid, bicubic_a or luma out of range")
    for key in ("scale_range", "brightness_range", "contrast_range"):
        r = d.get(key, [1.0, 1.0])
        if not (isinstance(r, list) and len(r) == 2 and all(_is_num(x) for x in r)):
            _fail(where, f"degradation {key} must be two numbers")
    try:
        cfg = GeneratorConfig.from_dict(_ints(a, ("down", "up", "resolution", "in_channels", "out_channels")))
        deg = DegradeParams.from_dict(_ints(d, ("resolution", "grid")))
    except (TypeError, ValueError) as e:
        _fail(where, f"invalid architecture or degradation: {e}")
    if deg.resolution != cfg.resolution:
        _fail(where, f"degradation resolution {deg.resolution} differs from the architecture's {cfg.resolution}")
    return cfg, deg


def read_model(path_or_bytes, where: str | None = None) -> Model:
    """Load and fully validate a model file (path or bytes); raises ModelFileError on anything malformed."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data, where = bytes(path_or_bytes), where or "model file"
    else:
        where = where or str(path_or_bytes)
        try:
            data = Path(path_or_bytes).read_bytes()
        except OSError as e:
            _fail(where, f"cannot read ({e.strerror or e})")
    entries, meta, start = parse_header(data, where)
    info = parse_meta(meta, where)
    cfg, deg = _check_architecture(info, where)
    precision = info["precision"]

    def tensor(key: str, dtype: str, shape: tuple) -> np.ndarray:
        e = entries.get(key)
        if e is None:
            _fail(where, f"missing tensor {key!r}")
        if e["dtype"] != dtype or tuple(e["shape"]) != tuple(shape):
            _fail(where, f"tensor {key!r} is {e['dtype']}{e['shape']}, expected {dtype}{list(shape)}")
        b0, b1 = e["data_offsets"]
        return np.frombuffer(data, _DTYPES[dtype], count=int(np.prod(shape)), offset=start + b0).reshape(shape)

    weights, biases, kinds = [], [], []
    names = layer_names(cfg)
    expected = set()
    for name, layer in zip(names, layer_shapes(cfg)):
        shape = (layer["cout"], layer["cin"], 4, 4)
        w = tensor(f"{name}.weight", _WEIGHT_DTYPE[precision], shape)
        expected.add(f"{name}.weight")
        if precision == "uint8":
            scale = tensor(f"{name}.scale", "F32", shape[:1])
            zero = tensor(f"{name}.zero", "F32", shape[:1])
            expected |= {f"{name}.scale", f"{name}.zero"}
            w = dequantize_uint8(w, scale, zero)
        weights.append(np.asarray(w, np.float32))
        biases.append(tensor(f"{name}.bias", "F32", shape[:1]).astype(np.float32))
        expected.add(f"{name}.bias")
        kinds.append(layer["kind"])
    extra = set(entries) - expected
    if extra:
        _fail(where, f"unexpected tensors {sorted(extra)[:3]}")
    for name, w, b in zip(names, weights, biases):
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            _fail(where, f"layer {name} has NaN or infinite weights")
    return Model(cfg, deg, precision, str(info.get("name", "model")), info, weights, biases, kinds)
