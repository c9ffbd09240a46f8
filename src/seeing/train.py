"""Training: pix2pix (GAN + 100 x L1) on pairs made by the degradation, on CPU, one GPU or many (torchrun).

`train()` is the whole loop as one function. A run folder holds config.json, heldout.json,
metrics.jsonl, samples/epoch_NNN.png, last.pt and epoch_NNN.pt checkpoints (the format is in
docs/CONTRACTS.md). Under torchrun every rank trains its shard of each epoch; only rank 0 writes.

Determinism: the sample order of an epoch comes from (seed, epoch), the random crops, flips and
brightness/contrast from a generator seeded by (seed, epoch, rank), dropout from the global torch RNG,
which the checkpoint carries. So `--resume`, also after Ctrl-C in the middle of an epoch, continues
exactly where the run stopped.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import random
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .arch import DISC_WIDTH, LOSS_WEIGHTS, GeneratorConfig
from .degrade import DegradeParams, default_grid, degrade, training_pair
from .errors import UserError
from .files import atomic_write
from .nets import Generator, PatchGAN, ResizeConvTranspose2d

CHECKPOINT_VERSION = 1


@dataclass
class TrainConfig:
    preset: str = "small"  # preset name, or "custom" for --down/--up/--config widths
    epochs: int | None = 10  # total epochs of the run (a resumed run may raise it); None: until --minutes ends it
    batch_size: int = 4  # per process
    lr: float = 2e-4  # Adam learning rate, both nets
    betas: tuple = (0.5, 0.999)  # Adam betas (pix2pix)
    l1_weight: float = LOSS_WEIGHTS["l1_weight"]  # weight of the L1 term against the GAN term
    seed: int = 0
    data: list = field(default_factory=list)  # the sources, as given
    disc_width: int = 16  # base width of the PatchGAN
    load_size: int = 333  # side of the cached images: resolution x the largest training rescale
    save_every: int = 10  # also keep epoch_NNN.pt every this many epochs (0: only last.pt)
    workers: int = 0  # threads decoding the dataset
    amp: bool = True  # mixed precision on CUDA (float16 + GradScaler)
    cpu_bf16: bool = (
        True  # bfloat16 autocast on CPUs with AVX512-BF16 or AMX (BatchNorm stats, losses: fp32); 1.3x here
    )
    channels_last: bool = False  # NHWC activations and weights: no gain measured on top of bf16 here (BENCHMARKS.md)
    up: str = "resize"  # how the up layers are trained (nets.UP_MODES); checkpoints without it used "transpose"
    lowpass_weight: float = LOSS_WEIGHTS["lowpass_weight"]  # L1, degraded (blurred grey) output against target's
    spectral_weight: float = LOSS_WEIGHTS["spectral_weight"]  # spectral_loss: output's power spectrum, target's

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        d["data"] = [str(x) for x in self.data]
        return d


# ---------------------------------------------------------------- set-up


def pick_device(name: str | None = None) -> torch.device:
    """The device to train on: the one named, else CUDA, then MPS, then CPU."""
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def init_distributed(device_name: str | None) -> tuple[int, int, torch.device]:
    """(rank, world size, device). Under torchrun (WORLD_SIZE > 1) joins the process group:
    NCCL with one GPU per local rank, gloo on CPU."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, pick_device(device_name)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), world, device


def init_weights(module: torch.nn.Module) -> None:
    """pix2pix initialisation: conv weights N(0, 0.02), BatchNorm gamma N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, ResizeConvTranspose2d):
            torch.nn.init.normal_(m.weight3, 0.0, 0.02)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, torch.nn.BatchNorm2d):
            torch.nn.init.normal_(m.weight, 1.0, 0.02)
            torch.nn.init.zeros_(m.bias)


def _mix(*xs: int) -> int:
    """A 63-bit seed from integers (the same on every machine, unlike hash() of strings)."""
    h = 0x9E3779B97F4A7C15
    for x in xs:
        h = ((h ^ (int(x) & 0xFFFFFFFFFFFFFFFF)) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h & 0x7FFFFFFFFFFFFFFF


def epoch_batches(n_train: int, batch: int, seed: int, epoch: int, rank: int, world: int) -> list[list[int]]:
    """This rank's batches (positions into the training list) for an epoch, as DistributedSampler
    would shard them; a last batch of one is merged into the one before (BatchNorm needs two)."""
    order = torch.randperm(n_train, generator=torch.Generator().manual_seed(_mix(seed, epoch))).tolist()
    per_rank = math.ceil(n_train / world)
    order += order[: per_rank * world - n_train]  # pad so every rank has as many batches
    mine = order[rank::world]
    batches = [mine[i : i + batch] for i in range(0, len(mine), batch)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        last = batches.pop()
        batches[-1] = batches[-1] + last
    return batches


def rng_state() -> dict:
    """Global RNG states as plain types (loadable with torch.load(weights_only=True))."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
        "python": random.getstate(),
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, np.asarray(keys, np.uint32), pos, has_gauss, gauss))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


