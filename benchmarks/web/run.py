"""`make bench-web`: our browser engines against their peers on the same weights, in one Chromium run.

For each preset (random folded weights, seed fixed) the same net runs through:
  native ONNX Runtime in Python (the reference, same thread count), TF.js (WebGL: the paper's stack,
  WebGPU, WASM), ONNX Runtime Web (WASM, WebGPU with gpu-buffer output), and our engines
  (src/seeing/web/engine-webgpu.js, engine-wasm.js) when they exist; a missing engine is reported.
With --sizes 256,512 (the default) native ONNX Runtime and our engines also run each net at 512x512 (HD,
the degradation grid scaled to keep its cells: degrade.at_size), in a table of their own with the
512 / 256 ratio; the peers run at 256 only.
Each browser cell is a fresh page of one headless Chromium (DESIGN section 6 flags), opened once the
browser is idle again (the previous cell's GPU work done): a fixed check
input first (its output is compared with native ONNX Runtime, so every row computes the same net),
warm-up frames, then timed frames (canvas in -> pixels on a canvas, awaited) until --frames or the
cell's --budget. Prints a markdown table of median ms/frame; --json and --doc write it out.

    .venv/bin/python -m benchmarks.web.run --presets small,medium,large --frames 20
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.web.bench_models import write_bench_models
from tools.browser import CHROMIUM
from tools.browser import DESIGN_FLAGS as FLAGS  # WebGL needs no Vulkan flags
from tools.static_server import WEB, static_server

HERE = Path(__file__).resolve().parent

PRESETS = ("small", "medium", "large")
RUNTIMES = (
    "native-ort",
    "tfjs-webgl",
    "tfjs-webgpu",
    "tfjs-wasm",
    "ort-wasm",
    "ort-webgpu",
    "seeing-webgpu",
    "seeing-wasm",
)
DOC_SECTION = "## Browser engines"
# (ours, peer, goal): issue 4 for the WebGPU engine, issue 5 for the WASM engine
GOALS = [
    ("seeing-webgpu", "ort-webgpu", ">= 5x"),
    ("seeing-webgpu", "tfjs-webgl", ">= 5x"),
    ("seeing-wasm", "native-ort", "<= 3x (large 4x)"),
    ("seeing-wasm", "tfjs-wasm", ">= 5x"),
    ("seeing-wasm", "ort-wasm", ">= 5x"),
]
FRAME = (
    "A frame is a 256x256 2D canvas redrawn as the camera would be, then pixels on a canvas, awaited: "
    "TF.js does fromPixels, luma, the net and toPixels (WebGL, WASM; the paper's page) or tf.browser.draw "
    "(WebGPU, queue drained); ONNX Runtime Web reads the canvas, runs, and putImageData (WASM) or keeps the "
    "output in a GPU buffer that a render pass draws (WebGPU, queue drained); our engines run "
    "`engine.frame(canvas)` (live degradation included) and drain the queue; native ONNX Runtime is "
    "`session.run` alone. Weights: random, seed 0, one model file per preset ({precision}); the other runtimes "
    "get its weights as float32 (a uint8 file's dequantized values), so every runtime runs the same net."
)


@contextlib.contextmanager
def bench_server(models_dir: Path):
    """The benchmark's static server (cross-origin isolated): /bench/ (this folder), /node_modules/ (TF.js,
    ONNX Runtime Web), /web/ (our engines) and /models/ (the generated models). Yields the URL, no slash."""
    roots = {"bench": HERE, "node_modules": HERE / "node_modules", "web": WEB, "models": models_dir}
    with static_server(roots=roots) as url:
        yield url.rstrip("/")


def engines_version() -> str:
    """The commit our engines were served from, and whether src/seeing/web had uncommitted edits."""
    import subprocess

    repo = HERE.parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "src/seeing/web"], cwd=repo, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' with uncommitted edits in src/seeing/web' if dirty else ''}"


def npm_version(name: str) -> str:
    try:
        return json.loads((HERE / "node_modules" / name / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "?"


def labels(threads: int) -> dict[str, str]:
    import onnxruntime

    tfjs, ortw = npm_version("@tensorflow/tfjs"), npm_version("onnxruntime-web")
    return {
        "native-ort": f"native ONNX Runtime {onnxruntime.__version__}, {threads} threads (Python)",
        "tfjs-webgl": f"TF.js {tfjs} WebGL (the paper's stack)",
        "tfjs-webgpu": f"TF.js {tfjs} WebGPU",
        "tfjs-wasm": f"TF.js {tfjs} WASM, {threads} threads",
        "ort-wasm": f"ONNX Runtime Web {ortw} WASM, {threads} threads",
        "ort-webgpu": f"ONNX Runtime Web {ortw} WebGPU, gpu-buffer output",
        "seeing-webgpu": "seeing WebGPU engine (ours)",
        "seeing-wasm": "seeing WASM engine (ours)",
    }


class NativeOrt:
    """Native ONNX Runtime sessions: the timing peer and the reference output.

    Timed with intra-op spinning on (ORT's default) and off, keeping the faster: on a shared CPU a
    spinning thread that loses its core stalls every layer, which would flatter our engines.
    """

    def __init__(self, threads: int):
        self.threads, self.sessions = threads, {}

    def session(self, onnx_path: Path, spin: bool = True):
        import onnxruntime as ort

        key = (onnx_path, spin)
        if key not in self.sessions:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads, opts.inter_op_num_threads = self.threads, 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if not spin:
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self.sessions[key] = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        return self.sessions[key]

    def reference(self, onnx_path: Path, grey: np.ndarray) -> np.ndarray:
        R = int(round(grey.size**0.5))
        return self.session(onnx_path).run(None, {"input": grey.reshape(1, 1, R, R).astype(np.float32)})[0].ravel()

    def time(self, onnx_path: Path, frames: int, warmup: int, budget_s: float, size: int = 256) -> dict:
        x = np.random.default_rng(0).uniform(-1, 1, (1, 1, size, size)).astype(np.float32)
        best = None
        for spin in (True, False):
            sess = self.session(onnx_path, spin)
            for _ in range(warmup):
                sess.run(None, {"input": x})
            times, start = [], time.perf_counter()
            while len(times) < frames and (not times or time.perf_counter() - start < budget_s / 2):
                a = time.perf_counter()
                sess.run(None, {"input": x})
                times.append((time.perf_counter() - a) * 1000)
            if best is None or statistics.median(times) < statistics.median(best["times"]):
                best = {"status": "ok", "times": times, "spinning": spin}
        return best


def browser_cpu_seconds() -> float | None:
    """CPU seconds used so far by every Chromium process (Linux /proc), or None where unknown."""
    total, seen = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "chrom" not in text[text.find("(") + 1 : text.rfind(")")]:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        total, seen = total + int(fields[11]) + int(fields[12]), True  # utime, stime
    return total / os.sysconf("SC_CLK_TCK") if seen else None


def settle(max_s: float = 30.0, busy: float = 0.1) -> None:
    """Wait until the browser's processes use less than `busy` of a core: a cell starts on an idle
    browser, not while the GPU process may still finish the previous cell's work. (Runs that put
    our engines first or last differed no more than runs minutes apart: this machine's speed
    drifts by tens of percent with its neighbours' load, so compare ratios within one run.)"""
    last, end = browser_cpu_seconds(), time.monotonic() + max_s
    if last is None:
        time.sleep(1.0)
        return
    while time.monotonic() < end:
        time.sleep(0.5)
        now = browser_cpu_seconds() or last
        if now - last < busy * 0.5:
            return
        last = now


def browser_cell(browser, url: str, opts: dict, hard_s: float, verbose: bool) -> dict:
    settle()
    page = browser.new_page()
    logs: list[str] = []
    page.on("console", lambda m: logs.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: logs.append(f"pageerror: {e}"))
    try:
        page.goto(f"{url}/bench/bench.html?test=1")
        page.wait_for_function("window.benchReady === true", timeout=30_000)
        page.evaluate("opts => window.runCell(opts)", opts)
        try:
            page.wait_for_function("window.cellResult != null", timeout=hard_s * 1000, polling=500)
        except Exception:  # Playwright's TimeoutError: the cell ran past its hard limit
            return {"status": "timeout", "error": f"no result within {hard_s:.0f} s"}
        r = page.evaluate("window.cellResult")
    except Exception as e:  # a crashed renderer or a closed page: report the cell, go on with the rest
        return {"status": "error", "error": str(e).splitlines()[0]}
    finally:
        if verbose and logs:
            print("\n".join(f"    [{opts['runtime']}/{opts['stem']}] {line}" for line in logs[-20:]), file=sys.stderr)
        try:
            page.close(run_before_unload=False)
        except Exception:
            pass
    if "error" in r:
        return {"status": "missing" if r.get("missing") else "error", "error": r["error"]}
    r["status"] = "ok"
    return r


def decode(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), np.float32)


