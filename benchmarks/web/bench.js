// The browser side of `make bench-web`: one runtime on one model per page load (run.py drives it).
// A frame is canvas pixels in -> the net -> pixels on a canvas, awaited to completion:
//   peers: luma of the source canvas, the net, the RGB result drawn on an output canvas (with the
//   readback their API needs: TF.js WebGL toPixels, ORT WASM putImageData; ORT WebGPU keeps the
//   output in a GPU buffer and a render pass draws it; TF.js WebGPU uses tf.browser.draw);
//   ours: engine.frame(sourceCanvas, ...) (which also does the live degradation), then the queue drained.
// window.runCell(opts) starts a cell; run.py polls window.cellResult.

const NM = '/node_modules/';
const LUMA = [0.299, 0.587, 0.114];

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(s);
  });
}

async function fetchOk(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

// present = 'canvas': WebGPU runtimes draw into a real <canvas> context. present = 'texture': into a
// stand-in canvas whose 'webgpu' context hands out an ordinary GPUTexture of the same size, for
// headless Chromium on SwiftShader, where getCurrentTexture() on a real canvas destroys the device
// ("A valid external Instance reference no longer exists"). The GPU work of a frame is the same.
let PRESENT = 'canvas';

function textureCanvas(R) {
  let tex = null, key = '', config = null;
  const canvas = { width: R, height: R, style: {}, addEventListener() {}, removeEventListener() {} };
  const ctx = {
    canvas,
    configure(c) {
      const usage = (c.usage ?? 0) | GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC | GPUTextureUsage.TEXTURE_BINDING;
      const k = [c.format, usage, canvas.width, canvas.height].join();
      config = c;
      if (tex && k === key) return;
      if (tex) tex.destroy();
      key = k;
      tex = c.device.createTexture({ size: [canvas.width, canvas.height], format: c.format, usage });
    },
    unconfigure() { if (tex) tex.destroy(); tex = null; key = ''; },
    getConfiguration() { return config; },
    getCurrentTexture() { return tex; },
  };
  canvas.getContext = (kind) => (kind === 'webgpu' ? ctx : null);
  return canvas;
}

function gpuCanvas(R) {
  return PRESENT === 'texture' ? textureCanvas(R) : outputCanvas(R);
}

function outputCanvas(R) {
  const c = document.createElement('canvas');
  c.width = c.height = R;
  document.getElementById('out').appendChild(c);
  return c;
}

// The "camera": a cheap pattern that changes every frame, drawn before the frame's clock starts.
function drawSource(canvas, i) {
  const ctx = canvas.getContext('2d');
  const R = canvas.width;
  const g = ctx.createLinearGradient(0, 0, R, R);
  g.addColorStop(0, `hsl(${(i * 37) % 360}, 70%, 40%)`);
  g.addColorStop(1, `hsl(${(i * 37 + 180) % 360}, 60%, 70%)`);
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, R, R);
  ctx.fillStyle = '#fff';
  ctx.fillRect((i * 13) % R, R / 4, R / 5, R / 3);
}

// The fixed check input: grey in [-1, 1] (R*R) and the same as RGBA bytes for our engines.
function checkInput(R) {
  const grey = new Float32Array(R * R), rgba = new Uint8Array(4 * R * R);
  for (let y = 0; y < R; y++) for (let x = 0; x < R; x++) {
    const v = Math.round(127.5 + 127.5 * Math.sin(x / 9) * Math.cos(y / 13));
    const i = y * R + x;
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = v;
    rgba[4 * i + 3] = 255;
    grey[i] = v / 127.5 - 1;
  }
  return { grey, rgba };
}

