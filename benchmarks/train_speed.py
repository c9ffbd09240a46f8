"""Training speed per preset on this machine: images/s of full pix2pix steps (degradation + D + G updates).

A benchmark, not a test. Random images stand in for data (the step's cost does not depend on them).

    .venv/bin/python benchmarks/train_speed.py [--device cpu|cuda|mps] [--steps 10] [--presets small,medium,large]
                                               [--threads N] [--up resize,transpose] [--json]
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from seeing.arch import DISC_WIDTH, param_counts, preset_config
from seeing.degrade import DegradeParams, training_pair
from seeing.nets import Generator, PatchGAN
from seeing.train import gan_step, init_weights, pick_device


def sync(dev: torch.device):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


def measure(preset: str, dev: torch.device, steps: int, warmup: int, batch: int, amp: bool,
            up: str = "resize") -> dict:
    cfg = preset_config(preset)
    deg = DegradeParams()
    torch.manual_seed(0)
    gen, disc = Generator(cfg, up=up).to(dev).train(), PatchGAN(4, DISC_WIDTH[preset]).to(dev).train()
    init_weights(gen)
    init_weights(disc)
    opt_g = torch.optim.Adam(gen.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), 2e-4, betas=(0.5, 0.999))
    amp = amp and dev.type == "cuda"
    scaler = torch.amp.GradScaler(dev.type, enabled=amp)
    cache = torch.randint(0, 256, (batch * 4, 333, 333, 3), dtype=torch.uint8)  # like the training cache
    pairs = torch.Generator().manual_seed(0)

    def step(i):
        idx = torch.arange(i * batch, (i + 1) * batch) % len(cache)
        rgb = cache[idx].to(dev).permute(0, 3, 1, 2).float().div_(255)
        inp, target = training_pair(rgb, deg, pairs)
        gan_step(gen, disc, opt_g, opt_d, scaler, inp, target, 100.0, amp, freeze_d=True)

    for i in range(warmup):
        step(i)
    sync(dev)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    sync(dev)
    dt = (time.perf_counter() - t0) / steps
    return {"preset": preset, "params": param_counts(cfg)["params"], "disc_width": DISC_WIDTH[preset],
            "device": str(dev), "up": up, "amp": amp, "batch": batch, "s_per_step": dt, "images_per_s": batch / dt}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per preset")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--presets", default="small,medium,large")
    ap.add_argument("--no-amp", action="store_true", help="float32 on CUDA too")
    ap.add_argument("--threads", type=int, help="torch CPU threads (on a busy shared machine 1 avoids oversubscription)")
    ap.add_argument("--up", default="resize", help="comma-separated up modes to compare (resize, transpose)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = pick_device(a.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    rows = [measure(p.strip(), dev, a.steps, a.warmup, a.batch_size, not a.no_amp, up.strip())
            for p in a.presets.split(",") for up in a.up.split(",")]
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"training speed on {dev} ({name}), torch {torch.__version__}, batch {a.batch_size}, {a.steps} steps")
    print(f"{'preset':<8} {'up':<9} {'params':>12} {'D width':>8} {'amp':>5} {'s/step':>9} {'images/s':>9}")
    for r in rows:
        print(f"{r['preset']:<8} {r['up']:<9} {r['params']:>12,} {r['disc_width']:>8} {str(r['amp']):>5} "
              f"{r['s_per_step']:>9.4f} "
              f"{r['images_per_s']:>9.1f}")


if __name__ == "__main__":
    main()
