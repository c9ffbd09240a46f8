// app.js: wires sources (camera.js), models (modelfile.js) and an engine (engine-*.js) to the UI.
// Engines are pluggable: anything with the interface of docs/CONTRACTS.md can be listed in
// ENGINES; pickEngine decides which one runs. With ?test=1, window.seeing exposes test hooks.

import { parseModel } from "./modelfile.js";
import { cameraMessage, generatedClip, listCameras, openCamera, openFile } from "./camera.js";

const params = new URLSearchParams(location.search);
const TEST = params.get("test") === "1";
const $ = (id) => document.getElementById(id);

/** The engines the page knows, best first. `available` is cheap; `create` builds one. */
export const ENGINES = [
  { name: "webgpu",
    available: async () => (await import("./engine-webgpu.js")).webgpuAvailable(),
    create: async (model, canvas, opts) => (await import("./engine-webgpu.js")).createWebGPUEngine(model, canvas, opts) },
  { name: "wasm",
    available: async () => { try { return (await import("./engine-wasm.js")).wasmAvailable(); } catch { return false; } },
    create: async (model, canvas, opts) => (await import("./engine-wasm.js")).createWasmEngine(model, canvas, opts) },
];

/** The engines that may run here: ?engine=NAME or the engine menu forces one, else all available. */
export async function engineCandidates() {
  const forced = params.get("engine") || ($("engine-choice")?.value !== "auto" ? $("engine-choice")?.value : null);
  const list = forced ? ENGINES.filter((e) => e.name === forced) : ENGINES;
  const ok = [];
  for (const e of list) if (await e.available()) ok.push(e);
  return ok;
}

// A camera-sized test card for timing engines (the same for every engine).
function testCard() {
  const c = document.createElement("canvas");
  c.width = 640;
  c.height = 480;
  const g = c.getContext("2d");
  const grad = g.createLinearGradient(0, 0, 640, 480);
  grad.addColorStop(0, "#0a2340");
  grad.addColorStop(1, "#f0c080");
  g.fillStyle = grad;
  g.fillRect(0, 0, 640, 480);
  g.fillStyle = "#fff";
  g.fillRect(220, 160, 200, 160);
  return c;
}

/**
 * Median ms per frame of an engine for about `seconds` (after one warm-up frame). If the warm-up
 * alone is far slower than `best` (another engine's median), the engine is not timed further.
 */