def fmt_ms(ms: float) -> str:
    return f"{ms:,.1f}" if ms < 100 else f"{ms:,.0f}"


def cell_text(c: dict | None, frames: int) -> str:
    if c is None:
        return ""
    if c["status"] == "ok":
        text = fmt_ms(c["median_ms"])
        return text if len(c["times"]) >= frames else f"{text} ({len(c['times'])} frames)"
    return {"missing": "not ready", "timeout": "did not finish", "error": "error"}[c["status"]]


def markdown(results: dict, args, meta: dict) -> str:
    names = labels(args.threads)
    presets = args.presets
    lines = [f"| runtime | {' | '.join(presets)} |", "| --- |" + " --- |" * len(presets)]
    for rt in args.runtimes:
        lines.append(
            f"| {names[rt]} | " + " | ".join(cell_text(results[rt].get(p), args.frames) for p in presets) + " |"
        )
    out = [
        "Median ms per frame (256x256 canvas in -> pixels on a canvas, awaited; "
        f"{args.warmup} warm-up frames, then up to {args.frames} timed frames or {args.budget:.0f} s per cell).",
        "",
        *lines,
        "",
        FRAME.format(precision=args.precision),
        "",
    ]
    errs = []
    for rt in args.runtimes:
        if rt == "native-ort":
            continue
        vals = [results[rt].get(p, {}).get("max_abs_err") for p in presets]
        if any(v is not None for v in vals):
            errs.append(f"| {rt} | " + " | ".join("" if v is None else f"{v:.1e}" for v in vals) + " |")
    if errs:
        out += [
            "Same net check: max |output - native ONNX Runtime output| on a fixed input (outputs in [-1, 1]; "
            "our engines are checked on their own degraded input).",
            "",
            f"| runtime | {' | '.join(presets)} |",
            "| --- |" + " --- |" * len(presets),
            *errs,
            "",
        ]
    ratios = []
    for ours, peer, goal in GOALS:
        if ours not in results or peer not in results:
            continue
        vals = []
        for pr in presets:
            a, b = results[ours].get(pr, {}), results[peer].get(pr, {})
            if a.get("status") == "ok" and b.get("status") == "ok":
                vals.append(
                    f"{b['median_ms'] / a['median_ms']:.1f}x"
                    if peer != "native-ort"
                    else f"{a['median_ms'] / b['median_ms']:.1f}x"
                )
            else:
                vals.append("")
        what = f"{peer} / {ours} (speed-up)" if peer != "native-ort" else f"{ours} / {peer} (slow-down)"
        ratios.append(f"| {what} | {goal} | " + " | ".join(vals) + " |")
    if ratios:
        out += [
            "Our engines against the issues' goals (ratios of the medians above):",
            "",
            f"| ratio | goal | {' | '.join(presets)} |",
            "| --- | --- |" + " --- |" * len(presets),
            *ratios,
            "",
        ]
    notes = [
        f"{rt}/{p}: {c['error']}"
        for rt in args.runtimes
        for p, c in results[rt].items()
        if c.get("status") in ("error", "timeout", "missing")
    ]
    out.append(
        f"Machine: {meta['cpus']} CPUs, {meta['chromium']}, WebGPU adapter: {meta['adapter']}, "
        f"cross-origin isolated: {meta['isolated']}; 1-minute load average {meta['load_before']:.1f} "
        f"before and {meta['load_after']:.1f} after (the CPU is shared: figures scale with it); "
        f"our engines served from main at {meta['engines']}."
    )
    if meta["present"] == "texture" and {"tfjs-webgpu", "ort-webgpu", "seeing-webgpu"} & set(args.runtimes):
        out += [
            "",
            "WebGPU runtimes drew each frame into a GPU texture the size of the canvas instead of a real "
            "WebGPU canvas: in this headless Chromium on SwiftShader, `getCurrentTexture()` on a canvas "
            'destroys the device ("A valid external Instance reference no longer exists"). The GPU work per '
            "frame is the same; only the compositor's copy to the screen is missing.",
        ]
    if notes:
        out += ["", "Cells without a figure:", *[f"- {n}" for n in notes]]
    return "\n".join(out) + "\n"


