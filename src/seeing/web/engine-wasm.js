// engine-wasm.js: the generator on the CPU, in WebAssembly SIMD (kernels: tools/wasm/kernels.c).
// One frame is one call into the wasm: degradation, every layer and the RGBA output. Where the page
// is cross-origin isolated the frame is split over Web Workers (wasm-worker.js) that share one
// WebAssembly.Memory and meet at barriers inside the wasm; elsewhere it runs on the page's thread.
// Variants (built by `make wasm`): relaxed SIMD (fused multiply-add) where the browser validates it,
// plain SIMD128 otherwise; "-mt" builds import a shared memory.

import { CentreSquareReader } from "./frame-pixels.js";

const MAX_PAGES = 16384;  // 1 GiB, the maximum the builds declare
const DTYPE = { float32: 0, float16: 1, uint8: 2 };
// Worker count per frame (see _pickWorkers): every PROBE_EVERY-th frame (every 3rd at first) runs
// with another count; its time over the previous frame's is averaged (RATIO_WEIGHT for the newest
// pair) and the engine switches when that ratio, over at least MIN_PAIRS pairs, drops below SWITCH_BELOW.
const PROBE_EVERY = 12;
const RATIO_WEIGHT = 0.3;
const SWITCH_BELOW = 0.85;
const MIN_PAIRS = 2;
// Nets up to this many multiply-adds per frame (frames of a few to tens of ms) may also run on the
// page's own thread, which needs no wake-up; bigger ones always leave it free.
const MAIN_THREAD_MACS = 1e9;

function netMacs(model) {
  let macs = 0;
  for (const L of model.layers) {
    const out = L.kind === "down" ? L.inSide / 2 : L.inSide * 2;
    macs += out * out * L.cout * L.cin * (L.kind === "down" ? 16 : 4);
  }
  return macs;
}

// (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0))))
const RELAXED_PROBE = (() => {
  const c = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const body = [0x00, ...c, ...c, ...c, 0xfd, 0x85, 0x02, 0x0b];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,  // type: () -> v128
    0x03, 0x02, 0x01, 0x00,                    // one function of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body]);
})();
// (module (func (result v128) (v128.const 0)))
const SIMD_PROBE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00,
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array(16).fill(0), 0x0b]);

/** What this browser offers the CPU engine: {simd, relaxed, threads, cores}. */
export function wasmFeatures() {
  const ok = (bytes) => { try { return WebAssembly.validate(bytes); } catch { return false; } };
  return {
    simd: ok(SIMD_PROBE),
    relaxed: ok(RELAXED_PROBE),
    threads: typeof SharedArrayBuffer !== "undefined" && self.crossOriginIsolated === true,
    cores: navigator.hardwareConcurrency || 1,
  };
}

/** The CPU engine can run here (WebAssembly with SIMD128). */
export function wasmAvailable() {
  return typeof WebAssembly === "object" && wasmFeatures().simd;
}

const moduleCache = new Map();
async function compiled(name) {
  if (!moduleCache.has(name)) {
    moduleCache.set(name, (async () => {
      const r = await fetch(new URL(name, import.meta.url));
      if (!r.ok) throw new Error(`cannot load ${name} (${r.status})`);
      return WebAssembly.compile(await r.arrayBuffer());
    })());
  }
  return moduleCache.get(name);
}

/** Fetch and compile the build this browser will run (default options) before a model is there. */
export function prepareWasm() {
  const feat = wasmFeatures();
  if (!feat.simd) return;
  const shared = feat.threads && Math.min(feat.cores, 8) > 1;  // as init() decides
  compiled(`seeing-${feat.relaxed ? "relaxed" : "simd"}${shared ? "-mt" : ""}.wasm`).catch(() => {});
}

/**
 * Create the CPU engine for a parsed model (modelfile.parseModel), drawing onto `canvas` (2D).
 * options: {degradedCanvas} a second canvas for the degraded input; {threads} worker count
 * (default: every core where the page is cross-origin isolated, else 1; 1 = no workers);
 * {relaxed: false} to force the plain SIMD build.
 */
