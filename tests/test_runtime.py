"""The Python runtime: numpy + ONNX Runtime, frames of any size, parity with the torch generator."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from seeing.degrade import degrade_live
from seeing.export import fold_generator
from seeing.modelfile import write_model
from seeing.runtime import Runtime

from modelkit import random_generator, tiny_config, tiny_degradation

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    cfg = tiny_config(leaky_slope=0.3)
    gen = random_generator(cfg, seed=7)
    path = tmp_path_factory.mktemp("rt") / "m.safetensors"
    write_model(path, cfg, tiny_degradation(cfg), *fold_generator(gen), "float32", "rt")
    return path, gen


@pytest.mark.parametrize("shape", [(64, 64), (50, 70), (97, 31), (480, 640)])
def test_frames_of_any_size_match_torch(model, shape):
    path, gen = model
    rt = Runtime(path, threads=1)
    rng = np.random.default_rng(shape[0])
    frame = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    out = rt(frame, brightness=1.1, contrast=0.9)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    with torch.no_grad():
        x = degrade_live(torch.from_numpy(frame)[None], rt.model.degradation, 1.1, 0.9)
        ref = gen(x)[0].permute(1, 2, 0).numpy()
    ref8 = np.clip((ref + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(out.astype(int) - ref8).max() <= 1
    assert ref8.std() > 1  # outputs vary across the image


def test_run_degraded_batches(model):
    path, gen = model
    rt = Runtime(path)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 1, 64, 64)).astype(np.float32)
    out = rt.run_degraded(x)
    with torch.no_grad():
        ref = gen(torch.from_numpy(x)).numpy()
    assert out.shape == (3, 3, 64, 64) and np.abs(out - ref).max() < 1e-4


def test_runtime_needs_no_torch(model):
    path, _ = model
    code = (
        "import sys; sys.modules['torch'] = None\n"  # any torch import now fails
        "import numpy as np\n"
        "from seeing.runtime import Runtime\n"
        f"rt = Runtime({str(path)!r})\n"
        "out = rt(np.full((30, 40, 3), 128, np.uint8))\n"
        "assert out.shape == (64, 64, 3)\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_at_size_scales_the_grid_and_keeps_the_cell():
    from seeing.degrade import DegradeParams, at_size

    d = at_size(DegradeParams(), 512)
    assert (d.resolution, d.grid) == (512, 22) and d.resolution / d.grid == 256 / 11
    assert at_size(DegradeParams(resolution=64, grid=3), 128).grid == 6
    assert at_size(DegradeParams(), 256) == DegradeParams()


@pytest.mark.parametrize("shape", [(128, 128), (300, 410)])
def test_hd_size_matches_torch_at_that_size(model, shape):
    """The same generator at twice its side (fully convolutional) on the degradation at that size."""
    from seeing.degrade import at_size

    path, gen = model
    rt = Runtime(path, threads=1, size=128)
    assert rt.resolution == 128 and rt.degradation.grid == 2 * rt.model.degradation.grid
    frame = np.random.default_rng(shape[1]).integers(0, 256, (*shape, 3), dtype=np.uint8)
    out = rt(frame)
    assert out.shape == (128, 128, 3)
    with torch.no_grad():
        x = degrade_live(torch.from_numpy(frame)[None], at_size(rt.model.degradation, 128))
        ref = gen(x)[0].permute(1, 2, 0).numpy()
    ref8 = np.clip((ref + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(out.astype(int) - ref8).max() <= 1 and ref8.std() > 1


@pytest.mark.parametrize("size", [96, 32, 8192])
def test_sizes_the_net_cannot_run_are_one_line_errors(model, size):
    from seeing.errors import UserError

    with pytest.raises(UserError, match=r"multiples of 64"):
        Runtime(model[0], size=size)