HD_RUNTIMES = ("native-ort", "seeing-webgpu", "seeing-wasm")
HD_GOALS = {"seeing-wasm": "<= 5x"}  # issue 12: small at 512 within 5x of its 256 frame time on the CPU engine


def hd_key(preset: str, size: int) -> str:
    return preset if size == 256 else f"{preset}@{size}"


def onnx_at(model_path: Path, size: int) -> Path:
    """The model file's net as ONNX on size x size inputs, written once beside it."""
    from seeing.files import atomic_write
    from seeing.modelfile import read_model
    from seeing.onnx_export import build_onnx

    path = model_path.with_name(f"{model_path.stem}-{size}.onnx")
    if not path.exists():
        atomic_write(path, [build_onnx(read_model(model_path), size).SerializeToString()])
    return path


def hd_markdown(results: dict, args) -> str:
    """The HD table: our engines and native ONNX Runtime at each extra size, with the ratio to 256."""
    names = labels(args.threads)
    out = []
    for size in [s for s in args.sizes if s != 256]:
        rows = [r for r in HD_RUNTIMES if r in args.runtimes]
        if not rows:
            continue
        head = " | ".join(f"{p} at {size} | {size} / 256" for p in args.presets)
        lines = [f"| runtime | {head} | goal |", "| --- |" + " --- | --- |" * len(args.presets) + " --- |"]
        for rt in rows:
            cells = []
            for p in args.presets:
                hd, base = results[rt].get(hd_key(p, size)), results[rt].get(p)
                ratio = (
                    f"{hd['median_ms'] / base['median_ms']:.1f}x"
                    if hd and base and hd["status"] == "ok" and base["status"] == "ok"
                    else ""
                )
                cells += [cell_text(hd, args.frames), ratio]
            lines.append(f"| {names[rt]} | " + " | ".join(cells) + f" | {HD_GOALS.get(rt, '')} |")
        errs = [
            f"{rt} {p} {c['max_abs_err']:.1e}"
            for rt in rows
            for p in args.presets
            if (c := results[rt].get(hd_key(p, size))) and c.get("max_abs_err") is not None
        ]
        if errs:
            lines += [
                "",
                f"Same net check at {size} (max |output - native ONNX Runtime at {size}|): " + ", ".join(errs) + ".",
            ]
        out += [
            (
                f"HD: the same nets at {size}x{size} (four times the pixels of 256; the degradation grid scaled to "
                f"keep its cell size), median ms per frame, and the ratio to the same runtime at 256 above."
            ),
            "",
            *lines,
            "",
        ]
    return "\n".join(out)


