// engine-webgpu.js: the generator on WebGPU. Per frame: the camera frame is copied into a
// texture (copyExternalImageToTexture, centre square crop), degraded (degrade.wgsl: pool, mean,
// upsample), run through every layer (conv.wgsl: one dispatch per layer, bias and activation
// fused, skips read from two buffers), and drawn (present.wgsl) — all in ONE command
// submission, with no readback. runTest (test pages only) is the one place that reads back.

import { bicubicMatrix } from "./degrade.js";
import { CentreSquareReader, centreSquare } from "./frame-pixels.js";
import { layerPlan, packLayer } from "./webgpu-plan.js";

const shaderCache = new Map();
async function shaderText(name) {
  if (!shaderCache.has(name)) {
    const r = await fetch(new URL(name, import.meta.url));
    if (!r.ok) throw new Error(`cannot load ${name} (${r.status})`);
    shaderCache.set(name, await r.text());
  }
  return shaderCache.get(name);
}

// f16 variant of a kernel: the element alias switches, the arithmetic stays f32.
function specialise(src, f16) {
  return f16 ? "enable f16;\n" + src.replace("alias T = f32;", "alias T = f16;") : src;
}

// conv.wgsl's subgroup helpers (its SG modes): broadcasts where the device has subgroups of 4,
// stubs that are never called (SG 0) where it has not.
const SUBGROUP_HELPERS = `
fn sg_mat(v: vec4f) -> mat4x4f {
  return mat4x4f(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u));
}
fn sg4(v: f32) -> vec4f {
  return vec4f(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u));
}
fn sg_u4(v: u32) -> vec4u {
  return vec4u(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u));
}`;
const SUBGROUP_STUBS = `
fn sg_mat(v: vec4f) -> mat4x4f { return mat4x4f(v, v, v, v); }
fn sg4(v: f32) -> vec4f { return vec4f(v); }
fn sg_u4(v: u32) -> vec4u { return vec4u(v); }`;

function convSource(src, f16, subgroups) {
  const code = specialise(src, f16);
  if (!subgroups) return code + SUBGROUP_STUBS;
  return "enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n" + code + SUBGROUP_HELPERS;
}

/** Four (index, weight) taps per output row of torch's bicubic matrix (edge taps merged). */
export function bicubicTaps(grid, res, a) {
  const U = bicubicMatrix(grid, res, a);
  const idx = new Uint32Array(res * 4), wts = new Float32Array(res * 4);
  for (let r = 0; r < res; r++) {
    let k = 0;
    for (let g = 0; g < grid && k < 4; g++) {
      if (U[r * grid + g] !== 0) { idx[r * 4 + k] = g; wts[r * 4 + k] = U[r * grid + g]; k++; }
    }
  }
  const colsum = new Float32Array(grid);
  for (let r = 0; r < res; r++) for (let g = 0; g < grid; g++) colsum[g] += U[r * grid + g];
  return { idx, wts, colsum };
}

/** WebGPU is usable here (an adapter exists). */
export async function webgpuAvailable() {
  if (!navigator.gpu) return false;
  try { return !!(await navigator.gpu.requestAdapter()); } catch { return false; }
}

/**
 * Create the engine for a parsed model (modelfile.parseModel) drawing onto `canvas`.
 * options: {degradedCanvas} a second canvas that shows the degraded input; {preferF32}.
 */
export async function createWebGPUEngine(model, canvas, options = {}) {
  const engine = new WebGPUEngine(model, canvas, options);
  await engine.init();
  return engine;
}

class WebGPUEngine {
  constructor(model, canvas, options) {
    this.name = "webgpu";
    this.model = model;
    this.canvas = canvas;
    this.degradedCanvas = options.degradedCanvas || null;
    this.preferF32 = !!options.preferF32;
    // profiling and tests only: {px, py, invocations, sgMode, qw: 0} (webgpu-plan.js), {sg: 0} no subgroups,
    // {externalCopy} the direct texture copy
    this.tuning = options.tuning || {};
    this.liveBuffers = 0;   // GPU buffers alive now (the leak test watches this)
    this.gpuMs = null;      // GPU time of the last timed frame, where timestamp-query exists
    this.lostCount = 0;
    this.disposed = false;
    this.ready = null;
  }

