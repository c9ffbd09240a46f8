"""Training in bfloat16 autocast and channels-last on CPU: one step agrees with float32 from the same state,
BatchNorm statistics and the losses stay float32, and resume is exact within one precision."""

from __future__ import annotations

import pytest
import torch

from seeing.arch import GeneratorConfig
from seeing.degrade import DegradeParams, default_grid, training_pair
from seeing.nets import Generator, PatchGAN
from seeing.train import gan_step, init_weights, load_checkpoint, to_layout

from support import tiny_train

NET = GeneratorConfig(down=[8, 16, 32, 32, 32, 32, 32], up=[32, 32, 32, 32, 16, 8], resolution=128)


def one_step(amp: bool, channels_last: bool) -> tuple[dict, dict]:
    """The losses of one pix2pix step from a fixed state and batch, and the BatchNorm buffers after it."""
    torch.manual_seed(0)
    gen, disc = Generator(NET, up="resize"), PatchGAN(4, 8)
    init_weights(gen)
    init_weights(disc)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    gen.to(memory_format=layout).train()
    disc.to(memory_format=layout).train()
    deg = DegradeParams(resolution=128, grid=default_grid(128))
    rgb = torch.rand(4, 3, 128, 128, generator=torch.Generator().manual_seed(1))
    inp, target = (to_layout(t, channels_last) for t in training_pair(rgb, deg, torch.Generator().manual_seed(2)))
    opt_g = torch.optim.Adam(gen.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), 2e-4, betas=(0.5, 0.999))
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    torch.manual_seed(3)  # the same dropout masks
    losses = gan_step(gen, disc, opt_g, opt_d, scaler, inp, target, 100.0, amp, freeze_d=True)
    buffers = {k: v for k, v in gen.state_dict().items() if "running" in k}
    return {k: float(v) for k, v in losses.items()}, buffers


def test_bf16_step_matches_fp32_within_bf16_rounding():
    torch.set_num_threads(1)
    ref, ref_buffers = one_step(False, False)
    for amp, cl in ((True, False), (True, True), (False, True)):
        got, buffers = one_step(amp, cl)
        # bfloat16 keeps 8 significant bits: a rounding is within u = 2^-8 (0.4 %) of the value. Convolutions
        # accumulate in float32, so an activation carries a few u of relative error; a loss is a mean over
        # thousands of them whose errors have random signs and average down, so one u bounds the losses
        # with margin (measured here: 0.06 %). BatchNorm's running statistics after one step are float32
        # but made from bfloat16 activations: a few u (4 % of the largest; measured 1.8 %). float32 in
        # another layout differs only in summation order.
        loss_tol, stat_tol = (4e-3, 4e-2) if amp else (1e-5, 1e-4)
        for k in ("d", "g_gan", "g_l1"):
            assert got[k] == pytest.approx(ref[k], rel=loss_tol), (amp, cl, k, got[k], ref[k])
        for k, v in buffers.items():  # float32 buffers whatever the autocast
            assert v.dtype in (torch.float32, torch.int64), k
            if v.dtype == torch.float32:
                torch.testing.assert_close(v, ref_buffers[k], rtol=0, atol=stat_tol * ref_buffers[k].abs().max())


@pytest.mark.parametrize("stop_step", [3])  # in the middle of epoch 2
def test_bf16_channels_last_resume_is_exact(tiny_synth, tmp_path, stop_step):
    """Asking for bfloat16 and channels-last, an interrupted run resumes bit-exact with both kept from the
    checkpoint. On a CPU without native bfloat16 (use_autocast is off) the same holds in float32."""
    args = dict(cpu_bf16=True, channels_last=True)
    full = tmp_path / "full"
    tiny_train(tiny_synth, full, **args)
    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        tiny_train(tiny_synth, out, interrupt_at_step=stop_step, **args)
    tiny_train(tiny_synth, out, resume=True, cpu_bf16=None, channels_last=None)  # kept from the run
    a, b = load_checkpoint(full), load_checkpoint(out)
    assert a["config"]["train"]["cpu_bf16"] is True and b["config"]["train"]["channels_last"] is True
    for k in ("generator", "discriminator"):
        for name in a[k]:
            assert torch.equal(a[k][name], b[k][name]), name
    assert a["metrics"] == {**b["metrics"], "images_per_s": a["metrics"]["images_per_s"]}
