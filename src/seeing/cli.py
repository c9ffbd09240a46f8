"""The `seeing` command line. Heavy imports (torch) live inside the commands that need them."""

from __future__ import annotations

import json
import sys

import click

from .arch import LOSS_WEIGHTS
from .errors import UserError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seeing")
def cli():
    """seeing: train small pix2pix generators and run them live in the browser."""


def _int_list(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(x) for x in text.replace(",", " ").split()]
    except ValueError:
        raise UserError(f"expected a list of integers, got {text!r}") from None


def resolve_config(preset: str | None, down: str | None, up: str | None, config: str | None):
    """A GeneratorConfig from a preset name, --down-filters/--up-filters lists, or a JSON config file."""
    from .arch import GeneratorConfig, preset_config

    try:
        if config:
            with open(config) as f:
                return GeneratorConfig.from_dict(json.load(f))
        if down or up:
            d, u = _int_list(down), _int_list(up)
            if d is None or u is None:
                raise UserError("--down-filters and --up-filters go together")
            return GeneratorConfig(down=d, up=u, resolution=2 ** len(d))
        return preset_config(preset or "small")
    except (OSError, json.JSONDecodeError, TypeError, ValueError) as e:
        raise UserError(str(e)) from None


@cli.command()
@click.argument("target", required=False, default="small")
@click.option("--down-filters", "down", help="custom down-layer filters, e.g. '8,16,32,64,128,256,512,512'")
@click.option("--up-filters", "up", help="custom up-layer filters (one fewer than --down-filters)")
@click.option("--config", type=click.Path(dir_okay=False), help="a JSON generator config")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def info(target, down, up, config, as_json):
    """Parameters, MACs and facts of a preset, custom widths, or a model file."""
    from .arch import PRESETS, macs, param_counts

    if target in PRESETS or down or up or config:
        cfg = resolve_config(target if target in PRESETS else None, down, up, config)
        facts = {
            "preset": target if target in PRESETS and not (down or up or config) else "custom",
            **param_counts(cfg),
            "macs": macs(cfg),
            "down": cfg.down,
            "up": cfg.up,
            "resolution": cfg.resolution,
        }
    else:
        from .modelinfo import model_facts  # a model file

        facts = model_facts(target)
    if as_json:
        click.echo(json.dumps(facts, indent=2))
    else:
        width = max(len(k) for k in facts)
        for k, v in facts.items():
            v = f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else v
            click.echo(f"{k:<{width}}  {v}")


@cli.group()
def data():
    """Make training sets: frames of a video, or procedural images."""


@data.command("frames")
@click.argument("video", type=click.Path())
@click.argument("out", type=click.Path(file_okay=False))
@click.option("-n", "count", type=click.IntRange(min=1), default=1000, show_default=True, help="number of frames")
@click.option("--size", type=click.IntRange(min=8), default=256, show_default=True, help="side of the square frames")
def data_frames(video, out, count, size):
    """Evenly spaced square frames of VIDEO as OUT/frame_NNNNN.png; dark frames are skipped."""
    from .data import write_frames

    paths = write_frames(video, out, count, size)
    click.echo(f"wrote {len(paths)} frames to {out}")


@data.command("synth")
@click.argument("out", type=click.Path(file_okay=False))
@click.option(
    "--kind",
    type=click.Choice(["waves", "clouds", "flowers", "nebula", "aurora", "marble"]),
    default="nebula",
    show_default=True,
    help="the world: ocean swell and foam, daytime cumulus, "
    "flower close-ups, Hubble-like nebula, aurora over hills, agate bands",
)
@click.option(
    "--palette",
    type=click.Choice(["hubble", "random"]),
    help="nebula colours: one Hubble-like family (the default) or a random palette per image",
)
@click.option("-n", "count", type=click.IntRange(min=1), default=500, show_default=True, help="number of images")
@click.option("--seed", type=int, default=0, show_default=True, help="the same seed gives identical files")
@click.option("--size", type=click.IntRange(min=16, max=4096), default=256, show_default=True)
def data_synth(out, kind, palette, count, seed, size):
    """A procedural image set in OUT/ (KIND_NNNNN.png), to try everything without data."""
    from .synth import write_set

    if palette is not None and kind != "nebula":
        raise click.UsageError(f"--palette is for --kind nebula, not {kind}")
    paths = write_set(out, kind, count, seed, size, palette=palette)
    click.echo(f"wrote {len(paths)} {kind} images to {out}")


# ---------------------------------------------------------------- model files (export.py, translate.py, importers.py, bench.py)


