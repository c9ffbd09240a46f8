"""Two processes on CPU with gloo via torchrun: sharded batches, only rank 0 writes, the checkpoint loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from seeing.train import load_checkpoint, load_generator


def test_torchrun_two_processes_gloo(tiny_synth, tmp_path):
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [
        str(torchrun),
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "seeing",
        "train",
        str(tiny_synth),
        "--down-filters",
        "4,4,4,4,4,4,4",
        "--up-filters",
        "4,4,4,4,4,4",
        "--disc-width",
        "4",
        "--epochs",
        "2",
        "--out",
        str(out),
        "--workers",
        "1",
        "--device",
        "cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "on cpu x 2" in r.stderr
    assert r.stdout.count("run saved in") == 1  # rank 0 only
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2]  # written once per epoch, by rank 0
    ck = load_checkpoint(out)
    # 9 training images over 2 ranks: 5 each (one padded), one batch per rank per epoch
    assert ck["epoch"] == 2 and ck["step"] == 2
    assert not any(k.startswith("module.") for k in ck["generator"])  # saved unwrapped
    gen, cfg, deg, _ = load_generator(out)
    y = gen(torch.zeros(1, 1, cfg.resolution, cfg.resolution))
    assert y.shape == (1, 3, 128, 128) and torch.isfinite(y).all()
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert not list(out.glob(".*tmp"))
