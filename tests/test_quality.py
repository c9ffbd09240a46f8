"""The quality report: flicker figures, and a tiny run reported end to end."""

import json
import math

import numpy as np

from seeing.quality import flicker, panning_clip

from conftest import run_cli


def test_flicker_is_mean_absolute_change():
    frames = [np.full((4, 4, 3), v, np.uint8) for v in (10, 13, 13, 3)]
    assert flicker(frames) == (3 + 0 + 10) / 3
    assert flicker([frames[0]] * 5) == 0.0


def test_panning_clip_moves_by_step():
    img = (np.arange(64 * 64 * 3) % 251).astype(np.uint8).reshape(64, 64, 3)
    clip = panning_clip(img, frames=5, window=32, step=2)
    assert len(clip) == 5 and all(f.shape == (32, 32, 3) for f in clip)
    assert np.array_equal(clip[1][:-2, :-2], clip[0][2:, 2:])  # the window moved 2 px down and right


def train_tiny(tmp_path, data):
    """A one-epoch run of a tiny net in tmp_path/tiny."""
    run = tmp_path / "tiny"
    r = run_cli(
        "train",
        data,
        "--down-filters",
        "4,4,4,4,4,4,4,4",
        "--up-filters",
        "4,4,4,4,4,4,4",
        "--epochs",
        "1",
        "--out",
        run,
        "--workers",
        "0",
    )
    assert r.returncode == 0, r.stderr
    return run


def test_report_of_a_tiny_run(tmp_path, tiny_synth):
    run = train_tiny(tmp_path, tiny_synth)
    bundled = tmp_path / "bundled"
    r = run_cli("export", run, "--out", bundled, "--name", "tiny")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "docs" / "QUALITY.md"
    r = run_cli("quality", run, "--out", out, "--bundled", bundled)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "| uint8 |" in text and "byte-identical to the bundled `tiny.safetensors`: True" in text
    assert (tmp_path / "docs" / "quality" / "tiny-samples.png").is_file()
    from seeing.quality import evaluate_run

    res = evaluate_run(run, tmp_path, bundled / "tiny.safetensors")
    p = res["precisions"]
    assert math.isinf(p["float32"]["psnr_vs_float32"]) and p["uint8"]["psnr_vs_float32"] > 35
    assert p["uint8"]["size"] < p["float16"]["size"] < p["float32"]["size"]
    assert res["flicker"]["output_smoothed"] <= res["flicker"]["output"] + 1e-9
    json.dumps(res)  # plain data throughout
    # what a viewer sees: the report's table, the figures, and the same measures per epoch in metrics.jsonl
    from seeing.measures import LATTICE_K

    v = res["viewer"]
    assert "| held-out images |" in text and "ordinary photos |" in text
    assert set(v["heldout"]["lattice"]) == {str(k) for k in LATTICE_K} and v["photos"]["photos"] == 13
    for m in (v["heldout"], v["photos"]):
        assert m["lattice_worst"] == max(m["lattice"].values()) and m["detail"] > 0 and m["colour"] > 0
        assert 5 < m["fidelity_db"] < 80
    epoch = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    for key in ("lattice", "lattice_worst", "lattice_targets", "fidelity_db", "detail", "colour"):
        assert key in epoch


def test_report_before_and_after(tmp_path, tiny_synth):
    """--baseline: an earlier model file measured on the run's own held-out images; the same weights as the run's
    uint8 export must give exactly the run's figures, and the report shows both grids side by side."""
    import shutil

    run = train_tiny(tmp_path, tiny_synth)
    assert run_cli("export", run, "--out", tmp_path, "--name", "tiny").returncode == 0
    before = tmp_path / "tiny-before.safetensors"
    shutil.copy(tmp_path / "tiny.safetensors", before)
    out = tmp_path / "docs" / "QUALITY.md"
    r = run_cli("quality", run, "--out", out, "--baseline", before)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "## Before and after: `tiny-before`" in text
    assert "![before](quality/tiny-before-samples.png) | ![after](quality/tiny-samples.png)" in text
    assert (tmp_path / "docs" / "quality" / "tiny-before-samples.png").is_file()
    from seeing.quality import evaluate_baseline, evaluate_run

    after = evaluate_run(run, tmp_path)
    base = evaluate_baseline(before, run, tmp_path)
    assert base["viewer"] == after["viewer"] and base["l1"] == after["precisions"]["uint8"]["l1"]
    assert f"Held-out L1: {base['l1']:.3f} before, {base['l1']:.3f} after." in text
    r = run_cli("quality", run / "last.pt", "--out", out)  # a checkpoint in a run: named after the run
    assert r.returncode == 0, r.stderr
    assert "## tiny" in out.read_text()
    r = run_cli("quality", run, "--out", out, "--baseline", tmp_path / "missing.safetensors")
    assert r.returncode == 2 and "missing.safetensors" in r.stderr