@cli.command()
@click.argument("source", type=click.Path())
@click.option("--precision", type=click.Choice(["uint8", "float16", "float32"]), default="uint8", show_default=True)
@click.option("--onnx", "with_onnx", is_flag=True, help="also write NAME.onnx (float32 weights)")
@click.option("--name", help="model name and file stem (default: the run folder or checkpoint name)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="output folder (default: beside the source)")
def export(source, precision, with_onnx, name, out_dir):
    """Export a run folder or checkpoint to one model file (NAME.safetensors)."""
    from .export import export as do_export

    r = do_export(source, out_dir, name, precision, with_onnx)
    click.echo(f"wrote {r['path']}  {r['size'] / 1e6:.2f} MB  {r['params']:,} params  {r['precision']}")
    if "onnx_path" in r:
        click.echo(f"wrote {r['onnx_path']}  {r['onnx_size'] / 1e6:.2f} MB")
    click.echo(f"PSNR vs float32 checkpoint: {r['psnr']:.2f} dB on {r['inputs']}")


@cli.command()
@click.argument("model", type=click.Path())
@click.argument("source", type=click.Path())
@click.argument("output", type=click.Path())
@click.option(
    "--smooth",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    show_default=True,
    help="temporal smoothing A: out = A * previous + (1 - A) * new",
)
@click.option("--brightness", type=click.FloatRange(0, 10), default=1.0, show_default=True)
@click.option("--contrast", type=click.FloatRange(0, 10), default=1.0, show_default=True)
@click.option("--side-by-side", is_flag=True, help="show the input beside the output")
@click.option("--threads", type=click.IntRange(min=0), default=0, help="ONNX Runtime threads (0: default)")
@click.option(
    "--size",
    type=click.IntRange(min=1),
    default=None,
    help="output side in pixels (default: the model's; e.g. 512 runs a 256 model in HD, its grid scaled)",
)
def translate(model, source, output, smooth, brightness, contrast, side_by_side, threads, size):
    """Apply MODEL to an image, a folder of images or a video."""
    from .translate import translate as do_translate

    n = do_translate(
        model,
        source,
        output,
        smooth=smooth,
        brightness=brightness,
        contrast=contrast,
        side_by_side=side_by_side,
        threads=threads or None,
        size=size,
    )
    click.echo(f"wrote {output} ({n} frame{'s' if n != 1 else ''})")


@cli.command("import")
@click.argument("path", type=click.Path())
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="output folder (default: current folder)")
@click.option("--name", help="model name and file stem (default: from PATH)")
@click.option("--precision", type=click.Choice(["uint8", "float16", "float32"]), default="uint8", show_default=True)
def import_(path, out_dir, name, precision):
    """Convert a Keras .h5 generator or a TF.js graph model (model.json) into a model file."""
    from .importers import import_model

    r = import_model(path, out_dir, name, precision)
    click.echo(
        f"wrote {r['path']}  {r['size'] / 1e6:.2f} MB  {r['params']:,} params  {r['precision']}  "
        f"(from {r['source']}: down {r['down']}, up {r['up']})"
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--presets", default="small,medium,large", show_default=True, help="comma-separated presets")
@click.option("--frames", type=click.IntRange(min=1), default=20, show_default=True, help="timed frames per runtime")
@click.option(
    "--clip-frames",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="frames of the 640x480 clip for translate (0: skip)",
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="keep the benchmarked model files here")
def bench(as_json, presets, frames, clip_frames, out_dir):
    """Speed and size table for this machine (random weights)."""
    from .bench import format_table, run_bench

    rows = run_bench(
        [p.strip() for p in presets.split(",") if p.strip()], frames, clip_frames, progress=not as_json, out=out_dir
    )
    click.echo(json.dumps(rows, indent=2) if as_json else format_table(rows))


@cli.command()
@click.argument("data_sources", metavar="DATA...", nargs=-1, required=True, type=click.Path())
@click.option("--preset", type=click.Choice(["small", "medium", "large"]), default="small", show_default=True)
@click.option(
    "--down-filters", "down", help="custom down-layer filters instead of the preset, e.g. '4,8,16,32,64,128,256,512'"
)
@click.option("--up-filters", "up", help="custom up-layer filters (one fewer than --down-filters)")
@click.option(
    "--up",
    "up_mode",
    type=click.Choice(["resize", "transpose"]),
    default="resize",
    show_default=True,
    help="up layers trained as nearest upsample + 3x3 conv (no checkerboard) or as the paper's free 4x4 "
    "transposed convs; the model file is the same",
)
@click.option(
    "--l1-weight",
    type=click.FloatRange(min=0),
    default=LOSS_WEIGHTS["l1_weight"],
    show_default=True,
    help="weight of the L1 term against the GAN term (lower: more invented detail)",
)
@click.option(
    "--spectral-weight",
    type=click.FloatRange(min=0),
    default=LOSS_WEIGHTS["spectral_weight"],
    show_default=True,
    help="weight of a term matching the output's power spectrum to the target's (detail, no lattice)",
)
@click.option(
    "--lowpass-weight",
    type=click.FloatRange(min=0),
    default=LOSS_WEIGHTS["lowpass_weight"],
    show_default=True,
    help="weight of an L1 term between the degraded output and the degraded target (keeps the output "
    "following the camera)",
)
@click.option("--config", type=click.Path(dir_okay=False), help="a JSON generator config instead of the preset")
@click.option(
    "--epochs", type=click.IntRange(min=1), help="total epochs of the run  [default: 10, or no limit with --minutes]"
)
@click.option(
    "--minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="time budget of this invocation: stops at the next step once spent (resumable), then exports",
)
@click.option("--live", is_flag=True, help="serve the live page next to the run; it swaps to each epoch's model")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="live page port (0: any)")
@click.option("--host", default="127.0.0.1", show_default=True, help="live page address")
@click.option("--out", type=click.Path(file_okay=False), help="run folder  [default: runs/DATA-PRESET]")
@click.option("--resume", is_flag=True, help="continue the run in --out where it stopped")
@click.option("--batch-size", type=click.IntRange(min=1), default=4, show_default=True, help="per process")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=2e-4, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--disc-width", type=click.IntRange(min=1), help="PatchGAN base width  [default: per preset]")
@click.option("--workers", type=click.IntRange(min=0), default=4, show_default=True, help="threads decoding the data")
@click.option(
    "--save-every",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="keep epoch_NNN.pt every N epochs (0: only last.pt)",
)
@click.option("--device", help="cuda, cuda:1, mps or cpu  [default: the best available]")
@click.option(
    "--bf16/--no-bf16",
    "cpu_bf16",
    default=None,
    help="bfloat16 autocast on CPUs with AVX512-BF16 or AMX (BatchNorm statistics and losses stay float32)  "
    "[default: on where supported (1.3x on an AVX512-BF16 CPU); a resumed run keeps its own]",
)
@click.option(
    "--channels-last/--no-channels-last",
    default=None,
    help="NHWC memory layout  [default: off (no gain measured); a resumed run keeps its own]",
)
def train(
    data_sources,
    preset,
    down,
    up,
    up_mode,
    l1_weight,
    spectral_weight,
    lowpass_weight,
    config,
    epochs,
    minutes,
    live,
    port,
    host,
    out,
    resume,
    batch_size,
    lr,
    seed,
    disc_width,
    workers,
    save_every,
    device,
    cpu_bf16,
    channels_last,
):
    """Train a generator on DATA (image folders and/or video files) into a run folder."""
    import os
    from pathlib import Path

    custom = bool(down or up or config)
    cfg = resolve_config(preset, down, up, config)
    if out is None:
        out = os.path.join("runs", f"{Path(data_sources[0]).stem or 'data'}-{'custom' if custom else preset}")
    if epochs is None and minutes is None:
        epochs = 10
    rank0 = os.environ.get("RANK", "0") == "0"  # under torchrun only rank 0 reports and serves
    server = _start_live_server(Path(out), host, port) if live and rank0 else None
    from .train import train as run_training

    try:
        run_training(
            list(data_sources),
            out,
            cfg,
            preset="custom" if custom else preset,
            epochs=epochs,
            up=up_mode,
            lowpass_weight=lowpass_weight,
            l1_weight=l1_weight,
            spectral_weight=spectral_weight,
            minutes=minutes,
            live=live,
            cpu_bf16=cpu_bf16,
            channels_last=channels_last,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            resume=resume,
            device=device,
            workers=workers,
            save_every=save_every,
            disc_width=disc_width,
            log=lambda m: click.echo(m, err=True),
        )
    except KeyboardInterrupt:
        _stop(server)
        sys.exit(130)
    if rank0:
        click.echo(f"run saved in {out}")
        if minutes is not None:  # "the best model in N minutes" ends with the model file
            from .export import export as do_export

            r = do_export(out)
            click.echo(f"wrote {r['path']}  {r['size'] / 1e6:.2f} MB  {r['params']:,} params  {r['precision']}")
    if server is not None:
        click.echo("training is over; the live page keeps showing the last model (Ctrl-C to stop)", err=True)
        try:
            server.wait()
        except KeyboardInterrupt:
            _stop(server)