def cpu_bf16_supported() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (oneDNN with AVX512-BF16 or AMX tiles)."""
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return torch.backends.mkldnn.is_available() and any(f() for f in checks if f is not None)


def use_autocast(tcfg: TrainConfig, dev: torch.device) -> bool:
    """Mixed precision for this run: float16 AMP on CUDA, bfloat16 on a CPU that supports it."""
    if dev.type == "cuda":
        return tcfg.amp
    return dev.type == "cpu" and tcfg.cpu_bf16 and cpu_bf16_supported()


def to_layout(t: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """A (B, C, H, W) batch in the run's memory layout."""
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


# ---------------------------------------------------------------- checkpoints


def checkpoint_path(path_or_run: str | os.PathLike) -> Path:
    p = Path(path_or_run)
    return p / "last.pt" if p.is_dir() else p


def load_checkpoint(path_or_run: str | os.PathLike, map_location="cpu") -> dict:
    """A checkpoint dict from a file or a run folder (RUN/last.pt); a bad one is a UserError."""
    p = checkpoint_path(path_or_run)
    if not p.is_file():
        raise UserError(f"{p}: no such checkpoint")
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        raise UserError(f"{p}: not a readable checkpoint ({type(e).__name__})") from None
    if not isinstance(ckpt, dict) or "generator" not in ckpt or "config" not in ckpt:
        raise UserError(f"{p}: not a seeing training checkpoint")
    return ckpt


def load_generator(path_or_run: str | os.PathLike):
    """(Generator in eval mode, GeneratorConfig, DegradeParams, checkpoint dict) from a checkpoint or run."""
    ckpt = load_checkpoint(path_or_run)
    cfg = GeneratorConfig.from_dict(ckpt["config"]["generator"])
    deg = DegradeParams.from_dict(ckpt["config"]["degradation"])
    gen = Generator(cfg, up=up_mode(ckpt))
    gen.load_state_dict(ckpt["generator"])
    return gen.eval(), cfg, deg, ckpt


def up_mode(ckpt: dict) -> str:
    """How a checkpoint's up layers were trained (runs from before the choice existed used "transpose")."""
    return (ckpt.get("config") or {}).get("train", {}).get("up", "transpose")


def _save(path: Path, obj: dict) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write(path, [buf.getvalue()])