export async function createWasmEngine(model, canvas, options = {}) {
  const engine = new WasmEngine(model, canvas, options);
  try {
    await engine.init();
  } catch (e) {
    engine.dispose();
    throw e;
  }
  return engine;
}

class WasmEngine {
  constructor(model, canvas, options) {
    this.name = "wasm";
    this.model = model;
    this.canvas = canvas;
    this.degradedCanvas = options.degradedCanvas || null;
    this.options = options;
    this.workers = [];
    this.pending = new Map();  // frame generation (net_begin) -> {resolve, reject}
    this.reader = new CentreSquareReader();
    this.busy = Promise.resolve();
    this.previousValid = false;
    this.disposed = false;
  }

  async init() {
    const m = this.model, cfg = m.config, deg = m.degradation, feat = wasmFeatures();
    if (!feat.simd) throw new Error("this browser's WebAssembly has no SIMD");
    const nDown = cfg.down.length, R = cfg.resolution;
    if (cfg.in_channels !== 1 || ![1, 3].includes(cfg.out_channels) || R % 2 ** nDown)
      throw new Error("the CPU engine runs 1-channel-in, 1- or 3-channel-out generators");
    const wanted = this.options.threads ?? (feat.threads ? Math.min(feat.cores, 8) : 1);
    this.threads = feat.threads ? Math.max(1, wanted) : 1;
    const shared = this.threads > 1;
    this.relaxed = feat.relaxed && this.options.relaxed !== false;
    this.variant = `seeing-${this.relaxed ? "relaxed" : "simd"}${shared ? "-mt" : ""}.wasm`;
    this.module = await compiled(this.variant);
    this.memory = new WebAssembly.Memory({ initial: 32, maximum: MAX_PAGES, shared });
    this.wasm = (await WebAssembly.instantiate(this.module, { env: { memory: this.memory } })).exports;
    const w = this.wasm, oom = () => new Error(`${m.name} does not fit in the CPU engine's memory (1 GiB)`);
    this.net = w.net_create(nDown, R, deg.grid, deg.bicubic_a, deg.luma[0], deg.luma[1], deg.luma[2], this.threads);
    if (!this.net) throw oom();
    m.layers.forEach((L, i) => {
      if (!w.net_layer(this.net, i, L.cout, L.slope || 0)) throw oom();
      // raw tensors into a scratch area past the heap top; net_load dequantizes and packs them
      const parts = [L.weight, L.bias, L.scale, L.zero].filter((a) => a);
      const sizes = parts.map((a) => Math.ceil(a.byteLength / 16) * 16);
      const base = w.scratch(sizes.reduce((a, b) => a + b, 0));
      if (!base) throw oom();
      const heap = new Uint8Array(this.memory.buffer);
      let at = base;
      const addr = parts.map((a, k) => {
        heap.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
        const here = at;
        at += sizes[k];
        return here;
      });
      const uint8 = m.precision === "uint8";
      w.net_load(this.net, i, addr[0], DTYPE[m.precision], uint8 ? addr[2] : 0, uint8 ? addr[3] : 0, addr[1]);
    });
    this.R = R;
    for (const c of [this.canvas, this.degradedCanvas]) if (c) { c.width = R; c.height = R; }
    this.ctx = this.canvas.getContext("2d");
    this.degCtx = this.degradedCanvas?.getContext("2d") || null;
    if (!this.ctx) throw new Error("the output canvas has no 2D context");
    this.image = new ImageData(R, R);
    this.degImage = this.degCtx ? new ImageData(R, R) : null;
    if (shared) await this._startWorkers(this.threads);
    this.adapterInfo = `${this.threads} thread${this.threads > 1 ? "s" : ""}, ${this.relaxed ? "relaxed SIMD" : "SIMD128"}`;
  }