  buffer(size, usage, data) {
    const buf = this.device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage, mappedAtCreation: !!data });
    if (data) {
      new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      buf.unmap();
    }
    this.buffers.push(buf);
    this.liveBuffers++;
    return buf;
  }

  async init() {
    this.ready = this._init();
    await this.ready;
  }

  async _init() {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) throw new Error("WebGPU is not available in this browser");
    this.adapter = adapter;  // keep it: Chromium drops the device when the adapter is collected
    this.adapterInfo = adapter.info ? `${adapter.info.vendor || ""} ${adapter.info.architecture || ""} ${adapter.info.description || ""}`.trim() : "";
    this.software = adapter.info?.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(this.adapterInfo);
    const wantF16 = adapter.features.has("shader-f16") && !this.preferF32;
    const features = [];
    if (wantF16) features.push("shader-f16");
    if (adapter.features.has("timestamp-query")) features.push("timestamp-query");
    // subgroups of exactly 4 consecutive invocations (SwiftShader's SIMD width): conv.wgsl's SG
    // modes share storage loads, which a software adapter performs lane by lane
    this.subgroups = this.software && adapter.features.has("subgroups") && this.tuning.sg !== 0 &&
      adapter.info?.subgroupMinSize === 4 && adapter.info?.subgroupMaxSize === 4;
    if (this.subgroups) features.push("subgroups");
    const limits = {};
    for (const k of ["maxStorageBufferBindingSize", "maxBufferSize", "maxComputeWorkgroupsPerDimension"])
      limits[k] = adapter.limits[k];
    const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits: limits });
    this.device = device;
    this.buffers = [];
    this.liveBuffers = 0;
    this.frameTexture = null;
    this.rowsum = null;
    this.previousValid = false;
    device.lost.then((info) => this._onLost(device, info));
    try {
      await this._build(wantF16);
    } catch (e) {
      if (!wantF16) throw e;
      this._release();   // an f16 kernel the driver rejects: fall back to f32
      this.buffers = [];
      this.liveBuffers = 0;
      await this._build(false);
    }
  }

  _onLost(device, info) {
    if (this.disposed || device !== this.device) return;
    // the GPU process crashed or the driver reset: build everything again and go on
    this.lostCount++;
    console.warn(`WebGPU device lost (${info.reason || "unknown"}: ${info.message}): re-initialising`);
    this.device = null;
    this.ready = this._init().catch((e) => { this.failure = e; throw e; });
    this.ready.catch(() => {});
  }

  async _build(f16) {
    const dev = this.device;
    this.f16 = f16;
    const [convSrc, degSrc, presentSrc] = await Promise.all(["conv.wgsl", "degrade.wgsl", "present.wgsl"].map(shaderText));
    dev.pushErrorScope("validation");
    await this._buildDegradation(dev.createShaderModule({ code: specialise(degSrc, f16), label: "degrade" }));
    await this._buildLayers(dev.createShaderModule({ code: convSource(convSrc, f16, this.subgroups), label: "conv" }));
    await this._buildPresentation(dev.createShaderModule({ code: specialise(presentSrc, f16), label: "present" }));
    this._buildTimer();
    const err = await dev.popErrorScope();
    if (err) throw new Error(`WebGPU kernels failed to build: ${err.message.split("\n")[0]}`);
  }

  // The degradation's buffers (bicubic taps, the pooled grid, the degraded input) and pipelines.
  async _buildDegradation(module) {
    const dev = this.device, R = this.model.config.resolution, deg = this.model.degradation;
    const S = GPUBufferUsage.STORAGE, U = GPUBufferUsage.UNIFORM, CD = GPUBufferUsage.COPY_DST, CS = GPUBufferUsage.COPY_SRC;
    const taps = bicubicTaps(deg.grid, R, deg.bicubic_a);
    this.degParams = this.buffer(48, U | CD);
    this.small = this.buffer((deg.grid * deg.grid + 1) * 4, S);
    this.tapIdx = this.buffer(taps.idx.byteLength, S, taps.idx);
    this.tapW = this.buffer(taps.wts.byteLength, S, taps.wts);
    this.colsum = this.buffer(taps.colsum.byteLength, S, taps.colsum);
    this.degraded = this.buffer(R * R * (this.f16 ? 2 : 4), S | CS);
    this.upTmp = this.buffer(deg.grid * R * 4, S);
    const entries = ["poolrows", "poolcells", "mean", "upcols", "upsample"];
    const pipes = await Promise.all(entries.map((entryPoint) =>
      dev.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint } })));
    this.degPipes = Object.fromEntries(entries.map((e, i) => [e, pipes[i]]));
  }

  // The generator: per layer (webgpu-plan.js) its packed weights, output buffer, pipelines and bind group.
  async _buildLayers(module) {
    const dev = this.device, m = this.model, f16 = this.f16;
    const S = GPUBufferUsage.STORAGE, U = GPUBufferUsage.UNIFORM, CD = GPUBufferUsage.COPY_DST, CS = GPUBufferUsage.COPY_SRC;
    this.smoothingBuf = this.buffer(16, U | CD);
    const plans = layerPlan(m, { software: this.software, subgroups: this.subgroups, tuning: this.tuning });
    const scratchSize = Math.max(16, ...plans.map((p) => (p.split > 1 ? p.split * p.cout4 * p.hout * p.hout * 16 : 0)));
    const scratch = this.buffer(scratchSize, S);
    const stage = GPUShaderStage.COMPUTE;
    const convGroupLayout = dev.createBindGroupLayout({ entries: [
      ...[0, 1, 2, 3].map((binding) => ({ binding, visibility: stage, buffer: { type: "read-only-storage" } })),
      { binding: 4, visibility: stage, buffer: { type: "storage" } },
      { binding: 5, visibility: stage, buffer: { type: "uniform" } },
      { binding: 6, visibility: stage, buffer: { type: "storage" } },
      { binding: 7, visibility: stage, buffer: { type: "read-only-storage" } },
    ] });
    const unused = this.buffer(64, S);   // for the weight binding a layer does not read (one mat4x4)
    const convLayout = dev.createPipelineLayout({ bindGroupLayouts: [convGroupLayout] });
    const outputs = [];
    this.layers = [];
    for (const [i, L] of m.layers.entries()) {
      const p = plans[i], last = i === m.layers.length - 1;
      const packed = packLayer(L, p.cout4, f16, p.qw);
      const wBuf = this.buffer(packed.weights.byteLength, S, packed.weights);
      const bBuf = this.buffer(packed.bias.byteLength, S, packed.bias);
      const out = this.buffer(L.cout * p.hout * p.hout * (f16 ? 2 : 4), S | CS);
      const [a, b] = [p.a, p.b].map((j) => (j < 0 ? this.degraded : outputs[j]));
      // the output layer twice: without the read of the previous output (smoothing off), and with it
      // (one explicit layout, so that both variants take the same bind group)
      const variants = (entryPoint) => Promise.all((last ? [0, 1] : [1]).map((SMOOTH) =>
        dev.createComputePipelineAsync({ layout: convLayout, compute: { module, entryPoint, constants: { ...p.constants, SMOOTH } } })));
      const [pipe, pipeSmooth] = await variants("main");
      const bind = dev.createBindGroup({ layout: convGroupLayout, entries: [
        { binding: 0, resource: { buffer: a } }, { binding: 1, resource: { buffer: b } },
        { binding: 2, resource: { buffer: p.qw ? unused : wBuf } }, { binding: 3, resource: { buffer: bBuf } },
        { binding: 4, resource: { buffer: out } }, { binding: 5, resource: { buffer: this.smoothingBuf } },
        { binding: 6, resource: { buffer: scratch } }, { binding: 7, resource: { buffer: p.qw ? wBuf : unused } },
      ] });
      this.layers.push({ label: p.split > 1 ? `${p.label} (${p.split} slices)` : p.label, pipe, pipeSmooth, bind,
                         groups: this._grid(p.groups) });
      if (p.split > 1) {
        const [fpipe, fpipeSmooth] = await variants("finish");
        this.layers.push({ label: `${L.name} finish`, pipe: fpipe, pipeSmooth: fpipeSmooth, bind,
                           groups: this._grid(p.finishGroups) });
      }
      outputs.push(out);
    }
    this.output = outputs[outputs.length - 1];
    this.outChannels = m.layers[m.layers.length - 1].cout;
  }

  // The present pass: the output (and the degraded input, where a second canvas shows it) onto canvases.
  async _buildPresentation(module) {
    const dev = this.device, R = this.model.config.resolution;
    this.format = navigator.gpu.getPreferredCanvasFormat();
    const presentPipe = await dev.createRenderPipelineAsync({
      layout: "auto",
      vertex: { module, entryPoint: "vs" },
      fragment: { module, entryPoint: "fs", targets: [{ format: this.format }] },
      primitive: { topology: "triangle-list" },
    });
    this.views = [];
    const addView = (canvas, buf, channels) => {
      canvas.width = R;
      canvas.height = R;
      const ctx = canvas.getContext("webgpu");
      ctx.configure({ device: dev, format: this.format, alphaMode: "opaque" });
      const uni = this.buffer(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      const bind = dev.createBindGroup({ layout: presentPipe.getBindGroupLayout(0), entries: [
        { binding: 0, resource: { buffer: buf } }, { binding: 1, resource: { buffer: uni } }] });
      this.views.push({ ctx, uni, bind, channels, mirror: -1 });
    };
    this.presentPipe = presentPipe;
    addView(this.canvas, this.output, this.outChannels);
    if (this.degradedCanvas) addView(this.degradedCanvas, this.degraded, 1);
  }

  // GPU time of a frame, where the adapter has timestamp-query.
  _buildTimer() {
    const dev = this.device;
    if (!dev.features.has("timestamp-query")) return;
    this.querySet = dev.createQuerySet({ type: "timestamp", count: 2 });
    this.queryResolve = this.buffer(16, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
    this.queryRead = this.buffer(16, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    this.queryBusy = false;
  }

  _grid(n) {
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    return n <= max ? [n, 1] : [max, Math.ceil(n / max)];
  }

  // The centre square of the source into the frame texture. A software adapter copies external
  // images slowly (Chromium 156, SwiftShader: 9.5 ms for a 256 px canvas, 84 ms for a 480 px crop of
  // a playing video), so there the CPU reads the pixels (frame-pixels.js) and writeTexture uploads
  // them (0.6 and 3.4 ms). `tuning.externalCopy` forces the direct copy (tests compare the two).
  _upload(source, { side, left, top }) {
    if (source instanceof ImageData) {   // test input: exact, whatever its alpha
      this.device.queue.writeTexture({ texture: this.frameTexture, origin: [0, 0] }, source.data,
        { offset: (top * source.width + left) * 4, bytesPerRow: source.width * 4 }, [side, side]);
      return;
    }
    if (!this.software || this.tuning.externalCopy) {
      this.device.queue.copyExternalImageToTexture({ source, origin: { x: left, y: top } }, { texture: this.frameTexture }, [side, side]);
      return;
    }
    this.reader ??= new CentreSquareReader();
    const { data } = this.reader.read(source);
    this.device.queue.writeTexture({ texture: this.frameTexture }, data, { bytesPerRow: side * 4 }, [side, side]);
  }

  _frameTexture(side) {
    if (this.frameTexture && this.frameSide === side) return;
    this.frameTexture?.destroy();
    this.frameSide = side;
    this.frameTexture = this.device.createTexture({
      size: [side, side], format: "rgba8unorm",
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT,
    });
    // luma row sums of the frame (side x grid): sized by the frame
    if (this.rowsum) { this.rowsum.destroy(); this.liveBuffers--; this.buffers = this.buffers.filter((b) => b !== this.rowsum); }
    const deg = this.model.degradation, R = this.model.config.resolution, G = deg.grid;
    this.rowsum = this.buffer(side * G * 4, GPUBufferUsage.STORAGE);
    const d = this.degPipes;
    const resources = { 0: { buffer: this.degParams }, 1: this.frameTexture.createView(), 2: { buffer: this.small },
                        3: { buffer: this.tapIdx }, 4: { buffer: this.tapW }, 5: { buffer: this.colsum },
                        6: { buffer: this.degraded }, 7: { buffer: this.rowsum }, 8: { buffer: this.upTmp } };
    const group = (pipe, bindings) => this.device.createBindGroup({ layout: pipe.getBindGroupLayout(0),
      entries: bindings.map((binding) => ({ binding, resource: resources[binding] })) });
    const cells = (n) => [Math.ceil(n / 64), 1];
    // every compute dispatch of a frame, in order (one pass; a profiler may time each alone)
    this.dispatches = [
      { label: "degrade.poolrows", pipe: d.poolrows, bind: group(d.poolrows, [0, 1, 7]), groups: cells(side * G) },
      { label: "degrade.poolcells", pipe: d.poolcells, bind: group(d.poolcells, [0, 2, 7]), groups: cells(G * G) },
      { label: "degrade.mean", pipe: d.mean, bind: group(d.mean, [0, 2, 5]), groups: [1, 1] },
      { label: "degrade.upcols", pipe: d.upcols, bind: group(d.upcols, [0, 2, 3, 4, 8]), groups: cells(G * R) },
      { label: "degrade.upsample", pipe: d.upsample, bind: group(d.upsample, [0, 2, 3, 4, 6, 8]),
        groups: cells(R * Math.ceil(R / 4)) },
      ...this.layers.map((L) => ({ label: L.label, pipe: L.pipe, pipeSmooth: L.pipeSmooth, bind: L.bind, groups: L.groups })),
    ];
  }

  // Encode and submit one frame; returns nothing to wait for but the queue.
  _submit(source, opts, encodeMore = null) {
    const dev = this.device, m = this.model, R = m.config.resolution, deg = m.degradation;
    const square = centreSquare(source), side = square.side;
    this._frameTexture(side);
    this._upload(source, square);
    const p = new ArrayBuffer(48), u32 = new Uint32Array(p), f32 = new Float32Array(p);
    u32.set([side, deg.grid, R, 0]);
    f32.set([...deg.luma, 0, opts.brightness ?? 1, opts.contrast ?? 1, 0, 0], 4);
    dev.queue.writeBuffer(this.degParams, 0, p);
    const smooth = this.previousValid ? Math.min(Math.max(opts.smoothing ?? 0, 0), 0.98) : 0;
    dev.queue.writeBuffer(this.smoothingBuf, 0, new Float32Array([smooth, 0, 0, 0]));
    const mirror = opts.mirror ? 1 : 0;
    for (const v of this.views) {
      if (v.mirror !== mirror) {
        dev.queue.writeBuffer(v.uni, 0, new Uint32Array([R, v.channels, mirror, 0]));
        v.mirror = mirror;
      }
    }

    const enc = dev.createCommandEncoder();
    const timed = this.querySet && !this.queryBusy;
    const pass = enc.beginComputePass(timed ? { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
    for (const d of this.dispatches) {
      pass.setPipeline(smooth > 0 && d.pipeSmooth ? d.pipeSmooth : d.pipe);
      pass.setBindGroup(0, d.bind);
      pass.dispatchWorkgroups(d.groups[0], d.groups[1] ?? 1);
    }
    pass.end();
    for (const v of this.views) {
      const rp = enc.beginRenderPass({ colorAttachments: [{
        view: v.ctx.getCurrentTexture().createView(), loadOp: "clear", storeOp: "store", clearValue: [0, 0, 0, 1] }] });
      rp.setPipeline(this.presentPipe);
      rp.setBindGroup(0, v.bind);
      rp.draw(3);
      rp.end();
    }
    if (timed) {
      enc.resolveQuerySet(this.querySet, 0, 2, this.queryResolve, 0);
      enc.copyBufferToBuffer(this.queryResolve, 0, this.queryRead, 0, 16);
    }
    encodeMore?.(enc);
    dev.queue.submit([enc.finish()]);  // the one submission of this frame
    this.previousValid = true;
    if (timed) {
      // GPU timing for the stats line: read later, off the frame path, never awaited by a frame
      this.queryBusy = true;
      const buf = this.queryRead;
      buf.mapAsync(GPUMapMode.READ).then(() => {
        const t = new BigInt64Array(buf.getMappedRange());
        this.gpuMs = Number(t[1] - t[0]) / 1e6;
        buf.unmap();
        this.queryBusy = false;
      }, () => { this.queryBusy = false; });
    }
  }

  /**
   * Process one frame from a video, canvas, ImageBitmap or VideoFrame and draw the output.
   * opts: {brightness, contrast, smoothing (0..1), mirror, onDrawn (called right after submit,
   * in the same task, when the canvas still holds the frame: snapshots)}
   */
  async frame(source, opts = {}) {
    if (this.disposed) throw new Error("engine disposed");
    await this.ready;
    this._submit(source, opts);
    if (opts.onDrawn) opts.onDrawn();
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Forget the previous output (no smoothing into the next frame), e.g. on a new source. */
  resetSmoothing() { this.previousValid = false; }

  // Test only: decode a staging buffer filled by the frame's own submission.
  async _decode(staging, count) {
    await staging.mapAsync(GPUMapMode.READ);
    const raw = staging.getMappedRange().slice(0, count * (this.f16 ? 2 : 4));
    staging.unmap();
    staging.destroy();
    if (!this.f16) return new Float32Array(raw);
    const h = new Uint16Array(raw), out = new Float32Array(count);
    const { halfToFloat } = await import("./modelfile.js");
    for (let i = 0; i < count; i++) out[i] = halfToFloat(h[i]);
    return out;
  }

  /** Test only: run on an RGBA image; returns the degraded input and the output, read back. */
  async runTest(rgba, width, height, opts = {}) {
    await this.ready;
    // the pixels as given (uploaded exactly), or through an ImageBitmap as a live source would be
    const image = new ImageData(new Uint8ClampedArray(rgba), width, height);
    const bitmap = opts.source === "bitmap"
      ? await createImageBitmap(image, { colorSpaceConversion: "none", premultiplyAlpha: "none" }) : image;
    this.previousValid = false;
    const R = this.model.config.resolution, esize = this.f16 ? 2 : 4;
    const staging = (n) => this.device.createBuffer({ size: Math.ceil((n * esize) / 4) * 4,
                                                      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const dStage = staging(R * R), oStage = staging(this.outChannels * R * R);
    // the copies travel in the frame's own submission: a live frame cannot slip in between
    this._submit(bitmap, { brightness: opts.brightness ?? 1, contrast: opts.contrast ?? 1, smoothing: 0 }, (enc) => {
      enc.copyBufferToBuffer(this.degraded, 0, dStage, 0, dStage.size);
      enc.copyBufferToBuffer(this.output, 0, oStage, 0, oStage.size);
    });
    bitmap.close?.();
    const degraded = await this._decode(dStage, R * R);
    const output = await this._decode(oStage, this.outChannels * R * R);
    return { degraded, output };
  }

  _release() {
    for (const b of this.buffers || []) b.destroy();
    this.frameTexture?.destroy();
    this.frameTexture = null;
    this.rowsum = null;   // destroyed with this.buffers
    this.querySet?.destroy();
    this.querySet = null;
    for (const v of this.views || []) v.ctx.unconfigure();
    this.views = [];
  }

  dispose() {
    if (this.disposed) return;
    this.disposed = true;
    this._release();
    this.liveBuffers = 0;
    this.device?.destroy();
  }
}
