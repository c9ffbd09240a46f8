"""Profile our WebGPU engine in headless Chromium (SwiftShader): ms per frame and GPU ms per dispatch.

For each preset (random folded weights, seed 0) the page imports `engine-webgpu.js` from `seeing serve`,
creates the engine on a canvas and times `engine.frame(canvas)` (canvas in -> pixels on a canvas, queue
drained): median of --frames after --warmup. Then, where the adapter has `timestamp-query`, it times every
compute dispatch of a frame alone (one compute pass each, `timestampWrites`), in the engine's order
(`engine.dispatches`), min (and median) over --profile-runs, so you see which layer or kernel dominates.

    .venv/bin/python -m benchmarks.web.webgpu_profile --presets small,medium --frames 10
    .venv/bin/python -m benchmarks.web.webgpu_profile --presets large --frames 2 --warmup 1 --profile-runs 1
    git worktree add /tmp/before COMMIT && .venv/bin/python -m benchmarks.web.webgpu_profile \
        --web-root /tmp/before/src/seeing/web --profile-runs 0      # the same, for an older engine
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.browser import CHROMIUM
from tools.browser import WEBGPU_FLAGS as FLAGS  # Vulkan: a real WebGPU canvas

JS = """async ([stem, frames, warmup, runs, side, preferF32, tuning]) => {
  const { createWebGPUEngine } = await import('/engine-webgpu.js');
  const { parseModel } = await import('/modelfile.js');
  const model = parseModel(await (await fetch(`/models/${stem}.safetensors`)).arrayBuffer());
  const R = model.config.resolution;
  const out = document.createElement('canvas');
  document.body.appendChild(out);
  const src = document.createElement('canvas');
  src.width = side; src.height = side;
  const g = src.getContext('2d');
  const t0 = performance.now();
  const engine = await createWebGPUEngine(model, out, { preferF32, tuning });
  const buildMs = performance.now() - t0;
  const dev = engine.device;
  const draw = (i) => {  // a new picture each frame, as a camera would give
    const grad = g.createLinearGradient(0, 0, side, side);
    grad.addColorStop(0, `rgb(${(i * 37) % 255},40,90)`); grad.addColorStop(1, 'rgb(230,200,120)');
    g.fillStyle = grad; g.fillRect(0, 0, side, side);
    g.fillStyle = 'white'; g.fillRect((i * 13) % side, side / 3, side / 4, side / 4);
  };
  const times = [];
  for (let i = 0; i < warmup + frames; i++) {
    draw(i);
    const t = performance.now();
    await engine.frame(src, { brightness: 1, contrast: 1, smoothing: 0, mirror: false });
    await dev.queue.onSubmittedWorkDone();
    if (i >= warmup) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  // the frame without the compute work (frame copy, uniforms, present, submit): the fixed cost
  const saved = engine.dispatches, bare = [];
  engine.dispatches = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await engine.frame(src, {});
    await dev.queue.onSubmittedWorkDone();
    bare.push(performance.now() - t);
  }
  engine.dispatches = saved;
  const result = { preset: stem, tuning, R, f16: engine.f16, buildMs, frameMs: times[times.length >> 1], frames: times, bareMs: Math.min(...bare),
                   gpuMs: engine.gpuMs, dispatches: [] };
  if (!dev.features.has('timestamp-query') || !engine.dispatches || runs === 0) return result;
  const list = engine.dispatches;
  const qs = dev.createQuerySet({ type: 'timestamp', count: 2 * list.length });
  const resolve = dev.createBuffer({ size: 16 * list.length, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = dev.createBuffer({ size: 16 * list.length, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const per = list.map(() => []);
  for (let r = 0; r < runs; r++) {
    await engine.frame(src, {});  // the frame texture and uniforms of a real frame
    const enc = dev.createCommandEncoder();
    list.forEach((d, i) => {
      const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      pass.setPipeline(d.pipe); pass.setBindGroup(0, d.bind);
      pass.dispatchWorkgroups(d.groups[0], d.groups[1] ?? 1, d.groups[2] ?? 1);
      pass.end();
    });
    enc.resolveQuerySet(qs, 0, 2 * list.length, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, read, 0, 16 * list.length);
    dev.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const t = new BigInt64Array(read.getMappedRange());
    list.forEach((d, i) => per[i].push(Number(t[2 * i + 1] - t[2 * i]) / 1e6));
    read.unmap();
  }
  result.dispatches = list.map((d, i) => {
    const v = per[i].sort((a, b) => a - b);
    return { label: d.label, groups: d.groups, ms: v[0], median: v[v.length >> 1] };
  });
  engine.dispose();
  return result;
}"""


SERVE_FROM = """import functools, pathlib, sys
import seeing.serve as s
s.create_app = functools.partial(s.create_app, web_root=pathlib.Path(sys.argv[1]))
s.run(s.model_entries(sys.argv[2:]), port=0)
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="small,medium")
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--profile-runs", type=int, default=3)
    ap.add_argument("--side", type=int, default=256, help="side of the square source canvas")
    ap.add_argument("--f32", action="store_true", help="prefer f32 kernels where shader-f16 exists")
    ap.add_argument(
        "--precision",
        choices=("float32", "float16", "uint8"),
        default="float32",
        help="weights in the model file (uint8: the engine keeps the bytes on the GPU)",
    )
    ap.add_argument(
        "--tuning",
        action="append",
        default=None,
        help="JSON of engine tuning overrides, e.g. '{\"py\": 1}' (repeat to compare variants)",
    )
    ap.add_argument("--web-root", type=Path, help="serve the page from here (e.g. an older checkout's src/seeing/web)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from benchmarks.web.bench_models import random_weights
    from seeing.arch import preset_config
    from seeing.degrade import DegradeParams, default_grid
    from seeing.modelfile import write_model

    presets = args.presets.split(",")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for p in presets:
            cfg = preset_config(p)
            w, b = random_weights(cfg, 0)
            path = Path(tmp) / f"{p}.safetensors"
            write_model(
                path,
                cfg,
                DegradeParams(resolution=cfg.resolution, grid=default_grid(cfg.resolution)),
                w,
                b,
                args.precision,
                p,
            )
            paths.append(path)
        cmd = [sys.executable, "-m", "seeing", "serve", *map(str, paths), "--port", "0"]
        if args.web_root:  # seeing.serve with another web root: the before/after of an engine change
            cmd = [sys.executable, "-c", SERVE_FROM, str(args.web_root.resolve()), *map(str, paths)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            if not line.startswith("serving"):
                raise SystemExit(f"seeing serve did not start: {line!r}")
            url = line.split()[-1]
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                for p in presets:
                    for tuning in args.tuning or ["{}"]:
                        page = browser.new_page()
                        page.goto(url + "models.json")
                        r = page.evaluate(
                            JS,
                            [p, args.frames, args.warmup, args.profile_runs, args.side, args.f32, json.loads(tuning)],
                        )
                        page.close()
                        results.append(r)
                        report(r)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(10)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def report(r: dict) -> None:
    print(
        f"\n{r['preset']} {json.dumps(r['tuning'])}: {r['frameMs']:.1f} ms/frame (median of {len(r['frames'])}; "
        f"min {min(r['frames']):.1f}), without compute {r['bareMs']:.1f} ms, build {r['buildMs']:.0f} ms, "
        f"f16 {r['f16']}",
        flush=True,
    )
    if r["dispatches"]:
        total = sum(d["ms"] for d in r["dispatches"])
        print(f"  GPU, each dispatch alone (min of runs; median beside): {total:.1f} ms in all")
        for d in r["dispatches"]:
            print(
                f"  {d['ms']:8.2f} ms {100 * d['ms'] / max(total, 1e-9):5.1f} %  ({d['median']:7.2f})  {d['label']}  "
                f"groups {d['groups']}"
            )


if __name__ == "__main__":
    sys.exit(main())
