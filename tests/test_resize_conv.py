"""Resize-convolution up layers: trained as nearest 2x upsample + 3x3 conv, exported as the paper's 4x4 layers."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seeing.export import export, psnr
from seeing.modelfile import read_model
from seeing.nets import Generator, ResizeConvTranspose2d, expand_kernel
from seeing.runtime import Runtime
from seeing.train import load_generator

from modelkit import save_checkpoint, synth_batch, tiny_config, tiny_degradation, trained_generator

torch.set_num_threads(1)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
@pytest.mark.parametrize("cin,cout,side", [(3, 5, 7), (16, 4, 8), (1, 1, 2)])
def test_expanded_kernel_is_nearest_upsample_then_3x3(dtype, tol, cin, cout, side):
    g = torch.Generator().manual_seed(cin * 100 + cout)
    layer = ResizeConvTranspose2d(cin, cout, bias=True).to(dtype)
    with torch.no_grad():
        layer.weight3.copy_(torch.randn(layer.weight3.shape, generator=g, dtype=dtype))
        layer.bias.copy_(torch.randn(cout, generator=g, dtype=dtype))
    x = torch.randn(2, cin, side, side, generator=g, dtype=dtype)
    resize_conv = F.conv2d(
        F.interpolate(x, scale_factor=2, mode="nearest"), layer.weight3.transpose(0, 1), layer.bias, padding=1
    )
    with torch.no_grad():
        got = layer(x)
    assert got.shape == (2, cout, 2 * side, 2 * side)
    assert (got - resize_conv).abs().max().item() < tol * max(1.0, resize_conv.abs().max().item())
    # and the layer is an ordinary ConvTranspose2d with the expanded kernel
    k = expand_kernel(layer.weight3)
    assert k.shape == (cin, cout, 4, 4)
    ref = F.conv_transpose2d(x, k, layer.bias, stride=2, padding=1)
    assert torch.equal(got, ref)


def test_expanded_kernel_rows():
    """In 1-D the four taps are (w1, w0 + w1, w-1 + w0, w-1) of the 3-tap kernel (w-1, w0, w1)."""
    w = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    w[0, 0, 1] = torch.tensor([2.0, 3.0, 5.0])  # the middle row: w-1, w0, w1
    k = expand_kernel(w)[0, 0]
    assert k[1].tolist() == [5.0, 8.0, 5.0, 2.0] and k[2].tolist() == [5.0, 8.0, 5.0, 2.0]
    assert k[0].abs().sum() == 0 and k[3].abs().sum() == 0


def test_flat_input_gives_flat_output():
    """No checkerboard: a constant input map gives a constant output away from the border (a free 4x4 does not)."""
    g = torch.Generator().manual_seed(0)
    resize = ResizeConvTranspose2d(4, 3, bias=False)
    free = torch.nn.ConvTranspose2d(4, 3, 4, 2, 1, bias=False)
    with torch.no_grad():
        resize.weight3.copy_(torch.randn(resize.weight3.shape, generator=g))
        free.weight.copy_(torch.randn(free.weight.shape, generator=g))
        x = torch.ones(1, 4, 8, 8)
        inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))
        r, f = resize(x)[inner], free(x)[inner]
    assert (r - r[..., :1, :1]).abs().max().item() < 1e-5
    assert (f - f[..., :1, :1]).abs().max().item() > 0.1


@pytest.fixture(scope="module")
def resize_run(tmp_path_factory):
    cfg = tiny_config()
    deg = tiny_degradation(cfg)
    gen = trained_generator(cfg, deg, steps=30, seed=2, up="resize")
    run = tmp_path_factory.mktemp("resize-run")
    save_checkpoint(run / "last.pt", gen, deg, up="resize")
    return run, gen, cfg, deg


def test_checkpoint_records_and_restores_the_up_mode(resize_run, tmp_path):
    run, gen, cfg, deg = resize_run
    loaded, _, _, ckpt = load_generator(run)
    assert ckpt["config"]["train"]["up"] == "resize"
    assert isinstance(loaded.final, ResizeConvTranspose2d) and "final.weight3" in loaded.state_dict()
    # a checkpoint from before the choice existed (no "up") is the paper's free kernels
    old = save_checkpoint(tmp_path / "old" / "last.pt", Generator(cfg), deg)
    assert isinstance(load_generator(old)[0].final, torch.nn.ConvTranspose2d)


@pytest.mark.parametrize("precision,min_db", [("float32", 60), ("uint8", 40)])
def test_exported_resize_model_matches_torch_through_runtime(resize_run, tmp_path, precision, min_db):
    run, gen, cfg, deg = resize_run
    rep = export(run, tmp_path, "r", precision)
    model = read_model(rep["path"])
    assert model.meta["training"]["up"] == "resize"
    rt = Runtime(rep["path"])
    frames = synth_batch(4, 96, seed=5)  # images it never saw, larger than the model: the live crop and pooling
    x = np.stack([rt.degrade(f) for f in frames])[:, None]
    with torch.no_grad():
        ref = gen(torch.from_numpy(x)).numpy()
    got = np.concatenate([rt.run_degraded(xi[None]) for xi in x])
    assert ref.std() > 0.05
    assert psnr(got, ref) >= min_db
