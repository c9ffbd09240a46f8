"""The corpus of malformed model files in tests/modelfiles/, checked by both parsers (modelfile.py and
web/modelfile.js, see test_modelfile_corpus.py), and how it is made.

Three good files (one per precision) of a tiny net, hand-made faults of every part of the format, and
seeded random mutations (bit flips, truncations, junk in the header) like the property test's.
`expected.json` holds each file's verdict: "ok" or "error" (for the random mutations: Python's verdict
when written). Rewrite the corpus after a format change with:

    .venv/bin/python tests/modelcorpus.py
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from seeing.arch import GeneratorConfig
from seeing.degrade import DegradeParams
from seeing.modelfile import ModelFileError, random_weights, read_model, write_model

CORPUS = Path(__file__).resolve().parent / "modelfiles"
CFG = GeneratorConfig(down=[2, 2], up=[2], resolution=4)
DEG = DegradeParams(resolution=4, grid=1)
MUTANTS = 60  # random mutations written out


def good_file(precision: str, cfg: GeneratorConfig = CFG, deg: DegradeParams = DEG) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.safetensors"
        write_model(path, cfg, deg, *random_weights(cfg, 0), precision, "corpus", {"epochs": 1})
        return path.read_bytes()


def split(data: bytes) -> tuple[dict, bytes]:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def join(header: dict | str, body: bytes) -> bytes:
    head = (header if isinstance(header, str) else json.dumps(header)).encode()
    return struct.pack("<Q", len(head)) + head + body


def edit(good: bytes, fn) -> bytes:
    """good with its header changed by fn(header) (in place)."""
    header, body = split(good)
    fn(header)
    return join(header, body)


def edit_meta(good: bytes, fn) -> bytes:
    """good with its `seeing` metadata changed by fn(meta) (in place)."""

    def change(h):
        meta = json.loads(h["__metadata__"]["seeing"])
        fn(meta)
        h["__metadata__"]["seeing"] = json.dumps(meta)

    return edit(good, change)


def set_in(block: str, **kw):
    return lambda m: m[block].update(kw)


def tensor_bytes(good: bytes, key: str) -> tuple[int, int]:
    """Absolute (start, end) of a tensor's bytes in the file."""
    header, body = split(good)
    start = len(good) - len(body)
    b0, b1 = header[key]["data_offsets"]
    return start + b0, start + b1


def patch(good: bytes, key: str, value: bytes, at: int = 0) -> bytes:
    b0, _ = tensor_bytes(good, key)
    return good[: b0 + at] + value + good[b0 + at + len(value) :]


def hole(good: bytes) -> bytes:
    """Four bytes of nothing after the first tensor; the later offsets shift to match."""
    header, body = split(good)
    first = min((e["data_offsets"][1], k) for k, e in header.items() if k != "__metadata__")
    end = first[0]
    for k, e in header.items():
        if k != "__metadata__" and e["data_offsets"][0] >= end:
            e["data_offsets"] = [e["data_offsets"][0] + 4, e["data_offsets"][1] + 4]
    return join(header, body[:end] + b"\0" * 4 + body[end:])


def nested(depth: int) -> object:
    x: object = 1
    for _ in range(depth):
        x = [x]
    return x


