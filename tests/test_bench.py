"""`seeing bench --json` on the small preset: structure, and sizes that are the real file sizes."""

import json
import os

from seeing.arch import macs, param_counts, preset_config
from seeing.cli import main
from seeing.modelfile import read_model


def test_bench_json_small(tmp_path, capsys):
    main(["bench", "--json", "--presets", "small", "--frames", "2", "--clip-frames", "3", "--out", str(tmp_path)])
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1
    r = rows[0]
    cfg = preset_config("small")
    assert r["preset"] == "small" and r["params"] == 6_297_491 == param_counts(cfg)["params"]
    assert r["torch_params"] == 6_294_443 and r["macs"] == macs(cfg)
    assert set(r["sizes"]) == {"float32", "float16", "uint8"}
    for precision, size in r["sizes"].items():
        path = r["files"][precision]
        assert os.path.getsize(path) == size and read_model(path).precision == precision
    assert r["sizes"]["uint8"] <= 0.26 * r["sizes"]["float32"] and r["sizes"]["float16"] <= 0.51 * r["sizes"]["float32"]
    assert r["onnxruntime_ms"] > 0 and r["torch_ms"] > 0 and r["translate_fps"] > 0 and r["translate_frames"] == 3