def _start_live_server(run, host: str, port: int):
    """`seeing serve --watch RUN` beside the training (RUN is made now, so the server can watch it)."""
    from .live import start_server

    run.mkdir(parents=True, exist_ok=True)
    proc, url = start_server(run, host, port)
    click.echo(f"live page: {url} (it swaps to each epoch's model)", err=True)
    return proc


def _stop(proc) -> None:
    """End the live page's server: SIGTERM, then SIGKILL if it has not gone within 15 s."""
    import subprocess

    if proc is not None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@cli.command()
@click.argument("models", metavar="[MODEL_OR_FOLDER]...", nargs=-1, type=click.Path())
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free port")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to bind (0.0.0.0: the whole network)")
@click.option(
    "--watch",
    type=click.Path(exists=True, file_okay=False),
    help="a training run folder: the page follows its live model (train --live writes one per epoch)",
)
def serve(models, port, host, watch):
    """Serve the live page with these model files or folders of them (default: the bundled models)."""
    from pathlib import Path

    from .serve import demo_models, model_entries, run

    if not models and not watch:
        models, note = demo_models()
        if note:
            click.echo(f"note: {note}", err=True)
    run(model_entries(list(models)), host=host, port=port, watch=Path(watch) if watch else None)


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free port")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-browser", is_flag=True, help="only print the URL")
def demo(port, host, no_browser):
    """The live page with every bundled model; opens a browser where there is one."""
    from .serve import demo_models, has_display, model_entries, run

    paths, note = demo_models()
    if note:
        click.echo(f"note: {note}", err=True)

    def opened(url):
        if not no_browser and has_display():
            import webbrowser

            if webbrowser.open(url):
                return
        click.echo(f"open {url} in a browser (Chrome or Edge with WebGPU)")

    run(model_entries(paths), host=host, port=port, on_ready=opened)