def write_doc(path: Path, command: str, table: str) -> None:
    """Replace (or add) our `## Browser engines` section of docs/BENCHMARKS.md; the rest is someone else's."""
    section = f"{DOC_SECTION}\n\nMade by `{command}` ({time.strftime('%Y-%m-%d')}):\n\n{table}"
    text = path.read_text() if path.exists() else ""
    start = text.find(DOC_SECTION + "\n")
    if start < 0:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + section
    else:
        end = text.find("\n## ", start + len(DOC_SECTION))
        text = text[:start] + section + ("\n" + text[end + 1 :] if end >= 0 else "")
    from seeing.modelfile import atomic_write

    atomic_write(path, [text.encode()])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default=",".join(PRESETS), help="comma list of small, medium, large")
    p.add_argument("--runtimes", default=",".join(RUNTIMES), help="comma list of " + ", ".join(RUNTIMES))
    p.add_argument("--frames", type=int, default=20, help="timed frames per cell (fewer if the budget runs out)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up frames per cell (after a first check run)")
    p.add_argument("--budget", type=float, default=60.0, help="seconds of timed frames per cell (at least one frame)")
    p.add_argument("--threads", type=int, default=2, help="threads for native ORT, ORT-web WASM and TF.js WASM")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--precision",
        choices=("uint8", "float16", "float32"),
        default="uint8",
        help="our model file's weights (the peers get them as float32: the same net)",
    )
    p.add_argument("--models-dir", default=str(HERE / ".cache"), help="where the generated models are kept")
    p.add_argument("--json", help="also write the results as JSON to this file")
    p.add_argument("--doc", help="write the table into this markdown file's '## Browser engines' section")
    p.add_argument(
        "--present",
        choices=("auto", "canvas", "texture"),
        default="auto",
        help="where WebGPU runtimes draw: a real canvas, or a same-size GPU texture (auto: canvas if it works)",
    )
    p.add_argument("--verbose", action="store_true", help="print the pages' console output")
    p.add_argument(
        "--sizes",
        default="256,512",
        help="frame sides: 256, and HD sides for native ORT and our engines (e.g. 256,512; 256 alone: no HD)",
    )
    args = p.parse_args(argv)
    args.sizes = sorted({256, *(int(s) for s in args.sizes.split(",") if s)})
    args.presets = [s for s in args.presets.split(",") if s]
    args.runtimes = [s for s in args.runtimes.split(",") if s]
    bad = [s for s in args.presets if s not in PRESETS] + [s for s in args.runtimes if s not in RUNTIMES]
    if bad or args.frames < 1 or args.warmup < 0:
        p.error(f"unknown preset/runtime {', '.join(bad)}" if bad else "--frames must be >= 1 and --warmup >= 0")
    browser_rts = [r for r in args.runtimes if r != "native-ort"]
    peers = [r for r in browser_rts if not r.startswith("seeing-")]
    if peers and not (HERE / "node_modules" / "onnxruntime-web").is_dir():
        p.error(f"the peers are not installed: run `npm install` in {HERE} (or `make bench-web`)")

    models = {}
    for preset in args.presets:
        print(f"models: {preset}", file=sys.stderr)
        models[preset] = write_bench_models(preset, args.models_dir, args.seed, args.precision)
    native = NativeOrt(args.threads)
    results: dict[str, dict] = {rt: {} for rt in args.runtimes}
    meta = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "chromium": "-",
        "adapter": "-",
        "isolated": "-",
        "present": "-",
        "load_before": os.getloadavg()[0],
        "engines": engines_version(),
    }

    def time_native(preset, size=256):  # right before the preset's browser cells, under the same machine load
        if "native-ort" in args.runtimes:
            onnx = models[preset]["onnx"] if size == 256 else onnx_at(models[preset]["model"], size)
            c = native.time(onnx, args.frames, args.warmup, args.budget, size)
            c["median_ms"] = statistics.median(c["times"])
            results["native-ort"][hd_key(preset, size)] = c
            print(
                f"  {hd_key(preset, size):10s} {'native-ort':14s} ok       {cell_text(c, args.frames)}", file=sys.stderr
            )

    if not browser_rts:
        for preset in args.presets:
            for size in args.sizes:
                time_native(preset, size)
    else:
        from playwright.sync_api import sync_playwright

        with bench_server(Path(args.models_dir)) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            meta["chromium"] = f"Chromium {browser.version}"
            page = browser.new_page()
            page.goto(f"{url}/bench/bench.html")
            meta["adapter"] = page.evaluate("""async () => {
                if (!navigator.gpu) return 'none';
                const a = await navigator.gpu.requestAdapter();
                if (!a) return 'none';
                const i = a.info || {};
                return [i.vendor, i.architecture, i.description].filter(Boolean).join(' / ') || 'unknown';
            }""")
            meta["isolated"] = page.evaluate("self.crossOriginIsolated")
            page.wait_for_function("window.benchReady === true", timeout=30_000)
            meta["present"] = args.present if args.present != "auto" else page.evaluate("window.probeCanvasPresent()")
            page.close()
            for preset in args.presets:
                for size in args.sizes:
                    time_native(preset, size)
                    stem = models[preset]["model"].stem
                    onnx = models[preset]["onnx"] if size == 256 else onnx_at(models[preset]["model"], size)
                    for rt in browser_rts:
                        if size != 256 and rt not in HD_RUNTIMES:
                            continue
                        t0 = time.perf_counter()
                        opts = {
                            "runtime": rt,
                            "stem": stem,
                            "frames": args.frames,
                            "warmup": args.warmup,
                            "budgetMs": args.budget * 1000,
                            "threads": args.threads,
                            "present": meta["present"],
                            "size": size,
                        }
                        c = browser_cell(browser, url, opts, hard_s=3 * args.budget + 120, verbose=args.verbose)
                        if c["status"] == "ok" and "check" in c:
                            out, inp = decode(c.pop("check")), decode(c.pop("checkInput"))
                            ref = native.reference(onnx, inp)
                            c["max_abs_err"] = (
                                float(np.abs(out - ref).max()) if out.shape == ref.shape else float("inf")
                            )
                        if c["status"] == "ok":
                            c["median_ms"] = statistics.median(c["times"])
                        key = hd_key(preset, size)
                        results[rt][key] = c
                        print(
                            f"  {key:10s} {rt:14s} {c['status']:8s} {cell_text(c, args.frames) if c['status'] == 'ok' else c.get('error', '')}"
                            f"  ({time.perf_counter() - t0:.0f} s)",
                            file=sys.stderr,
                        )
            browser.close()

    meta["load_after"] = os.getloadavg()[0]
    table = markdown(results, args, meta)
    hd = hd_markdown(results, args)
    if hd:
        table = table + "\n" + hd
    print(table)
    make_args = os.environ.get("SEEING_BENCH_MAKE")  # set by `make bench-web` to its BENCH_WEB_ARGS
    if make_args is not None:
        command = "make bench-web" + (
            "" if make_args == "--doc docs/BENCHMARKS.md" else f' BENCH_WEB_ARGS="{make_args}"'
        )
    else:
        command = ".venv/bin/python -m benchmarks.web.run " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "args": vars(args), "results": results}, indent=1))
    if args.doc:
        write_doc(Path(args.doc), command, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