  async _startWorkers(count) {
    const url = new URL("./wasm-worker.js", import.meta.url);
    const ready = [];
    for (let t = 0; t < count; t++) {
      const wk = new Worker(url, { type: "module" });
      ready.push(new Promise((resolve, reject) => {
        wk.onmessage = (e) => {
          const d = e.data;
          if (d.type === "ready") resolve();
          else if (d.type === "done") { this.pending.get(d.gen)?.resolve(); this.pending.delete(d.gen); }
          else if (d.type === "error") {
            reject(new Error(d.message));
            for (const p of this.pending.values()) p.reject(new Error(`CPU engine worker failed: ${d.message}`));
            this.pending.clear();
          }
        };
        wk.onerror = (e) => reject(new Error(`CPU engine worker failed to start: ${e.message || "error"}`));
      }));
      wk.postMessage({ type: "init", module: this.module, memory: this.memory });
      this.workers.push(wk);
    }
    await Promise.all(ready);
  }

  // Pixels of the centre square of a frame source, straight into the wasm memory.
  _grab(source) {
    const { data, side } = this.reader.read(source);
    this._input(data, side, side);
  }

  _input(rgba, width, height) {
    const ptr = this.wasm.net_input(this.net, width, height);
    if (!ptr) throw new Error("the frame does not fit in the CPU engine's memory");
    new Uint8Array(this.memory.buffer, ptr, width * height * 4).set(rgba);
  }

  // Run the whole net on the current input; resolves when every thread is done.
  _run(opts) {
    const smooth = this.previousValid ? Math.min(Math.max(opts.smoothing ?? 0, 0), 0.98) : 0;
    this.wasm.net_params(this.net, opts.brightness ?? 1, opts.contrast ?? 1, smooth, opts.mirror ? 1 : 0, this.degCtx ? 1 : 0);
    this.previousValid = true;
    if (this.threads === 1) {
      this.activeThreads = 1;
      this.wasm.frame_run(this.net, 0, 1);
      return Promise.resolve();
    }
    // a new generation of the work counters, then the workers claim work until the frame is done;
    // the worker that finishes the last unit reports it
    const k = this._pickWorkers(), t0 = performance.now();
    if (k === 0) {  // the page's thread alone (it begins the frame itself)
      this.wasm.frame_run(this.net, 0, 1);
      this._record(0, performance.now() - t0);
      return Promise.resolve();
    }
    const gen = this.wasm.net_begin(this.net);
    const done = new Promise((resolve, reject) => this.pending.set(gen, { resolve, reject }));
    for (let tid = 0; tid < k; tid++) this.workers[tid].postMessage({ type: "frame", net: this.net, tid, nt: this.threads });
    return done.then(() => this._record(k, performance.now() - t0));
  }

  // How many workers run the next frame (0: the page's thread alone, for small nets). Work is
  // claimed unit by unit, so any count computes the same frame; but on a machine busy with other work
  // waking a sleeping worker takes a while, and a worker that the OS deschedules while it holds a
  // unit stalls everyone, so fewer threads can be faster. The engine keeps the count that has been
  // fastest: every few frames it tries another count right after a frame with the current one, and
  // switches when that count has been faster in such pairs (adjacent frames see the same machine
  // load, so the comparison holds while the load drifts). engine.activeThreads says how many threads run.
  _pickWorkers() {
    const n = this.threads;
    if (!this.tune) {
      // small nets start on the page's thread (no hand-off at all), bigger ones on every worker
      const lo = netMacs(this.model) <= MAIN_THREAD_MACS ? 0 : 1, best = lo === 0 ? 0 : n, others = [];
      for (let k = n; k >= lo; k--) if (k !== best) others.push(k);
      this.tune = { best, others, ratio: new Map(), pairs: new Map(), last: null, frame: 0, probe: 0 };
    }
    const t = this.tune;
    t.frame++;
    let k = t.best;
    const every = t.frame <= 12 ? 3 : PROBE_EVERY;
    // (the first frames are left alone: the wasm is still being optimized)
    if (t.others.length && t.last !== null && t.frame > 3 && t.frame % every === 0) k = t.others[t.probe++ % t.others.length];
    this.activeThreads = Math.max(k, 1);
    return k;
  }