# ---------------------------------------------------------------- metrics and samples


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of (B, C, H, W) images in [0, 1]: 11x11 Gaussian window, sigma 1.5, valid region."""
    c = x.shape[1]
    g = torch.exp(-((torch.arange(11, dtype=x.dtype, device=x.device) - 5) ** 2) / (2 * 1.5**2))
    g = g / g.sum()
    win = (g[:, None] * g[None, :]).expand(c, 1, 11, 11)

    def filt(t):
        return F.conv2d(t, win, groups=c)

    mx, my = filt(x), filt(y)
    vx, vy, cxy = filt(x * x) - mx * mx, filt(y * y) - my * my, filt(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    return (((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))).mean()


@torch.no_grad()
def evaluate(
    gen: torch.nn.Module, inp: torch.Tensor, target: torch.Tensor, deg: DegradeParams | None = None, batch: int = 8
) -> tuple[dict, torch.Tensor]:
    """Held-out L1 (on [-1, 1], as trained), PSNR and SSIM (on [0, 1]), and with `deg` what a viewer sees
    (seeing.measures: lattice, input fidelity, detail, colour); returns (metrics, outputs)."""
    from .measures import psnr

    was_training = gen.training
    gen.eval()
    outs = torch.cat([gen(inp[i : i + batch]).float() for i in range(0, len(inp), batch)])
    gen.train(was_training)
    a, b = (outs + 1) / 2, (target + 1) / 2
    metrics = {
        "heldout_l1": float((outs - target).abs().mean()),
        "psnr": psnr(a.double().cpu().numpy(), b.double().cpu().numpy(), per_image=True),
        "ssim": float(ssim(a, b)),
    }
    if deg is not None:
        from .measures import viewer_measures

        to_hwc = lambda t: t.clamp(0, 1).permute(0, 2, 3, 1).double().cpu().numpy()  # noqa: E731
        metrics.update(viewer_measures(to_hwc(a), to_hwc(b), inp.double().cpu().numpy(), deg))
    return metrics, outs


def sample_grid(inp: torch.Tensor, out: torch.Tensor, target: torch.Tensor) -> np.ndarray:
    """Rows of (degraded input | output | target) as one (rows * R, 3 * R, 3) uint8 image."""
    grey = inp.expand(-1, 3, -1, -1)
    rows = torch.cat([grey, out, target], dim=3)  # (B, 3, R, 3R)
    img = torch.cat(list(rows), dim=1)  # (3, B*R, 3R)
    return ((img.clamp(-1, 1) + 1) * 127.5 + 0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


# ---------------------------------------------------------------- time budget and live preview


class Budget:
    """A wall-clock budget for this invocation (`--minutes`); without minutes it is never spent."""

    def __init__(self, minutes: float | None):
        self.end = None if minutes is None else time.monotonic() + 60 * minutes

    def left(self) -> float | None:
        """Seconds left (None: no budget)."""
        return None if self.end is None else max(0.0, self.end - time.monotonic())

    def spent(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end

    def agreed_spent(self, world: int, dev: torch.device) -> bool:
        """Spent on any rank (so every rank stops at the same step under torchrun)."""
        flag = self.spent()
        if world > 1 and self.end is not None:
            import torch.distributed as dist

            t = torch.tensor([float(flag)], device=dev)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            flag = bool(t.item())
        return flag

    def postfix(self) -> dict:
        """The progress bar's time-left field (empty without a budget)."""
        left = self.left()
        if left is None:
            return {}
        m, s = divmod(int(left + 0.5), 60)
        return {"left": f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"}


def epoch_numbers(start: int, epochs: int | None):
    """The epochs to run: start..epochs-1, or unbounded (a time budget ends the run)."""
    return range(start, epochs) if epochs is not None else itertools.count(start)


def epoch_label(epoch: int, epochs: int | None) -> str:
    return f"epoch {epoch + 1}/{epochs}" if epochs is not None else f"epoch {epoch + 1}"


def write_live_model(out: Path, gen: torch.nn.Module, ckpt: dict) -> Path:
    """The generator as uint8 RUN/live.safetensors, atomically, with its epoch, step and held-out
    measures in the training facts: what `seeing serve --watch RUN` shows."""
    from .export import fold_generator, training_facts
    from .live import LIVE_MODEL
    from .modelfile import write_model

    cfg = GeneratorConfig.from_dict(ckpt["config"]["generator"])
    deg = DegradeParams.from_dict(ckpt["config"]["degradation"])
    weights, biases = fold_generator(gen)
    path = out / LIVE_MODEL
    write_model(path, cfg, deg, weights, biases, "uint8", out.name, training_facts(ckpt, str(out)))
    return path


# ---------------------------------------------------------------- the loop


def lowpass(rgb: torch.Tensor, blur: torch.Tensor) -> torch.Tensor:
    """The live degradation without brightness/contrast: (B, 3, R, R) in [-1, 1] -> (B, R, R) blurred luma."""
    from .degrade import LUMA

    grey = torch.einsum("bchw,c->bhw", rgb, torch.tensor(LUMA, dtype=rgb.dtype, device=rgb.device))
    return blur @ grey @ blur.T


_RINGS: dict = {}


def _rings(h: int, w: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """For an rfft2 of (h, w): a (h * (w // 2 + 1), h // 2) matrix summing each ring of radius 1..h/2, and counts."""
    key = (h, w, str(device))
    if key not in _RINGS:
        ky = torch.fft.fftfreq(h, 1 / h).abs()[:, None]
        kx = torch.arange(w // 2 + 1, dtype=torch.float32)[None, :]
        r = torch.sqrt(ky**2 + kx**2).round().long().flatten()
        onehot = (r[:, None] == torch.arange(1, h // 2 + 1)[None, :]).float()
        _RINGS[key] = (onehot.to(device), onehot.sum(0).to(device))
    return _RINGS[key]


def spectral_loss(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between the log power spectra of the outputs' and the targets' luma, over the batch: per ring of radius
    1..R/2 (how much detail at each scale: a blurred output is far below) and along the two image axes (where
    up-sampling lattices and streaks show). Power and texture placement are free; only the amount counts
    (after Durall et al., "Watch your up-convolution", CVPR 2020)."""
    from .degrade import LUMA

    luma = torch.tensor(LUMA, dtype=torch.float32, device=fake.device)
    h, w = fake.shape[-2:]
    rings, counts = _rings(h, w, fake.device)

    def spectra(rgb):
        f = torch.fft.rfft2(torch.einsum("bchw,c->bhw", rgb.float(), luma), norm="ortho")
        power = (f.real**2 + f.imag**2).mean(0)  # (h, w // 2 + 1), the batch's mean
        ring = power.flatten() @ rings / counts
        axes = torch.cat([power[1 : h // 2 + 1, 0], power[0, 1 : w // 2 + 1]])
        return torch.log(ring + 1e-8), torch.log(axes + 1e-8)

    (rf, af), (rt, at) = spectra(fake), spectra(target)
    return F.l1_loss(rf, rt) + F.l1_loss(af, at)


def gan_step(
    gen,
    disc,
    opt_g,
    opt_d,
    scaler,
    inp,
    target,
    l1_weight: float,
    amp: bool,
    freeze_d: bool,
    lowpass_weight: float = 0.0,
    blur: torch.Tensor | None = None,
    spectral_weight: float = 0.0,
) -> dict:
    """One pix2pix step: update D on (real, fake), then G on GAN + l1_weight x L1 (+ lowpass_weight x L1 of
    the blurred luma, what the next live frame's input is made of). Returns the losses."""

    def bce(logits, real: bool):  # in float32 whatever the autocast dtype
        logits = logits.float()
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(real)))

    dev = inp.device.type
    with torch.autocast(dev, enabled=amp):  # CPU: bfloat16; CUDA: float16
        fake = gen(inp)
        d_real = disc(inp, target)
        d_fake = disc(inp, fake.detach())
        loss_d = 0.5 * (bce(d_real, True) + bce(d_fake, False))
    opt_d.zero_grad(set_to_none=True)
    scaler.scale(loss_d).backward()
    scaler.step(opt_d)
    if freeze_d:  # saves D's weight gradients in the G step (not under DDP, whose hooks expect them)
        for p in disc.parameters():
            p.requires_grad_(False)
    with torch.autocast(dev, enabled=amp):
        d_fake_g = disc(inp, fake)
    # the losses outside autocast: their matmuls and FFTs run in float32
    fake = fake.float()
    loss_gan = bce(d_fake_g, True)
    loss_l1 = F.l1_loss(fake, target)
    loss_g = loss_gan + l1_weight * loss_l1
    if lowpass_weight:
        loss_g = loss_g + lowpass_weight * F.l1_loss(lowpass(fake, blur), lowpass(target, blur))
    if spectral_weight:
        loss_g = loss_g + spectral_weight * spectral_loss(fake, target)
    opt_g.zero_grad(set_to_none=True)
    scaler.scale(loss_g).backward()
    scaler.step(opt_g)
    scaler.update()
    if freeze_d:
        for p in disc.parameters():
            p.requires_grad_(True)
    return {"g_gan": loss_gan.detach(), "g_l1": loss_l1.detach(), "d": loss_d.detach()}


class _StopFlag:
    """Ctrl-C asks the loop to stop at the next step boundary (so the checkpoint is consistent);
    a second Ctrl-C interrupts at once."""

    def __init__(self):
        self.requested = False
        self.previous = None

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        import sys

        print("\nstopping after this step to save a checkpoint (Ctrl-C again to quit at once)", file=sys.stderr)

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


@dataclass
class _Run:
    """One invocation of `train`: its configs, data, nets and optimizers, and where it stands (set up by
    _set_up, advanced by _train_epoch and _end_epoch)."""

    out: Path
    rank: int
    world: int
    dev: torch.device
    gen_cfg: GeneratorConfig
    deg: DegradeParams
    tcfg: TrainConfig
    budget: Budget
    amp: bool
    say: object  # log on rank 0, nothing elsewhere
    ds: object  # data.Dataset
    cache: torch.Tensor  # (N, L, L, 3) uint8: every image decoded once
    train_idx: torch.Tensor
    gen: torch.nn.Module
    disc: torch.nn.Module
    g_model: torch.nn.Module  # gen, or its DistributedDataParallel wrapper under torchrun
    d_model: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    held_inp: torch.Tensor = None  # held-out pairs: the whole image at the model's resolution
    held_target: torch.Tensor = None
    blur: torch.Tensor = None  # the live degradation's blur matrix, for the low-pass loss
    start_epoch: int = 0
    step: int = 0
    steps_this_run: int = 0
    partial: dict | None = None  # {"batch", "acc", "pair_rng"} of a run stopped mid-epoch
    metrics: dict = field(default_factory=dict)

    def checkpoint(self, epoch_done: int, partial: dict | None = None) -> dict:
        cfg = {"generator": self.gen_cfg.to_dict(), "degradation": self.deg.to_dict(), "train": self.tcfg.to_dict()}
        return {
            "generator": self.gen.state_dict(),
            "discriminator": self.disc.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "config": cfg,
            "epoch": epoch_done,
            "step": self.step,
            "rng": rng_state(),
            "metrics": self.metrics,
            "partial": partial,
            "version": CHECKPOINT_VERSION,
        }


def _run_configs(out: Path, resume: bool, dev, data, gen_cfg, epochs, **train_args):
    """(checkpoint or None, data, GeneratorConfig, DegradeParams, TrainConfig) of a new or resumed run."""
    if resume:
        ckpt = load_checkpoint(out, map_location=dev)
        gen_cfg = GeneratorConfig.from_dict(ckpt["config"]["generator"])
        deg = DegradeParams.from_dict(ckpt["config"]["degradation"])
        tc = {
            "up": up_mode(ckpt),
            "cpu_bf16": False,
            "channels_last": False,
            "lowpass_weight": 0.0,
            "spectral_weight": 0.0,
            **ckpt["config"]["train"],
        }  # older runs: fp32, without the terms they did not have
        tcfg = TrainConfig(**{k: v for k, v in tc.items() if k in TrainConfig.__dataclass_fields__})
        tcfg.epochs = epochs
        return ckpt, list(data) or list(tcfg.data), gen_cfg, deg, tcfg
    if (out / "last.pt").exists():
        raise UserError(f"{out} already holds a run; add --resume to continue it, or choose another --out")
    gen_cfg = gen_cfg or GeneratorConfig()
    deg = DegradeParams(resolution=gen_cfg.resolution, grid=default_grid(gen_cfg.resolution))
    a = train_args
    tcfg = TrainConfig(
        preset=a["preset"],
        epochs=epochs,
        batch_size=a["batch_size"],
        lr=a["lr"],
        seed=a["seed"],
        data=[str(d) for d in data],
        disc_width=a["disc_width"] or DISC_WIDTH.get(a["preset"], 16),
        load_size=round(gen_cfg.resolution * max(deg.scale_range)),
        save_every=a["save_every"],
        workers=a["workers"],
        up=a["up"],
        lowpass_weight=a["lowpass_weight"],
        l1_weight=a["l1_weight"],
        spectral_weight=a["spectral_weight"],
    )
    return None, data, gen_cfg, deg, tcfg


def _set_up(
    data, out, gen_cfg, epochs, resume, device, workers, minutes, cpu_bf16, channels_last, progress, log, **train_args
) -> _Run:
    """Everything a run needs before its first step: configs (new or resumed), the data decoded once, the nets
    and optimizers initialised from the seed (or restored), and the held-out pairs."""
    from .data import load_dataset
    from .degrade import blur_matrix

    rank, world, dev = init_distributed(device)
    out = Path(out)
    ckpt, data, gen_cfg, deg, tcfg = _run_configs(
        out, resume, dev, data, gen_cfg, epochs, workers=workers, **train_args
    )
    if train_args["batch_size"] < 1 or (epochs is not None and epochs < 1):
        raise UserError("--batch-size and --epochs must be at least 1")
    if epochs is None and minutes is None:
        raise UserError("give --epochs, --minutes or both")
    budget = Budget(minutes)
    if cpu_bf16 is not None:
        tcfg.cpu_bf16 = cpu_bf16
    if channels_last is not None:
        tcfg.channels_last = channels_last
    say = log if rank == 0 else (lambda *a, **k: None)

    # Data: decoded once into a uint8 cache; each batch is augmented and degraded on the device.
    ds = load_dataset(
        data,
        side=tcfg.load_size,
        workers=workers,
        progress=progress and rank == 0,
        warn=(lambda m: say(m)) if rank == 0 else (lambda m: None),
    )
    if math.ceil(len(ds.train) / world) < 2:
        raise UserError(
            f"{len(ds.names)} images are too few: training needs at least 2 per process besides the held-out ones"
        )

    # Nets and optimizers, initialised from the seed (identical on every rank).
    torch.manual_seed(tcfg.seed)
    np.random.seed(tcfg.seed % 2**32)
    random.seed(tcfg.seed)
    gen, disc = Generator(gen_cfg, up=tcfg.up), PatchGAN(gen_cfg.in_channels + gen_cfg.out_channels, tcfg.disc_width)
    init_weights(gen)
    init_weights(disc)
    layout = torch.channels_last if tcfg.channels_last else torch.contiguous_format
    gen.to(dev, memory_format=layout).train()
    disc.to(dev, memory_format=layout).train()
    amp = use_autocast(tcfg, dev)
    run = _Run(
        out,
        rank,
        world,
        dev,
        gen_cfg,
        deg,
        tcfg,
        budget,
        amp,
        say,
        ds,
        torch.from_numpy(ds.images),
        torch.tensor(ds.train, dtype=torch.long),
        gen,
        disc,
        gen,
        disc,
        torch.optim.Adam(gen.parameters(), lr=tcfg.lr, betas=tuple(tcfg.betas)),
        torch.optim.Adam(disc.parameters(), lr=tcfg.lr, betas=tuple(tcfg.betas)),
        torch.amp.GradScaler(dev.type, enabled=amp and dev.type == "cuda"),
    )  # bfloat16 needs no scaling
    if ckpt is not None:
        _restore(run, ckpt)
    if world > 1:
        _wrap_ddp(run)

    # Held-out pairs: the whole image at the model's resolution, neutral brightness/contrast.
    res = gen_cfg.resolution
    held = ds.heldout[:64] or ds.train[:4]
    held_rgb = F.interpolate(
        run.cache[held].permute(0, 3, 1, 2).float().div(255),
        size=(res, res),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    ).clamp(0, 1)
    run.held_inp = degrade(held_rgb.double(), deg).float().to(dev)
    run.held_target = (held_rgb * 2 - 1).to(dev)
    run.blur = torch.from_numpy(blur_matrix(res, deg)).float().to(dev)
    return run


def _restore(run: _Run, ckpt: dict) -> None:
    """Nets, optimizers, RNGs and position of a resumed run."""
    run.gen.load_state_dict(ckpt["generator"])
    run.disc.load_state_dict(ckpt["discriminator"])
    run.opt_g.load_state_dict(ckpt["opt_g"])
    run.opt_d.load_state_dict(ckpt["opt_d"])
    if run.scaler.is_enabled() and ckpt.get("scaler"):
        run.scaler.load_state_dict(ckpt["scaler"])
    run.start_epoch, run.step = int(ckpt["epoch"]), int(ckpt["step"])
    if ckpt.get("partial") and run.world == 1:  # stopped mid-epoch: continue from that batch
        run.partial = ckpt["partial"]
    run.metrics = dict(ckpt.get("metrics") or {})
    set_rng_state(ckpt["rng"])
    run.say(f"resuming {run.out} at epoch {run.start_epoch} (step {run.step})")


def _wrap_ddp(run: _Run) -> None:
    """Under torchrun: the nets wrapped for gradient averaging; BatchNorm statistics stay per rank (rank 0's are saved)."""
    import warnings

    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [run.dev.index] if run.dev.type == "cuda" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        run.g_model = DDP(run.gen, device_ids=ids, broadcast_buffers=False)
        run.d_model = DDP(run.disc, device_ids=ids, broadcast_buffers=False)


def _write_run_files(run: _Run, minutes: float | None) -> None:
    """Rank 0: the run folder, config.json, heldout.json, metrics.jsonl cut back to the checkpoint; one line."""
    out, tcfg = run.out, run.tcfg
    out.mkdir(parents=True, exist_ok=True)
    (out / "samples").mkdir(exist_ok=True)
    config = {"generator": run.gen_cfg.to_dict(), "degradation": run.deg.to_dict(), "train": tcfg.to_dict()}
    atomic_write(out / "config.json", [json.dumps(config, indent=2).encode()])
    atomic_write(out / "heldout.json", [json.dumps([run.ds.names[i] for i in run.ds.heldout], indent=1).encode()])
    metrics_path = out / "metrics.jsonl"
    if metrics_path.exists():  # drop lines of epochs the checkpoint does not hold
        lines = [ln for ln in metrics_path.read_text().splitlines() if ln.strip()]
        keep = [ln for ln in lines if json.loads(ln).get("epoch", 0) <= run.start_epoch]
        atomic_write(metrics_path, [("\n".join(keep) + "\n" if keep else "").encode()])
    run.say(
        f"training {tcfg.preset} ({sum(p.numel() for p in run.gen.parameters()):,} params) on {len(run.ds.train)} "
        f"images ({len(run.ds.heldout)} held out) for "
        + (f"{tcfg.epochs} epochs" if tcfg.epochs else "")
        + (" at most " if tcfg.epochs and minutes else "")
        + (f"{minutes:g} minutes" if minutes else "")
        + f" on {run.dev}"
        + (f" x {run.world}" if run.world > 1 else "")
        + (", bfloat16 autocast" if run.amp and run.dev.type == "cpu" else "")
        + (", channels-last" if tcfg.channels_last else "")
    )


def _train_epoch(run: _Run, epoch: int, stop, progress: bool, interrupt_at_step: int | None) -> dict | None:
    """One epoch's steps (from where a stopped run left off); returns the epoch's loss sums, or None where the
    time budget ran out (then OUT/last.pt holds the position). Ctrl-C saves the same way, then raises."""
    from tqdm import tqdm

    tcfg, out = run.tcfg, run.out
    batches = epoch_batches(len(run.ds.train), tcfg.batch_size, tcfg.seed, epoch, run.rank, run.world)
    pair_gen = torch.Generator().manual_seed(_mix(tcfg.seed, epoch, run.rank, 1))
    acc = {"g_gan": 0.0, "g_l1": 0.0, "d": 0.0, "n": 0, "images": 0, "seconds": 0.0}
    first = 0
    if run.partial and run.partial["batch"]:
        first, acc = run.partial["batch"], dict(run.partial["acc"])
        pair_gen.set_state(run.partial["pair_rng"])
        run.partial = None
    bar = tqdm(
        total=len(batches),
        initial=first,
        desc=epoch_label(epoch, tcfg.epochs),
        unit="batch",
        disable=not progress or run.rank != 0,
        leave=False,
        dynamic_ncols=True,
    )
    for b in range(first, len(batches)):
        out_of_time = run.world == 1 and run.steps_this_run > 0 and run.budget.spent()  # torchrun: at epoch ends
        if stop.requested or out_of_time:
            bar.close()
            if run.rank == 0:
                _save(
                    out / "last.pt", run.checkpoint(epoch, {"batch": b, "acc": acc, "pair_rng": pair_gen.get_state()})
                )
                run.say(
                    f"{'time budget spent' if out_of_time else 'interrupted'}: saved {out / 'last.pt'} "
                    f"(epoch {epoch + 1}, batch {b}); continue with --resume"
                )
            if stop.requested:
                raise KeyboardInterrupt
            return None
        t0 = time.perf_counter()
        idx = run.train_idx[torch.tensor(batches[b])]
        rgb = run.cache[idx].to(run.dev, non_blocking=True).permute(0, 3, 1, 2).float().div_(255)
        inp, target = (to_layout(t, tcfg.channels_last) for t in training_pair(rgb, run.deg, pair_gen))
        losses = gan_step(
            run.g_model,
            run.d_model,
            run.opt_g,
            run.opt_d,
            run.scaler,
            inp,
            target,
            tcfg.l1_weight,
            run.amp,
            freeze_d=run.world == 1,
            lowpass_weight=tcfg.lowpass_weight,
            blur=run.blur,
            spectral_weight=tcfg.spectral_weight,
        )
        run.step += 1
        run.steps_this_run += 1
        for k in ("g_gan", "g_l1", "d"):
            acc[k] += float(losses[k]) * len(idx)
        acc["n"] += len(idx)
        acc["images"] += len(idx) * run.world
        acc["seconds"] += time.perf_counter() - t0
        bar.update(1)
        bar.set_postfix(
            g_l1=f"{acc['g_l1'] / acc['n']:.4f}",
            g_gan=f"{acc['g_gan'] / acc['n']:.3f}",
            d=f"{acc['d'] / acc['n']:.3f}",
            img_s=f"{acc['images'] / acc['seconds']:.1f}",
            **run.budget.postfix(),
        )
        if interrupt_at_step is not None and run.steps_this_run == interrupt_at_step:
            signal.raise_signal(signal.SIGINT)
    bar.close()
    return acc


def _end_epoch(run: _Run, epoch: int, acc: dict, live: bool) -> None:
    """The epoch's losses summed over ranks; on rank 0 its held-out measures, sample grid, checkpoints, live
    model, metrics.jsonl line and report (run.metrics)."""
    sums = torch.tensor([acc["g_gan"], acc["g_l1"], acc["d"], acc["n"]], dtype=torch.float64)
    if run.world > 1:
        import torch.distributed as dist

        dist.all_reduce(sums)
    if run.rank != 0:
        return
    out, tcfg = run.out, run.tcfg
    metrics = {
        "epoch": epoch + 1,
        "step": run.step,
        "g_gan": sums[0].item() / sums[3].item(),
        "g_l1": sums[1].item() / sums[3].item(),
        "d": sums[2].item() / sums[3].item(),
        "images_per_s": acc["images"] / max(acc["seconds"], 1e-9),
    }
    held_metrics, held_out = evaluate(run.gen, run.held_inp, run.held_target, run.deg)
    metrics.update(held_metrics)
    run.metrics = metrics
    grid = sample_grid(run.held_inp[:4], held_out[:4], run.held_target[:4])
    from .synth import png_bytes

    atomic_write(out / "samples" / f"epoch_{epoch + 1:03d}.png", [png_bytes(grid)])
    ck = run.checkpoint(epoch + 1)
    _save(out / "last.pt", ck)
    if tcfg.save_every and (epoch + 1) % tcfg.save_every == 0:
        _save(out / f"epoch_{epoch + 1:03d}.pt", ck)
    if live:
        write_live_model(out, run.gen, ck)
    with open(out / "metrics.jsonl", "a") as f:
        f.write(json.dumps(metrics) + "\n")
    run.say(
        f"{epoch_label(epoch, tcfg.epochs)}: g_l1 {metrics['g_l1']:.4f} g_gan {metrics['g_gan']:.3f} "
        f"d {metrics['d']:.3f} | held-out L1 {metrics['heldout_l1']:.4f} PSNR {metrics['psnr']:.2f} "
        f"SSIM {metrics['ssim']:.3f} lattice {metrics['lattice_worst']:.1f} (k {metrics['lattice_worst_k']}) "
        f"fidelity {metrics['fidelity_db']:.1f} dB detail {metrics['detail']:.2f} "
        f"colour {metrics['colour']:.1f} | {metrics['images_per_s']:.1f} img/s"
    )


def train(
    data: list[str | os.PathLike],
    out: str | os.PathLike,
    gen_cfg: GeneratorConfig | None = None,
    preset: str = "small",
    epochs: int = 10,
    batch_size: int = 4,
    lr: float = 2e-4,
    seed: int = 0,
    resume: bool = False,
    device: str | None = None,
    workers: int = 0,
    save_every: int = 10,
    disc_width: int | None = None,
    up: str = "resize",
    lowpass_weight: float = LOSS_WEIGHTS["lowpass_weight"],
    l1_weight: float = LOSS_WEIGHTS["l1_weight"],
    spectral_weight: float = LOSS_WEIGHTS["spectral_weight"],
    progress: bool = True,
    minutes: float | None = None,
    live: bool = False,
    cpu_bf16: bool | None = None,
    channels_last: bool | None = None,
    interrupt_at_step: int | None = None,
    log=print,
) -> dict:
    """Train a generator on DATA into the run folder OUT; returns the last epoch's metrics.

    `epochs` None trains until `minutes` (this invocation's budget) is spent; when it is, the run stops
    at the next step and saves OUT/last.pt, resumable like an interrupt. `live` writes OUT/live.safetensors
    after every epoch (write_live_model). `cpu_bf16` and `channels_last` (None: the TrainConfig default, or
    the resumed run's) choose the CPU speed-ups. Raises KeyboardInterrupt after saving OUT/last.pt when
    interrupted (Ctrl-C). `interrupt_at_step` sends this process SIGINT after that many optimizer steps
    (for tests).
    """
    run = _set_up(
        data,
        out,
        gen_cfg,
        epochs,
        resume,
        device,
        workers,
        minutes,
        cpu_bf16,
        channels_last,
        progress,
        log,
        preset=preset,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        save_every=save_every,
        disc_width=disc_width,
        up=up,
        lowpass_weight=lowpass_weight,
        l1_weight=l1_weight,
        spectral_weight=spectral_weight,
    )
    if run.rank == 0:
        _write_run_files(run, minutes)
    epoch = run.start_epoch
    try:
        with _StopFlag() if run.world == 1 else _NoStop() as stop:
            for epoch in epoch_numbers(run.start_epoch, run.tcfg.epochs):
                if run.steps_this_run and run.budget.agreed_spent(run.world, run.dev):  # every invocation steps once
                    run.say(f"time budget spent after epoch {epoch} (step {run.step}); continue with --resume")
                    break
                acc = _train_epoch(run, epoch, stop, progress, interrupt_at_step)
                if acc is None:
                    break
                _end_epoch(run, epoch, acc, live)
    except KeyboardInterrupt:
        if run.world > 1 and run.rank == 0:  # under torchrun: best effort, the epoch restarts
            _save(run.out / "last.pt", run.checkpoint(epoch))
            run.say(f"interrupted: saved {run.out / 'last.pt'} (restarts epoch {epoch + 1}); continue with --resume")
        raise
    if run.world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return run.metrics


class _NoStop:
    """Under torchrun, Ctrl-C reaches every rank: the default KeyboardInterrupt ends them all."""

    requested = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None
