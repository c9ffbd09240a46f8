"""Training speed per preset on this machine: images/s of full pix2pix steps (degradation + D + G updates).

A benchmark, not a test. Random images stand in for data (the step's cost does not depend on them).
Each path (how a step runs) trains its own nets from the same seed; the paths take turns, `--rounds`
rounds of `--steps` steps each, so a busy machine slows them alike; the table gives the median round
and each path's speed-up over the first path as the median of per-round ratios.

Paths: fp32 (the old path: float32, NCHW), cl (channels-last), bf16 (CPU bfloat16 autocast), bf16-cl,
amp / amp-cl (CUDA float16 autocast with GradScaler), and any of them with "+compile" (torch.compile of
both nets; its compile time is reported apart).

With `--heldout-steps N` the paths instead train N steps on synth images (nebula, the same batches) and
report held-out L1 on 8 other synth images: the speed-up must not cost quality.

    .venv/bin/python benchmarks/train_speed.py [--device cpu|cuda|mps] [--paths fp32,bf16-cl] [--steps 3]
        [--rounds 5] [--presets small] [--threads N] [--up resize,transpose] [--heldout-steps N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from seeing.arch import DISC_WIDTH, param_counts, preset_config
from seeing.degrade import DegradeParams, training_pair
from seeing.nets import Generator, PatchGAN
from seeing.train import cpu_bf16_supported, gan_step, init_weights, pick_device, to_layout


def sync(dev: torch.device):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


def parse_path(name: str, dev: torch.device) -> dict:
    """{"amp", "channels_last", "compile"} of a path name such as "bf16-cl+compile"."""
    base, _, extra = name.partition("+")
    amp = base.startswith(("bf16", "amp"))
    if base.startswith("bf16") and (dev.type != "cpu" or not cpu_bf16_supported()):
        raise SystemExit(f"path {name}: bfloat16 autocast needs a CPU with AVX512-BF16 or AMX")
    if base.startswith("amp") and dev.type != "cuda":
        raise SystemExit(f"path {name}: amp is CUDA's float16 autocast")
    return {"name": name, "amp": amp, "channels_last": base.endswith("cl"), "compile": extra == "compile"}


class Runner:
    """One path's nets, optimizers and data, stepping on demand."""

    def __init__(self, preset: str, dev: torch.device, batch: int, up: str, path: dict, cache=None):
        cfg = preset_config(preset)
        self.deg, self.dev, self.batch, self.path = DegradeParams(), dev, batch, path
        torch.manual_seed(0)
        layout = torch.channels_last if path["channels_last"] else torch.contiguous_format
        gen, disc = Generator(cfg, up=up), PatchGAN(4, DISC_WIDTH[preset])
        init_weights(gen)
        init_weights(disc)
        self.gen, self.disc = gen.to(dev, memory_format=layout).train(), disc.to(dev, memory_format=layout).train()
        self.opt_g = torch.optim.Adam(gen.parameters(), 2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(disc.parameters(), 2e-4, betas=(0.5, 0.999))
        self.scaler = torch.amp.GradScaler(dev.type, enabled=path["amp"] and dev.type == "cuda")
        self.cache = cache if cache is not None else torch.randint(0, 256, (batch * 4, 333, 333, 3), dtype=torch.uint8)
        self.pairs = torch.Generator().manual_seed(0)
        self.g_model, self.d_model = self.gen, self.disc
        self.compile_s = 0.0
        if path["compile"]:
            self.g_model, self.d_model = torch.compile(self.gen), torch.compile(self.disc)
        self.i = 0

    def step(self):
        idx = torch.arange(self.i * self.batch, (self.i + 1) * self.batch) % len(self.cache)
        self.i += 1
        rgb = self.cache[idx].to(self.dev).permute(0, 3, 1, 2).float().div_(255)
        inp, target = (to_layout(t, self.path["channels_last"]) for t in training_pair(rgb, self.deg, self.pairs))
        return gan_step(
            self.g_model,
            self.d_model,
            self.opt_g,
            self.opt_d,
            self.scaler,
            inp,
            target,
            100.0,
            self.path["amp"],
            freeze_d=True,
        )

    def timed(self, steps: int) -> tuple[float, float]:
        """(wall seconds, this process's CPU seconds) per step over `steps` steps. On a busy machine the CPU
        time (with --threads 1) says more about the work than the wall time."""
        sync(self.dev)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            self.step()
        sync(self.dev)
        return (time.perf_counter() - t0) / steps, (time.process_time() - c0) / steps


def compare(
    preset: str, dev: torch.device, paths: list[dict], steps: int, rounds: int, warmup: int, batch: int, up: str
) -> list[dict]:
    runners = [Runner(preset, dev, batch, up, p) for p in paths]
    for r in runners:
        t0 = time.perf_counter()
        for _ in range(warmup):
            r.step()
        sync(dev)
        r.compile_s = time.perf_counter() - t0 if r.path["compile"] else 0.0
    times, cpu = [[] for _ in runners], [[] for _ in runners]
    for k in range(rounds):
        order = runners if k % 2 == 0 else runners[::-1]  # alternate who goes first
        for r in order:
            wall, used = r.timed(steps)
            times[runners.index(r)].append(wall)
            cpu[runners.index(r)].append(used)
    rows = []
    for r, ts, cs in zip(runners, times, cpu):
        med = statistics.median(ts)
        rows.append(
            {
                "preset": preset,
                "path": r.path["name"],
                "params": param_counts(preset_config(preset))["params"],
                "disc_width": DISC_WIDTH[preset],
                "device": str(dev),
                "up": up,
                "batch": batch,
                "s_per_step": med,
                "s_per_step_rounds": ts,
                "images_per_s": batch / med,
                "speedup": statistics.median([a / b for a, b in zip(times[0], ts)]),
                "cpu_s_per_step": statistics.median(cs),
                "cpu_speedup": statistics.median([a / b for a, b in zip(cpu[0], cs)]),
                "warmup_s": r.compile_s,
            }
        )
    return rows


def synth_images(n: int, seed: int, side: int) -> torch.Tensor:
    """(n, side, side, 3) uint8 nebula images."""
    from seeing.synth import make_image

    return torch.from_numpy(__import__("numpy").stack([make_image("nebula", seed, i, side) for i in range(n)]))


def heldout(preset: str, dev: torch.device, paths: list[dict], steps: int, batch: int, up: str) -> list[dict]:
    """Held-out L1 of each path's generator after the same `steps` steps on the same synth batches."""
    from seeing.degrade import degrade
    from seeing.train import evaluate

    train_set = synth_images(64, 1, 333)
    held = synth_images(8, 2, 256).permute(0, 3, 1, 2).float().div(255)
    held_inp, held_target = degrade(held.double(), DegradeParams()).float().to(dev), (held * 2 - 1).to(dev)
    rows = []
    for p in paths:
        r = Runner(preset, dev, batch, up, p, cache=train_set)
        t0 = time.perf_counter()
        for _ in range(steps):
            r.step()
        sync(dev)
        metrics, _ = evaluate(r.gen, held_inp, held_target)
        rows.append(
            {
                "preset": preset,
                "path": p["name"],
                "steps": steps,
                "batch": batch,
                "up": up,
                "heldout_l1": metrics["heldout_l1"],
                "psnr": metrics["psnr"],
                "seconds": time.perf_counter() - t0,
            }
        )
    for row in rows:
        row["l1_vs_first"] = row["heldout_l1"] / rows[0]["heldout_l1"] - 1
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    ap.add_argument(
        "--paths",
        help="comma-separated paths, the first is the reference  "
        "[default: fp32,bf16-cl on a bfloat16 CPU, fp32,amp-cl on CUDA, else fp32]",
    )
    ap.add_argument("--steps", type=int, default=3, help="timed steps per path per round")
    ap.add_argument("--rounds", type=int, default=5, help="rounds, the paths taking turns")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--presets", default="small")
    ap.add_argument(
        "--threads", type=int, help="torch CPU threads (on a busy shared machine 1 avoids oversubscription)"
    )
    ap.add_argument("--up", default="resize", help="comma-separated up modes (resize, transpose)")
    ap.add_argument("--heldout-steps", type=int, help="train this many steps per path and compare held-out L1")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = pick_device(a.device)
    default = (
        "fp32,amp-cl"
        if dev.type == "cuda"
        else "fp32,bf16-cl"
        if dev.type == "cpu" and cpu_bf16_supported()
        else "fp32"
    )
    paths = [parse_path(p.strip(), dev) for p in (a.paths or default).split(",")]
    if a.heldout_steps:
        rows = [
            row
            for p in a.presets.split(",")
            for row in heldout(p.strip(), dev, paths, a.heldout_steps, a.batch_size, a.up.split(",")[0])
        ]
        if a.json:
            print(json.dumps(rows, indent=2))
            return
        print(f"held-out L1 after {a.heldout_steps} steps (batch {a.batch_size}) on {dev}, torch {torch.__version__}")
        print(f"{'preset':<8} {'path':<18} {'held-out L1':>12} {'vs first':>9} {'PSNR':>7} {'seconds':>8}")
        for r in rows:
            print(
                f"{r['preset']:<8} {r['path']:<18} {r['heldout_l1']:>12.4f} {100 * r['l1_vs_first']:>+8.2f}% "
                f"{r['psnr']:>7.2f} {r['seconds']:>8.1f}"
            )
        return
    rows = [
        row
        for p in a.presets.split(",")
        for up in a.up.split(",")
        for row in compare(p.strip(), dev, paths, a.steps, a.rounds, a.warmup, a.batch_size, up.strip())
    ]
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(
        f"training speed on {dev} ({name}), torch {torch.__version__}, batch {a.batch_size}, "
        f"{a.rounds} rounds x {a.steps} steps per path, alternating"
    )
    print(
        f"{'preset':<8} {'up':<9} {'path':<18} {'s/step':>9} {'images/s':>9} {'speedup':>8} {'CPU s/step':>11} "
        f"{'CPU speedup':>12} {'warm-up s':>10}"
    )
    for r in rows:
        print(
            f"{r['preset']:<8} {r['up']:<9} {r['path']:<18} {r['s_per_step']:>9.4f} {r['images_per_s']:>9.1f} "
            f"{r['speedup']:>7.2f}x {r['cpu_s_per_step']:>11.4f} {r['cpu_speedup']:>11.2f}x {r['warmup_s']:>10.1f}"
        )


if __name__ == "__main__":
    main()