  _record(k, ms) {
    const t = this.tune;
    if (k === t.best) { t.last = ms; return; }
    if (t.last === null) return;
    const r = Math.log(ms / t.last), old = t.ratio.get(k);
    const ema = old === undefined ? r : old + RATIO_WEIGHT * (r - old);
    t.ratio.set(k, ema);
    t.pairs.set(k, (t.pairs.get(k) || 0) + 1);
    if (ema < Math.log(SWITCH_BELOW) && t.pairs.get(k) >= MIN_PAIRS) {  // k is faster: it becomes the reference for the others
      const prev = t.best;
      t.best = k;
      t.others = t.others.filter((j) => j !== k).concat([prev]).sort((a, b) => b - a);
      const ratios = new Map();
      for (const j of t.others) ratios.set(j, j === prev ? -ema : (t.ratio.get(j) ?? 0) - ema);
      t.ratio = ratios;
      t.pairs = new Map();
      t.last = ms;
    }
  }

  _draw() {
    const R = this.R, buf = this.memory.buffer;
    this.image.data.set(new Uint8Array(buf, this.wasm.net_rgba(this.net), R * R * 4));
    this.ctx.putImageData(this.image, 0, 0);
    if (this.degCtx) {
      this.degImage.data.set(new Uint8Array(buf, this.wasm.net_deg_rgba(this.net), R * R * 4));
      this.degCtx.putImageData(this.degImage, 0, 0);
    }
  }

  // frames never overlap: each waits for the one before
  _serial(fn) {
    const next = this.busy.then(fn);
    this.busy = next.catch(() => {});
    return next;
  }

  /**
   * Process one frame from a video, canvas, ImageBitmap or VideoFrame and draw the output.
   * opts: {brightness, contrast, smoothing (0..1), mirror, onDrawn (called right after drawing)}
   */
  frame(source, opts = {}) {
    if (this.disposed) return Promise.reject(new Error("engine disposed"));
    return this._serial(async () => {
      this._grab(source);
      await this._run(opts);
      if (this.disposed) return;
      this._draw();
      if (opts.onDrawn) opts.onDrawn();
    });
  }

  /** Forget the previous output (no smoothing into the next frame), e.g. on a new source. */
  resetSmoothing() { this.previousValid = false; }

  /** Test only: run on an RGBA image; returns the degraded input and the output (CHW). */
  runTest(rgba, width, height, opts = {}) {
    return this._serial(async () => {
      this._input(rgba, width, height);
      this.previousValid = false;
      await this._run({ brightness: opts.brightness ?? 1, contrast: opts.contrast ?? 1, smoothing: 0 });
      const R = this.R, buf = this.memory.buffer, w = this.wasm;
      const pad = (R + 2) * (R + 2);
      const x0 = new Float32Array(buf, w.net_x0(this.net), pad);
      const degraded = new Float32Array(R * R);
      for (let y = 0; y < R; y++) degraded.set(x0.subarray((y + 1) * (R + 2) + 1, (y + 1) * (R + 2) + 1 + R), y * R);
      const last = this.model.layers.length - 1, C = this.model.layers[last].cout, st = Math.ceil(C / 4) * 4;
      const out = new Float32Array(buf, w.net_out(this.net, last), pad * st);
      const output = new Float32Array(C * R * R);
      for (let y = 0; y < R; y++)
        for (let x = 0; x < R; x++)
          for (let c = 0; c < C; c++) output[c * R * R + y * R + x] = out[((y + 1) * (R + 2) + x + 1) * st + c];
      return { degraded, output };
    });
  }

  dispose() {
    if (this.disposed) return;
    this.disposed = true;
    for (const wk of this.workers) wk.terminate();
    this.workers = [];
    for (const p of this.pending.values()) p.reject(new Error("engine disposed"));
    this.pending.clear();
    this.wasm = null;
    this.memory = null;
  }
}