export async function timeEngine(engine, seconds = 1, best = Infinity) {
  const card = testCard();
  let t = performance.now();
  await engine.frame(card, {});
  const warm = performance.now() - t;
  if (warm > 4 * best && warm > 250) return warm;
  const times = [];
  const end = performance.now() + seconds * 1000;
  while (times.length < 2 || (performance.now() < end && times.length < 200)) {
    t = performance.now();
    await engine.frame(card, {});
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/**
 * Start a model on the fastest engine: every candidate is created on its own canvases and timed for
 * about a second (the CPU engine first: it is quick to time and bounds the others); the fastest is
 * kept and its canvases shown. One candidate is started without timing. Returns {engine, timings}.
 */
async function chooseEngine(candidates, model) {
  const order = [...candidates].sort((a, b) => (a.name === "wasm" ? -1 : 0) - (b.name === "wasm" ? -1 : 0));
  const timings = {};
  let best = null, bestMs = Infinity, lastError = null;
  for (const c of order) {
    let engine;
    try {
      engine = await c.create(model, freshCanvas("output-holder"), { degradedCanvas: freshCanvas("degraded-holder") });
      if (order.length === 1) return { engine, timings };
      const ms = await timeEngine(engine, 1, bestMs);
      timings[c.name] = ms;
      if (ms < bestMs) {
        best?.dispose();
        best = engine;
        bestMs = ms;
      } else {
        engine.dispose();
      }
    } catch (e) {
      engine?.dispose();
      lastError = new Error(`the ${c.name} engine: ${e.message}`);
      timings[c.name] = null;
    }
  }
  if (!best) throw lastError || new Error("no engine could start");
  $("output-holder").replaceChildren(best.canvas);
  if (best.degradedCanvas) $("degraded-holder").replaceChildren(best.degradedCanvas);
  best.resetSmoothing?.();
  return { engine: best, timings };
}

function engineLabel(engine, timings) {
  const detail = engine.f16 ? " (f16)" : engine.f16 === false ? " (f32)" : "";
  const auto = Object.keys(timings).length > 1 ? " · auto" : "";
  const times = Object.entries(timings).map(([n, ms]) => `${n} ${ms == null ? "failed" : `${ms.toFixed(1)} ms`}`);
  return `${engine.name}${detail}${auto}${times.length > 1 ? ` (${times.join(", ")})` : ""}`;
}

const state = {
  model: null, modelName: "", modelSize: 0, engine: null, source: null,
  frames: 0, fpsTimes: [], frameMs: null, running: false, snapshot: null, recorder: null,
  capture: null, lastError: null,
};

function message(text, kind = "warn") {
  const el = $("message");
  el.textContent = text || "";
  el.className = kind;
  el.hidden = !text;
}

function settings() {
  return { brightness: +$("brightness").value, contrast: +$("contrast").value,
           smoothing: +$("smoothing").value, mirror: $("mirror").checked };
}

// ------------------------------------------------------------------ models

function freshCanvas(holderId) {
  // a canvas keeps the first context type it was given, so each engine gets new ones
  const c = document.createElement("canvas");
  c.id = holderId.replace("-holder", "-canvas");
  $(holderId).replaceChildren(c);
  return c;
}

/** Parse and start a model; on any failure the previous model keeps running. */
async function useModel(buffer, name) {
  let model;
  try {
    model = parseModel(buffer, name);
  } catch (e) {
    message(`Cannot use ${e.message}. The previous model keeps running.`, "error");
    return false;
  }
  const choices = await engineCandidates();
  if (!choices.length) {
    message("This browser has no WebGPU (and no CPU engine is available): the page cannot run a model here. " +
            "Try a recent Chrome or Edge, or enable WebGPU.", "error");
    return false;
  }
  const outHolder = $("output-holder"), degHolder = $("degraded-holder");
  const keep = [outHolder.firstChild, degHolder.firstChild];
  let engine, timings;
  try {
    ({ engine, timings } = await chooseEngine(choices, model));
  } catch (e) {
    outHolder.replaceChildren(...(keep[0] ? [keep[0]] : []));
    degHolder.replaceChildren(...(keep[1] ? [keep[1]] : []));
    message(`Could not start ${name}: ${e.message}. The previous model keeps running.`, "error");
    return false;
  }
  const old = state.engine;
  state.engine = engine;
  state.model = model;
  state.modelName = name;
  state.modelSize = buffer.byteLength;
  old?.dispose();
  state.modelBuffer = buffer;
  state.timings = timings;
  $("stat-engine").textContent = engineLabel(engine, timings);
  $("stat-adapter").textContent = engine.adapterInfo || "–";
  const mb = (buffer.byteLength / 1e6).toFixed(2);
  $("stat-model").textContent = `${model.name} · ${model.precision} · ${mb} MB · ${(model.params ?? 0).toLocaleString()} params`;
  message("");
  return true;
}

async function loadModelUrl(entry) {
  try {
    const r = await fetch(entry.url);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return await useModel(await r.arrayBuffer(), entry.name);
  } catch (e) {
    message(`Cannot download model ${entry.name}: ${e.message}`, "error");
    return false;
  }
}

async function loadModelFile(file) {
  if (!file) return false;
  return useModel(await file.arrayBuffer(), file.name);
}

async function initModels() {
  let list = [];
  try {
    const r = await fetch("models.json");
    if (r.ok) list = await r.json();
  } catch { /* a static copy without models: upload only */ }
  const sel = $("model");
  sel.replaceChildren(...list.map((m, i) => {
    const o = document.createElement("option");
    o.value = String(i);
    o.textContent = `${m.name} (${m.precision}, ${(m.size / 1e6).toFixed(1)} MB)`;
    return o;
  }));
  sel.onchange = () => loadModelUrl(list[+sel.value]);
  if (list.length) await loadModelUrl(list[0]);
  else message("No bundled model here: open or drop a .safetensors model file.", "info");
}

// ------------------------------------------------------------------ sources

function showInput(source) {
  const el = source.element;
  el.classList.toggle("mirrored", $("mirror").checked);
  $("input-holder").replaceChildren(el);
}

async function setSource(next) {
  state.source?.stop();
  state.source = next;
  state.engine?.resetSmoothing?.();
  showInput(next);
}

async function startCamera(deviceId) {
  try {
    await setSource(await openCamera(deviceId));
    const cams = await listCameras();
    const sel = $("camera");
    const current = state.source.element.srcObject?.getVideoTracks()[0]?.getSettings().deviceId;
    sel.replaceChildren(...cams.map((c, i) => {
      const o = document.createElement("option");
      o.value = c.deviceId;
      o.textContent = c.label || `camera ${i + 1}`;
      o.selected = c.deviceId === current;
      return o;
    }));
    return true;
  } catch (e) {
    message(cameraMessage(e));
    document.body.classList.add("no-camera");
    await setSource(generatedClip());
    return false;
  }
}

// ------------------------------------------------------------------ the frame loop

async function loop() {
  if (state.running) return;
  state.running = true;
  while (state.running) {
    const engine = state.engine, source = state.source;
    if (engine && source && sourceReady(source.element)) {
      source.tick?.();
      const t0 = performance.now();
      try {
        await engine.frame(source.element, { ...settings(), onDrawn: () => afterDraw(engine) });
        state.frames++;
        state.frameMs = performance.now() - t0;
        state.fpsTimes.push(performance.now());
        state.lastError = null;
      } catch (e) {
        if (state.lastError !== e.message) console.warn("frame failed:", e.message);
        state.lastError = e.message;
        await new Promise((r) => setTimeout(r, 200));  // e.g. a device being rebuilt
      }
    }
    await new Promise((r) => requestAnimationFrame(r));
  }
}

function sourceReady(el) {
  if (el instanceof HTMLVideoElement) return el.readyState >= 2 && el.videoWidth > 0;
  if (el instanceof HTMLImageElement) return el.complete && el.naturalWidth > 0;
  return el.width > 0 && el.height > 0;
}

// Runs in the task that drew the frame, while the canvas still holds it.
function afterDraw(engine) {
  if (state.snapshot) {
    const done = state.snapshot;
    state.snapshot = null;
    const c = document.createElement("canvas");
    c.width = engine.canvas.width;
    c.height = engine.canvas.height;
    c.getContext("2d").drawImage(engine.canvas, 0, 0);
    c.toBlob(done, "image/png");
  }
  if (state.capture) {
    const done = state.capture;
    state.capture = null;
    const c = document.createElement("canvas");
    c.width = c.height = 32;
    const ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(engine.canvas, 0, 0, 32, 32);
    done(Array.from(ctx.getImageData(0, 0, 32, 32).data));
  }
}

function updateStats() {
  const now = performance.now();
  state.fpsTimes = state.fpsTimes.filter((t) => now - t < 2000);
  const fps = state.fpsTimes.length / 2;
  $("stat-fps").textContent = state.fpsTimes.length ? fps.toFixed(1) : "–";
  const gpu = state.engine?.gpuMs;
  $("stat-ms").textContent = state.frameMs == null ? "–"
    : `${state.frameMs.toFixed(1)} ms${gpu != null ? ` (GPU ${gpu.toFixed(2)} ms)` : ""}`;
}

// ------------------------------------------------------------------ UI

function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function stamp() { return new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19); }

function wireUI() {
  for (const id of ["brightness", "contrast", "smoothing"]) {
    $(id).addEventListener("input", () => { $(`${id}-val`).textContent = (+$(id).value).toFixed(2); });
  }
  $("mirror").addEventListener("change", () => state.source && showInput(state.source));
  $("camera").addEventListener("change", (e) => startCamera(e.target.value));
  $("use-clip").addEventListener("click", () => setSource(generatedClip()));
  $("media-file").addEventListener("change", async (e) => {
    const f = e.target.files[0];
    if (!f) return;
    try { await setSource(await openFile(f)); message(""); } catch (err) { message(err.message, "error"); }
  });
  $("model-file").addEventListener("change", (e) => loadModelFile(e.target.files[0]));
  // the engine menu: automatic (timed) or one engine; restarts the current model
  $("engine-choice")?.addEventListener("change", () => state.modelBuffer && useModel(state.modelBuffer, state.modelName));
  for (const b of document.querySelectorAll("[data-view]")) {
    b.addEventListener("click", () => {
      document.querySelectorAll("[data-view]").forEach((x) => x.classList.toggle("on", x === b));
      $("stage").className = `view-${b.dataset.view}`;
    });
  }
  const toggleFullscreen = () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else $("stage").requestFullscreen?.().catch((e) => message(`Fullscreen refused: ${e.message}`));
  };
  $("fullscreen").addEventListener("click", toggleFullscreen);
  $("stage").addEventListener("dblclick", toggleFullscreen);
  // "f" toggles fullscreen (installations: no pointer needed), unless a form field has the keys
  window.addEventListener("keydown", (e) => {
    if (e.key === "f" && !e.ctrlKey && !e.metaKey && !e.altKey && !e.target.closest?.("input, select, textarea")) toggleFullscreen();
  });
  $("snapshot").addEventListener("click", () => {
    state.snapshot = (blob) => blob && download(blob, `seeing-${stamp()}.png`);
  });
  $("record").addEventListener("click", toggleRecording);
  // drag and drop of one model file anywhere on the page
  let depth = 0;
  window.addEventListener("dragenter", (e) => { e.preventDefault(); depth++; $("drop").hidden = false; });
  window.addEventListener("dragleave", () => { if (--depth <= 0) { depth = 0; $("drop").hidden = true; } });
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    $("drop").hidden = true;
    const files = [...(e.dataTransfer?.files || [])];
    if (files.length !== 1) { message("Drop one model file (.safetensors).", "error"); return; }
    loadModelFile(files[0]);
  });
}