def hand_made(good: dict[str, bytes]) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, verdict) of the hand-made cases."""
    u8, f32, f16 = good["uint8"], good["float32"], good["float16"]
    header, body = split(u8)
    head_len = len(u8) - len(body) - 8
    raw_head = u8[8 : 8 + head_len].decode()
    big = GeneratorConfig(down=[1] * 13, up=[1] * 12, resolution=8192)
    edge = GeneratorConfig(down=[1] * 12, up=[1] * 11, resolution=4096)
    e = "error"
    cases = {
        "good-uint8": (u8, "ok"),
        "good-float32": (f32, "ok"),
        "good-float16": (f16, "ok"),
        # framing
        "empty": (b"", e),
        "short": (u8[:5], e),
        "truncated-header": (u8[: 8 + head_len // 2], e),
        "truncated-data": (u8[:-7], e),
        "header-length-beyond-file": (struct.pack("<Q", len(u8)) + u8[8:], e),
        "huge-header-length": (struct.pack("<Q", 1 << 62) + u8[8:], e),
        "header-not-json": (struct.pack("<Q", 4) + b"{{{{" + body, e),
        "header-bom": (join("\ufeff" + raw_head, body), e),
        "header-not-utf8": (join(raw_head, body)[:8] + b"\xff" + join(raw_head, body)[9:], e),
        "header-array": (join(json.dumps([header]), body), e),
        "header-nested-too-deep": (struct.pack("<Q", 2000) + b"[" * 1000 + b"]" * 1000 + body, e),
        "header-integral-float-offset": (
            join(raw_head.replace('"data_offsets":[0,', '"data_offsets":[0.0,', 1), body),
            e,
        ),
        "header-exponent-shape": (join(raw_head.replace('"shape":[2,', '"shape":[2e0,', 1), body), e),
        # tensor entries and the data they span
        "hole-between-tensors": (hole(u8), e),
        "bytes-after-last-tensor": (u8 + b"\0" * 4, e),
        "overlap": (edit(u8, lambda h: h["down.1.weight"].update(data_offsets=h["down.0.weight"]["data_offsets"])), e),
        "offsets-past-data": (edit(u8, lambda h: h["up.0.bias"].update(data_offsets=[len(body), len(body) + 8])), e),
        "offsets-reversed": (
            edit(u8, lambda h: h["up.0.bias"].update(data_offsets=h["up.0.bias"]["data_offsets"][::-1])),
            e,
        ),
        "offsets-negative": (edit(u8, lambda h: h["up.0.bias"].update(data_offsets=[-8, 0])), e),
        "wrong-dtype": (edit(u8, lambda h: h["down.0.bias"].update(dtype="I32")), e),
        "dtype-not-a-string": (edit(u8, lambda h: h["down.0.bias"].update(dtype=["F32"])), e),
        "dtype-inherited-name": (edit(u8, lambda h: h["down.0.bias"].update(dtype="toString")), e),
        "entry-extra-field": (edit(u8, lambda h: h["down.0.bias"].update(extra=1)), e),
        "entry-not-object": (edit(u8, lambda h: h.update({"down.0.bias": [1, 2]})), e),
        "wrong-shape": (edit(u8, lambda h: h["down.0.bias"].update(shape=[1, h["down.0.bias"]["shape"][0]])), e),
        "huge-shape": (edit(u8, lambda h: h["down.0.weight"].update(shape=[1 << 30, 1 << 30, 1 << 30])), e),
        "shape-2-pow-31": (edit(u8, lambda h: h["down.0.weight"].update(shape=[1 << 31, 0])), e),
        "negative-shape": (edit(u8, lambda h: h["down.0.bias"].update(shape=[-2])), e),
        "missing-tensor": (edit(u8, lambda h: h.pop("up.1.zero")), e),
        "weights-as-float32-in-uint8-file": (
            edit(u8, lambda h: h["down.0.weight"].update(dtype="F32", shape=[2, 1, 2, 2])),
            e,
        ),
        # metadata
        "no-metadata": (edit(u8, lambda h: h.pop("__metadata__")), e),
        "metadata-not-strings": (edit(u8, lambda h: h["__metadata__"].update(extra=1)), e),
        "not-seeing": (edit(u8, lambda h: h.update(__metadata__={"format": "pt"})), e),
        "seeing-not-json": (edit(u8, lambda h: h["__metadata__"].update(seeing="{")), e),
        "seeing-nan-constant": (
            edit(
                u8,
                lambda h: h["__metadata__"].update(
                    seeing=h["__metadata__"]["seeing"].replace('"epochs": 1', '"epochs": NaN')
                ),
            ),
            "ok",
        ),
        "leaky-slope-infinity": (
            edit(
                u8,
                lambda h: h["__metadata__"].update(
                    seeing=h["__metadata__"]["seeing"].replace('"leaky_slope": 0.2', '"leaky_slope": -Infinity')
                ),
            ),
            e,
        ),
        "seeing-nested-60": (edit_meta(u8, lambda m: m["training"].update(deep=nested(60))), "ok"),
        "seeing-nested-70": (edit_meta(u8, lambda m: m["training"].update(deep=nested(70))), e),
        "seeing-long-integer": (
            edit(
                u8,
                lambda h: h["__metadata__"].update(
                    seeing=h["__metadata__"]["seeing"].replace('"epochs": 1', '"epochs": ' + "9" * 400)
                ),
            ),
            "ok",
        ),
        "unknown-version": (edit_meta(u8, lambda m: m.update(version=99)), e),
        "version-true": (edit_meta(u8, lambda m: m.update(version=True)), e),
        "version-1.0": (edit_meta(u8, lambda m: m.update(version=1.0)), "ok"),
        "unknown-precision": (edit_meta(u8, lambda m: m.update(precision="int4")), e),
        "precision-mismatch": (edit_meta(u8, lambda m: m.update(precision="float32")), e),
        "no-architecture": (edit_meta(u8, lambda m: m.pop("architecture")), e),
        "architecture-array": (edit_meta(u8, lambda m: m.update(architecture=[2, 2])), e),
        # architecture and degradation
        "huge-filters": (edit_meta(u8, set_in("architecture", down=[1 << 20] * 2)), e),
        "filters-as-integral-floats": (edit_meta(u8, set_in("architecture", down=[2.0, 2.0], resolution=4.0)), "ok"),
        "filters-fractional": (edit_meta(u8, set_in("architecture", down=[2.5, 2])), e),
        "up-count-wrong": (edit_meta(u8, set_in("architecture", up=[2, 2])), e),
        "resolution-not-2-pow-down": (edit_meta(u8, set_in("architecture", resolution=8)), e),
        "resolution-8192": (good_file("float32", big, DegradeParams(resolution=8192, grid=1)), e),
        "resolution-4096": (good_file("float32", edge, DegradeParams(resolution=4096, grid=1)), "ok"),
        "in-channels-65": (edit_meta(u8, set_in("architecture", in_channels=65)), e),
        "in-channels-null": (edit_meta(u8, set_in("architecture", in_channels=None)), e),
        "leaky-slope-string": (edit_meta(u8, set_in("architecture", leaky_slope="0.2")), e),
        "bn-eps-string": (edit_meta(u8, set_in("architecture", bn_eps="x")), e),
        "degradation-resolution-differs": (edit_meta(u8, set_in("degradation", resolution=8)), e),
        "degradation-without-resolution": (edit_meta(u8, lambda m: m["degradation"].pop("resolution")), e),
        "grid-zero": (edit_meta(u8, set_in("degradation", grid=0)), e),
        "grid-above-resolution": (edit_meta(u8, set_in("degradation", grid=5)), e),
        "luma-two-numbers": (edit_meta(u8, set_in("degradation", luma=[0.5, 0.5])), e),
        "scale-range-one-number": (edit_meta(u8, set_in("degradation", scale_range=[1.0])), e),
        "flip-sideways": (edit_meta(u8, set_in("degradation", flip="sideways")), e),
        # values
        "nan-weight-float32": (patch(f32, "up.1.weight", np.float32(np.nan).tobytes(), 4), e),
        "inf-weight-float16": (patch(f16, "down.1.weight", np.float16(np.inf).tobytes(), 2), e),
        "nan-bias": (patch(u8, "up.0.bias", np.float32(np.nan).tobytes()), e),
        "nan-scale": (patch(u8, "down.0.scale", np.float32(np.nan).tobytes()), e),
        "scale-overflows-weights": (
            patch(patch(u8, "down.1.scale", np.float32(3e38).tobytes()), "down.1.zero", np.float32(-100).tobytes()),
            e,
        ),
    }
    return cases


def mutants(good: bytes, n: int = MUTANTS, seed: int = 0) -> dict[str, bytes]:
    """Seeded random mutations of a good file: bit flips, truncations and junk in one header field."""
    rng = np.random.default_rng(seed)
    header, body = split(good)
    junk = [None, True, -1, 0, 2**31, 2**64, 0.5, 1e308, "", "F32", "U8", "I64", [], [1, 2], [-5, 1 << 40], {"a": 1}]
    out = {}
    for i in range(n):
        kind = ("flip", "truncate", "header")[i % 3]
        if kind == "flip":
            buf = bytearray(good)
            for _ in range(int(rng.integers(1, 9))):
                buf[int(rng.integers(0, len(buf)))] ^= 1 << int(rng.integers(0, 8))
            data = bytes(buf)
        elif kind == "truncate":
            data = good[: int(rng.integers(0, len(good)))]
        else:
            h = json.loads(json.dumps(header))
            key = sorted(h)[int(rng.integers(0, len(h)))]
            value = junk[int(rng.integers(0, len(junk)))]
            if key == "__metadata__":
                meta = json.loads(h[key]["seeing"])
                sub = ["architecture", "degradation", "version", "precision", "format", "name"][int(rng.integers(0, 6))]
                if isinstance(meta[sub], dict):
                    meta[sub][sorted(meta[sub])[int(rng.integers(0, len(meta[sub])))]] = value
                else:
                    meta[sub] = value
                h[key]["seeing"] = json.dumps(meta)
            else:
                h[key][["dtype", "shape", "data_offsets", "extra"][int(rng.integers(0, 4))]] = value
            data = join(h, body)
        out[f"mutant-{i:02d}-{kind}"] = data
    return out


def python_verdict(data: bytes) -> str:
    """ "ok", "error" (one ModelFileError line naming the file), or "crash: ..." for anything else."""
    try:
        read_model(data, "model file")
    except ModelFileError as e:
        msg = str(e)
        return "error" if msg.startswith("model file: ") and "\n" not in msg else f"crash: {msg!r}"
    except Exception as e:  # noqa: BLE001  (a crash is what this looks for)
        return f"crash: {e.__class__.__name__}: {e}"
    return "ok"


def corpus() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, expected verdict) of the whole corpus."""
    good = {p: good_file(p) for p in ("uint8", "float32", "float16")}
    cases = hand_made(good)
    for name, data in mutants(good["uint8"]).items():
        cases[name] = (data, python_verdict(data))
    return cases


def write_corpus(folder: Path = CORPUS) -> None:
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.safetensors"):
        old.unlink()
    expected = {}
    for name, (data, verdict) in corpus().items():
        (folder / f"{name}.safetensors").write_bytes(data)
        expected[name] = verdict
    (folder / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    write_corpus()
    print(f"wrote {len(list(CORPUS.glob('*.safetensors')))} files into {CORPUS}")