@cli.command()
@click.argument("runs", metavar="RUN...", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", type=click.Path(dir_okay=False), default="docs/QUALITY.md", show_default=True)
@click.option("--bundled", type=click.Path(file_okay=False), help="folder of bundled model files to compare with")
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False),
    help="an earlier model file of one of the worlds, compared before/after on that run's held-out images",
)
def quality(runs, out, bundled, baseline):
    """Quality report of trained runs (a run folder, or a checkpoint in one such as RUN/best.pt): held-out metrics
    per precision, what a viewer sees, sample grids, flicker."""
    from pathlib import Path

    from .quality import write_report

    command = " ".join(
        [
            "seeing quality",
            *runs,
            *(["--bundled", bundled] if bundled else []),
            *(["--baseline", baseline] if baseline else []),
            "--out",
            out,
        ]
    )
    results = write_report(
        list(runs), out, Path(bundled) if bundled else None, command, Path(baseline) if baseline else None
    )
    for r in results:
        p = r["precisions"]
        click.echo(
            f"{r['name']}: held-out PSNR {p['uint8']['psnr']:.2f} dB (uint8), uint8 vs float32 "
            f"{p['uint8']['psnr_vs_float32']:.1f} dB, flicker {r['flicker']['output']:.2f} -> "
            f"{r['flicker']['output_smoothed']:.2f} smoothed (input {r['flicker']['input']:.2f})"
        )
    click.echo(f"wrote {out}")


@cli.command("build-site")
@click.argument("out", type=click.Path(file_okay=False))
@click.argument("models", metavar="[MODEL_OR_FOLDER]...", nargs=-1, type=click.Path())
def build_site_cmd(out, models):
    """Write the page and these models as a static site (with a _headers file for COOP/COEP)."""
    import json

    from .site import build_site

    path = build_site(out, list(models))
    n = len(json.loads((path / "models.json").read_text()))
    click.echo(f"site written to {path} ({n} model(s)); serve it with any static host")


def main(argv=None):
    """Entry point: bad input becomes one line on stderr and exit status 2, never a traceback."""
    from .modelfile import ModelFileError

    try:
        cli.main(args=argv, prog_name="seeing", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as e:  # wrong flags: one line, with where to look for help
        where = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        click.echo(f"Error: {' '.join(e.format_message().split())}{where}", err=True)
        sys.exit(2)
    except click.ClickException as e:  # UserError (exit 2)
        e.show()
        sys.exit(e.exit_code)
    except (ModelFileError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as e:
        click.echo(f"Error: {' '.join(str(e).split())}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except ModuleNotFoundError as e:  # train, export, quality and bench need torch; the base install has none
        if not (e.name or "").split(".")[0] == "torch":
            raise
        command = next((a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")), "this command")
        click.echo(
            f"Error: seeing {command} needs PyTorch, which the base install leaves out: "
            "pip install -e '.[train]' in the seeing checkout (or make setup)",
            err=True,
        )
        sys.exit(2)