function toggleRecording() {
  const btn = $("record");
  if (state.recorder) {
    state.recorder.stop();
    return;
  }
  if (!state.engine || typeof MediaRecorder === "undefined") { message("Recording is not available here.", "error"); return; }
  const stream = state.engine.canvas.captureStream(30);
  const type = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"].find((t) => MediaRecorder.isTypeSupported(t));
  const rec = new MediaRecorder(stream, type ? { mimeType: type } : {});
  const chunks = [];
  rec.ondataavailable = (e) => e.data.size && chunks.push(e.data);
  rec.onstop = () => {
    state.recorder = null;
    btn.textContent = "record";
    btn.classList.remove("recording");
    stream.getTracks().forEach((t) => t.stop());
    download(new Blob(chunks, { type: "video/webm" }), `seeing-${stamp()}.webm`);
  };
  rec.start(1000);
  state.recorder = rec;
  btn.textContent = "stop recording";
  btn.classList.add("recording");
}

// ------------------------------------------------------------------ start

async function main() {
  wireUI();
  setInterval(updateStats, 500);
  await initModels();
  const cam = params.get("source") === "clip" ? (await setSource(generatedClip()), false) : await startCamera();
  loop();
  return { camera: cam };
}

const started = main();

if (TEST) {
  window.seeing = {
    started,
    state,
    get engine() { return state.engine; },
    stats: () => ({ frames: state.frames, fps: +$("stat-fps").textContent || 0, frameMs: state.frameMs,
                    engine: state.engine?.name, liveBuffers: state.engine?.liveBuffers,
                    message: $("message").hidden ? "" : $("message").textContent, model: state.modelName,
                    timings: state.timings, engineText: $("stat-engine").textContent }),
    runTest: (rgba, w, h, opts) => state.engine.runTest(Uint8Array.from(rgba), w, h, opts),
    useModel: (bytes, name) => useModel(Uint8Array.from(bytes).buffer, name),
    captureOutput: () => new Promise((resolve) => { state.capture = resolve; }),
    stop: () => { state.running = false; },
    start: () => loop(),
    useClip: () => setSource(generatedClip()),
  };
}