function toBase64(f32) {
  const bytes = new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function greyFromCanvas(ctx, R) {
  const d = ctx.getImageData(0, 0, R, R).data, g = new Float32Array(R * R);
  for (let i = 0; i < R * R; i++) g[i] = (LUMA[0] * d[4 * i] + LUMA[1] * d[4 * i + 1] + LUMA[2] * d[4 * i + 2]) / 127.5 - 1;
  return g;
}

// ---------------------------------------------------------------- TF.js (the paper's stack)
async function setupTfjs(backend, stem, threads) {
  await loadScript(NM + '@tensorflow/tfjs/dist/tf.min.js');
  if (backend === 'wasm') {
    await loadScript(NM + '@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js');
    tf.wasm.setWasmPaths(NM + '@tensorflow/tfjs-backend-wasm/dist/');
    tf.wasm.setThreadsCount(threads);
  } else if (backend === 'webgpu') {
    await loadScript(NM + '@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js');
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} unavailable`);
  await tf.ready();
  const manifest = await (await fetchOk(`/models/${stem}.tfjs.json`)).json();
  const flat = new Float32Array(await (await fetchOk(`/models/${stem}.tfjs.bin`)).arrayBuffer());
  const R = manifest.resolution;
  const layers = manifest.layers.map((l) => {
    const n = l.filter_shape.reduce((a, b) => a * b, 1);
    return { ...l, filter: tf.tensor(flat.subarray(l.filter_offset, l.filter_offset + n), l.filter_shape),
             bias: tf.tensor1d(flat.subarray(l.bias_offset, l.bias_offset + l.cout)) };
  });
  const net = (x) => {  // x: [1, R, R, 1] in [-1, 1] -> [1, R, R, 3]
    const skips = [];
    let h = x, nUp = 0;
    for (const l of layers) {
      let y = l.kind === 'down' ? tf.conv2d(h, l.filter, 2, 1)
        : tf.conv2dTranspose(h, l.filter, [1, 2 * h.shape[1], 2 * h.shape[2], l.cout], 2, 'same');
      y = tf.add(y, l.bias);
      y = l.act === 'leaky' ? tf.leakyRelu(y, l.slope) : l.act === 'relu' ? tf.relu(y) : tf.tanh(y);
      if (l.kind === 'down') skips.push(y);
      else if (l.concat) y = tf.concat([y, skips[skips.length - 2 - nUp++]], 3);
      h = y;
    }
    return h;
  };
  const luma = tf.tensor1d(LUMA);
  return {
    R,
    async check(grey) {
      const y = tf.tidy(() => net(tf.tensor(grey, [1, R, R, 1])).transpose([0, 3, 1, 2]));
      const data = await y.data();
      y.dispose();
      return { output: data };
    },
    makeFrame(src) {
      const dst = backend === 'webgpu' ? gpuCanvas(R) : outputCanvas(R);
      return async () => {
        const img = tf.tidy(() => {
          const grey = tf.sum(tf.mul(tf.browser.fromPixels(src).toFloat(), luma), 2, true).div(127.5).sub(1);
          return net(grey.expandDims(0)).squeeze([0]).add(1).mul(127.5).clipByValue(0, 255).cast('int32');
        });
        if (backend === 'webgpu') {  // no readback: TF.js draws the tensor straight into a WebGPU canvas
          tf.browser.draw(img, dst);
          const be = tf.backend();
          if (be.commandEncoder) be.submitQueue();  // TF.js batches kernels; draw may leave them queued
          await be.device.queue.onSubmittedWorkDone();
        } else {
          await tf.browser.toPixels(img, dst);  // what the paper's page did
        }
        img.dispose();
      };
    },
  };
}

// ---------------------------------------------------------------- ONNX Runtime Web
const BLIT_WGSL = `
@group(0) @binding(0) var<storage, read> img: array<f32>;   // (3, R, R) in [-1, 1]
@group(0) @binding(1) var<uniform> side: vec4<u32>;
@vertex fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
  let p = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
  return vec4<f32>(p * 2.0 - 1.0, 0.0, 1.0);
}
@fragment fn fs(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
  let R = side.x;
  let i = u32(pos.y) * R + u32(pos.x);
  let c = vec3<f32>(img[i], img[R * R + i], img[2u * R * R + i]);
  return vec4<f32>(clamp(c * 0.5 + 0.5, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
}`;

async function setupOrt(ep, stem, threads) {
  const ort = await import(NM + 'onnxruntime-web/dist/ort.all.min.mjs');
  ort.env.wasm.wasmPaths = NM + 'onnxruntime-web/dist/';
  ort.env.wasm.numThreads = threads;
  const bytes = new Uint8Array(await (await fetchOk(`/models/${stem}.onnx`)).arrayBuffer());
  const opts = { executionProviders: [ep], graphOptimizationLevel: 'all' };
  if (ep === 'webgpu') opts.preferredOutputLocation = 'gpu-buffer';
  const session = await ort.InferenceSession.create(bytes, opts);
  const R = 256;
  const run = (grey) => session.run({ input: new ort.Tensor('float32', grey, [1, 1, R, R]) });
  return {
    R,
    async check(grey) {
      const res = await run(grey);
      const output = await res.output.getData(true);  // a readback, outside the timing
      return { output: new Float32Array(output) };
    },
    makeFrame(src) {
      const sctx = src.getContext('2d', { willReadFrequently: true });
      const dst = outputCanvas(R);
      if (ep === 'wasm') {
        const dctx = dst.getContext('2d');
        const out = dctx.createImageData(R, R);
        return async () => {
          const res = await run(greyFromCanvas(sctx, R));
          const o = res.output.data, p = out.data, n = R * R;
          for (let i = 0; i < n; i++) {
            p[4 * i] = (o[i] + 1) * 127.5;
            p[4 * i + 1] = (o[n + i] + 1) * 127.5;
            p[4 * i + 2] = (o[2 * n + i] + 1) * 127.5;
            p[4 * i + 3] = 255;
          }
          dctx.putImageData(out, 0, 0);
        };
      }
      // WebGPU: the output stays in ORT's GPU buffer; a render pass on ORT's device draws it.
      const device = ort.env.webgpu.device;
      const ctx = gpuCanvas(R).getContext('webgpu');
      const format = navigator.gpu.getPreferredCanvasFormat();
      ctx.configure({ device, format, alphaMode: 'opaque' });
      const module = device.createShaderModule({ code: BLIT_WGSL });
      const pipeline = device.createRenderPipeline({
        layout: 'auto', vertex: { module, entryPoint: 'vs' },
        fragment: { module, entryPoint: 'fs', targets: [{ format }] }, primitive: { topology: 'triangle-list' } });
      const side = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(side, 0, new Uint32Array([R, 0, 0, 0]));
      return async () => {
        const res = await run(greyFromCanvas(sctx, R));
        const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [
          { binding: 0, resource: { buffer: res.output.gpuBuffer, size: 3 * R * R * 4 } },
          { binding: 1, resource: { buffer: side } }] });
        const enc = device.createCommandEncoder();
        const pass = enc.beginRenderPass({ colorAttachments: [{
          view: ctx.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: [0, 0, 0, 1] }] });
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bind);
        pass.draw(3);
        pass.end();
        device.queue.submit([enc.finish()]);
        await device.queue.onSubmittedWorkDone();
        res.output.dispose();
      };
    },
  };
}

// ---------------------------------------------------------------- our engines (src/seeing/web/)
const ENGINES = { 'seeing-webgpu': ['/web/engine-webgpu.js', 'createWebGPUEngine'],
                  'seeing-wasm': ['/web/engine-wasm.js', 'createWasmEngine'] };

async function setupSeeing(runtime, stem, threads, size) {
  const [url, factory] = ENGINES[runtime];
  let mod, parseModel, atSize;
  try {
    if (!(await fetch(url, { method: 'HEAD' })).ok) throw new Error(`${url} not found`);
    mod = await import(url);
    ({ parseModel, atSize } = await import('/web/modelfile.js'));
    if (typeof mod[factory] !== 'function') throw new Error(`${url} has no ${factory}`);
  } catch (e) {
    const err = new Error(`engine not available: ${e.message}`);
    err.missing = true;
    throw err;
  }
  // size: the net at size x size (HD: 512 for these 256 models; the degradation grid scaled)
  const model = atSize(parseModel(await (await fetchOk(`/models/${stem}.safetensors`)).arrayBuffer()), size);
  const R = model.config.resolution;
  const dst = runtime === 'seeing-webgpu' ? gpuCanvas(R) : outputCanvas(R);
  // the same thread count as the peers' WASM backends and native ONNX Runtime
  const engine = await mod[factory](model, dst, runtime === 'seeing-wasm' ? { threads } : {});
  const drain = async () => {  // honest timing: the GPU work of the frame is done, not just queued
    const device = engine.device;
    if (device && device.queue) await device.queue.onSubmittedWorkDone();
  };
  const opts = { brightness: 1, contrast: 1, smoothing: 0, mirror: false };
  return {
    R, engine,
    async check(grey, rgba) {
      if (typeof engine.runTest !== 'function') return null;
      const r = await engine.runTest(rgba, R, R, { brightness: 1, contrast: 1 });
      return { output: Float32Array.from(r.output), input: Float32Array.from(r.degraded) };
    },
    makeFrame(src) {
      return async () => {
        await engine.frame(src, opts);
        await drain();
      };
    },
  };
}

// ---------------------------------------------------------------- the timing loop
async function setup(runtime, stem, threads, size) {
  switch (runtime) {
    case 'tfjs-webgl': return setupTfjs('webgl', stem, threads);
    case 'tfjs-webgpu': return setupTfjs('webgpu', stem, threads);
    case 'tfjs-wasm': return setupTfjs('wasm', stem, threads);
    case 'ort-wasm': return setupOrt('wasm', stem, threads);
    case 'ort-webgpu': return setupOrt('webgpu', stem, threads);
    default:
      if (runtime in ENGINES) return setupSeeing(runtime, stem, threads, size);
      throw new Error(`unknown runtime ${runtime}`);
  }
}

async function cell({ runtime, stem, frames, warmup, budgetMs, threads, present, size }) {
  PRESENT = present || 'canvas';
  const t0 = performance.now();
  const rt = await setup(runtime, stem, threads, size);
  const loadMs = performance.now() - t0;
  const { grey, rgba } = checkInput(rt.R);
  const c = await rt.check(grey, rgba);  // also the first (compiling) run of the net
  const src = document.getElementById('src');
  src.width = src.height = rt.R;
  const frame = rt.makeFrame(src);
  const start = performance.now(), times = [];
  let k = 0;
  for (let i = 0; i < warmup && (i === 0 || performance.now() - start < budgetMs / 3); i++, k++) {
    drawSource(src, k);
    await frame();
  }
  // at least one timed frame; then until `frames` or the cell's time budget is spent
  while (times.length < frames && (times.length === 0 || performance.now() - start < budgetMs)) {
    drawSource(src, k++);
    const a = performance.now();
    await frame();
    times.push(performance.now() - a);
  }
  const result = { runtime, stem, times, loadMs, crossOriginIsolated: self.crossOriginIsolated, present: PRESENT };
  if (c) {
    result.check = toBase64(c.output);
    if (c.input) result.checkInput = toBase64(c.input);
    else result.checkInput = toBase64(grey);
  }
  if (rt.engine) result.engineName = rt.engine.name;
  return result;
}

window.runCell = (opts) => {
  window.cellResult = null;
  cell(opts).then((r) => { window.cellResult = r; },
    (e) => { window.cellResult = { error: String(e && e.message || e), missing: !!(e && e.missing) }; });
};
// Can this browser draw WebGPU output into a real canvas? (headless SwiftShader here cannot)
window.probeCanvasPresent = async () => {
  if (!navigator.gpu) return 'no-webgpu';
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return 'no-webgpu';
  const device = await adapter.requestDevice();
  try {
    const ctx = outputCanvas(16).getContext('webgpu');
    ctx.configure({ device, format: navigator.gpu.getPreferredCanvasFormat(), alphaMode: 'opaque' });
    const enc = device.createCommandEncoder();
    const pass = enc.beginRenderPass({ colorAttachments: [{
      view: ctx.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: [1, 0, 0, 1] }] });
    pass.end();
    device.queue.submit([enc.finish()]);
    const buf = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    await device.queue.onSubmittedWorkDone();
    await buf.mapAsync(GPUMapMode.READ);
    return 'canvas';
  } catch (e) {
    return 'texture';
  } finally {
    device.destroy();
  }
};
window.benchReady = true;
