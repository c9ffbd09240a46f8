// app.js: wires sources (camera.js), models (modelfile.js) and an engine (engine-*.js) to the UI.
// Engines are pluggable: anything with the interface of docs/CONTRACTS.md can be listed in
// ENGINES; engine-start.js starts a model on the first one ready and keeps the fastest. With ?test=1,
// window.seeing exposes test hooks. state.events records what happened when (model, first-frame,
// engine-final, model-error), for tests and benchmarks to wait on.

import { atSize, parseModel } from "./modelfile.js";
import { FrameLock, startEngines } from "./engine-start.js";
import { cameraMessage, generatedClip, listCameras, openCamera, openFile } from "./camera.js";
import { Cycle, fadeIn, findModel, markCurrent, renderPicker, settle, stackedCanvas } from "./worlds.js";
import { watchRun } from "./watch.js";

const params = new URLSearchParams(location.search);
const TEST = params.get("test") === "1";
const $ = (id) => document.getElementById(id);
const FADE_MS = 1000;  // the crossfade between two models
// During a crossfade the old model goes on running beneath the new one while a frame of the new one
// takes less than this; on a slower machine its last picture stays still instead (a frame of each
// would double the time between frames, and the camera would seem to stall).
const BOTH_LIVE_MS = 40;
// Output size: the model's own side (1) or twice it (2: 512 for the 256 models, HD), remembered;
// ?size=N asks for N pixels (any side the model can run at) until the control is changed.
const SCALE_KEY = "seeing.outputScale";
let sizeOverride = +params.get("size") || 0;

/** The engines the page knows. `available` is cheap; `create` builds one; `prepare` warms a build. */
export const ENGINES = [
  { name: "webgpu",
    available: async () => (await import("./engine-webgpu.js")).webgpuAvailable(),
    create: async (model, canvas, opts) => (await import("./engine-webgpu.js")).createWebGPUEngine(model, canvas, opts) },
  { name: "wasm", quick: true,  // built in a fraction of a second: the page starts on it
    prepare: async () => (await import("./engine-wasm.js")).prepareWasm(),
    available: async () => { try { return (await import("./engine-wasm.js")).wasmAvailable(); } catch { return false; } },
    create: async (model, canvas, opts) => (await import("./engine-wasm.js")).createWasmEngine(model, canvas, opts) },
];

const availability = new Map();  // engine name -> Promise<boolean>, asked once (requestAdapter can take a while)

/**
 * The engines that may run here: ?engine=NAME or the engine menu forces one, else all. Each comes with
 * `usable()`, its availability asked once (engine-start.js awaits it just before building that engine).
 */
export function engineCandidates() {
  const forced = params.get("engine") || ($("engine-choice")?.value !== "auto" ? $("engine-choice")?.value : null);
  const list = forced ? ENGINES.filter((e) => e.name === forced) : ENGINES;
  return list.map((e) => {
    const usable = () => {
      if (!availability.has(e.name)) availability.set(e.name, e.available().catch(() => false));
      return availability.get(e.name);
    };
    return { ...e, usable };
  });
}

function engineLabel(engine, timings, final = true) {
  const detail = engine.f16 ? " (f16)" : engine.f16 === false ? " (f32)" : "";
  const auto = !final ? " · choosing…" : Object.keys(timings).length > 1 ? " · auto" : "";
  const times = Object.entries(timings).map(([n, ms]) => `${n} ${ms == null ? "failed" : `${ms.toFixed(1)} ms`}`);
  return `${engine.name}${detail}${auto}${times.length > 1 ? ` (${times.join(", ")})` : ""}`;
}

const state = {
  model: null, modelName: "", modelSize: 0, engine: null, source: null,
  frames: 0, fpsTimes: [], frameMs: null, running: false, snapshot: null, recorder: null,
  capture: null, lastError: null,
  list: [], current: -1,        // models.json, and the index of the running model in it (-1: a file)
  switching: Promise.resolve(), // switches run one after another
  outgoing: null,               // during a crossfade: {engine, until, done} the model fading out
  switchStats: null,            // the switch being measured: {name, firstFrameMs, maxGapMs, started}
  lastSwitch: null,             // the last one's figures, once its fade ended
  lastFrameAt: 0,
  frameLock: new FrameLock(),  // the loop's frames and engine timings take turns
  generation: 0,               // counts models started; an engine contest for an older one stops
  events: [],                  // {type, t (performance.now()), ...}: model, first-frame, engine-final, model-error
  firstFramePending: false,
  choosing: false,             // engines are still being built or timed
};

// Records an event and tells listeners of the window's "seeing" event; seq numbers them from 1.
function event(type, detail = {}) {
  const e = { type, t: performance.now(), seq: (state.events.at(-1)?.seq ?? 0) + 1, ...detail };
  state.events.push(e);
  if (state.events.length > 200) state.events.shift();
  window.dispatchEvent(new CustomEvent("seeing", { detail: e }));
  return e;
}

// topic: what the message is about, so that a model starting clears its own messages, not the camera's
function message(text, kind = "warn", topic = "model") {
  const el = $("message");
  el.textContent = text || "";
  el.className = kind;
  el.hidden = !text;
  el.dataset.topic = topic;
}

function clearMessage(topic) {
  if ($("message").dataset.topic === topic) message("");
}

function settings() {
  return { brightness: +$("brightness").value, contrast: +$("contrast").value,
           smoothing: +$("smoothing").value, mirror: $("mirror").checked };
}

// ------------------------------------------------------------------ models

function newCanvas(kind) {
  // a canvas keeps the first context type it was given, so each engine gets new ones
  const c = document.createElement("canvas");
  c.id = `${kind}-canvas`;
  return c;
}

// The engine's canvases replace those on the page, in the same task: the next paint shows its frame.
function showEngine(engine) {
  $("output-holder").replaceChildren(engine.canvas);
  if (engine.degradedCanvas) $("degraded-holder").replaceChildren(engine.degradedCanvas);
}

function firstFrame(engine) {
  if (!state.firstFramePending) return;
  state.firstFramePending = false;
  event("first-frame", { engine: engine.name });
}

function liveSource() {
  const s = state.source;
  return s && sourceReady(s.element) ? s.element : null;
}

/** The model file in `buffer` at the chosen output size, or null (the page says why; the running model stays). */
function readModel(buffer, name) {
  event("model", { name, bytes: buffer.byteLength });
  try {
    return sized(parseModel(buffer, name));
  } catch (e) {
    message(`Cannot use ${e.message}. The previous model keeps running.`, "error");
    event("model-error", { name, message: e.message });
    return null;
  }
}

/**
 * Parse and start a model on the first engine ready; on any failure the previous model keeps running.
 * The other engines are built and timed in the background; the fastest takes over (engine-final event).
 */
async function useModel(buffer, name) {
  const gen = ++state.generation;
  const model = readModel(buffer, name);
  if (!model) return false;
  const choices = engineCandidates();
  const current = () => state.generation === gen;
  let engine, timings, final;
  try {
    ({ engine, timings, final } = await startEngines(choices, model, {
      canvas: newCanvas, lock: state.frameLock, source: liveSource, settings, current, seconds: 1,
      built: (engine, ms) => event("engine-built", { engine, ms }),
      install: (e) => { const old = state.engine; showEngine(e); state.engine = e; old?.dispose(); },
    }));
  } catch (e) {
    if (current() && e.unavailable) {
      message("This browser has no WebGPU (and no CPU engine is available): the page cannot run a model here. " +
              "Try a recent Chrome or Edge, or enable WebGPU.", "error");
      event("model-error", { name, message: "no engine" });
    } else if (current()) {
      message(`Could not start ${name}: ${e.message}. The previous model keeps running.`, "error");
      event("model-error", { name, message: e.message });
    }
    return false;
  }
  if (!current()) {  // another model was asked for meanwhile
    engine.dispose();
    return false;
  }
  const old = state.engine;
  await state.frameLock.run(async () => {  // between two frames of the previous model, with a frame drawn
    const src = liveSource();
    if (src) await engine.frame(src, settings()).catch(() => {});
    showEngine(engine);
    showModel(engine, model, name, buffer, timings, choices.length === 1);
    state.firstFramePending = true;
    if (src) firstFrame(engine);
  });
  old?.dispose();
  state.choosing = choices.length > 1;
  final.then(({ engine: chosen, timings: t }) => {
    if (!current()) return;
    state.choosing = false;
    state.timings = t;
    $("stat-engine").textContent = engineLabel(chosen, t);
    $("stat-adapter").textContent = chosen.adapterInfo || "–";
    event("engine-final", { engine: chosen.name, timings: { ...t }, frames: state.frames });
  });
  return true;
}

// The running model and engine become `engine`: state and stats.
function showModel(engine, model, name, buffer, timings, final = true) {
  state.engine = engine;
  state.model = model;
  state.modelName = name;
  state.modelSize = buffer.byteLength;
  state.modelBuffer = buffer;
  state.timings = timings;
  $("stat-engine").textContent = engineLabel(engine, timings, final);
  $("stat-adapter").textContent = engine.adapterInfo || "–";
  const mb = (buffer.byteLength / 1e6).toFixed(2);
  $("stat-model").textContent = `${model.name} · ${model.precision} · ${mb} MB · ${(model.params ?? 0).toLocaleString()} params · ${model.config.resolution} px`;
  clearMessage("model");
}

/**
 * Switch to another model while one runs, with no blank frame and no stall: the new model starts on
 * the engine already chosen (no timing), on canvases stacked invisibly over the running ones, and
 * draws its first frame there; then it becomes the running model and fades in over FADE_MS while
 * the old one goes on running beneath it. Switches queue; with no model running yet this is useModel.
 * index: the model's place in the picker (-1: a file). Resolves to whether it switched.
 */
function switchModel(buffer, name, index = -1) {
  const run = state.switching.then(() => startSwitch(buffer, name, index));
  state.switching = run.catch(() => false);
  return run;
}

async function startSwitch(buffer, name, index) {
  if (!state.engine) {
    const ok = await useModel(buffer, name);
    if (ok) setCurrent(index);
    return ok;
  }
  const started = performance.now();
  state.generation++;  // an engine contest still running for the previous model stops: its engine stays
  state.choosing = false;
  const model = readModel(buffer, name);
  if (!model) return false;
  if (state.outgoing) await state.outgoing.done;  // one crossfade at a time
  state.switchStats = { name, firstFrameMs: null, maxGapMs: 0, started };
  const kind = ENGINES.find((e) => e.name === state.engine.name);
  const out = stackedCanvas($("output-holder")), deg = stackedCanvas($("degraded-holder"));
  let engine;
  try {
    engine = await kind.create(model, out, { degradedCanvas: deg });
    const src = state.source;
    if (src && sourceReady(src.element)) await engine.frame(src.element, settings());  // drawn, not yet visible
  } catch (e) {
    engine?.dispose();
    out.remove();
    deg.remove();
    state.switchStats = null;
    message(`Could not start ${name}: ${e.message}. The previous model keeps running.`, "error");
    event("model-error", { name, message: e.message });
    return false;
  }
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  state.outgoing = { engine: state.engine, until: performance.now() + FADE_MS, done: finished, resolve: done };
  state.switchStats.firstFrameMs = performance.now() - started;
  showModel(engine, model, name, buffer, state.timings);
  state.firstFramePending = true;  // the first frame shown is the loop's next one
  setCurrent(index);
  fadeIn(out, FADE_MS);
  fadeIn(deg, FADE_MS);
  // the frame loop ends the fade between frames; a stopped loop (tests) by this timer
  setTimeout(() => { if (!state.running) endFade(); }, FADE_MS + 50);
  return true;
}

// The crossfade is over: the new canvases stay alone, the old engine goes.
function endFade() {
  const old = state.outgoing;
  if (!old) return;
  state.outgoing = null;
  settle($("output-holder"), state.engine.canvas, "output-canvas");
  if (state.engine.degradedCanvas) settle($("degraded-holder"), state.engine.degradedCanvas, "degraded-canvas");
  old.engine.dispose();
  if (state.switchStats) {
    state.lastSwitch = { ...state.switchStats, totalMs: performance.now() - state.switchStats.started };
    state.switchStats = null;
  }
  old.resolve();
}

// A parsed model at the output size chosen (the control, or ?size=N).
function sized(model) {
  const R = model.config.resolution, scale = +$("size").value || 1;
  $("size").options[0].textContent = `${R} px`;
  $("size").options[1].textContent = `${2 * R} px (HD)`;
  if (sizeOverride) {
    try { return atSize(model, sizeOverride); } catch (e) { console.warn(`?size ignored: ${e.message}`); }
  }
  return atSize(model, R * scale);
}

function initSize() {
  const sel = $("size");
  sel.value = localStorage.getItem(SCALE_KEY) === "2" ? "2" : "1";
  sel.addEventListener("change", () => {
    localStorage.setItem(SCALE_KEY, sel.value);
    sizeOverride = 0;
    // the running model again at the new size, crossfaded like any switch
    if (state.modelBuffer) switchModel(state.modelBuffer, state.modelName, state.current);
  });
}

function setCurrent(index) {
  state.current = index;
  markCurrent($("worlds"), index);
}

const modelBytes = new Map();  // url -> Promise<ArrayBuffer>: each bundled model is downloaded once

async function loadModelUrl(index) {
  const entry = state.list[index];
  if (!modelBytes.has(entry.url)) {
    modelBytes.set(entry.url, fetch(entry.url).then((r) => {
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return r.arrayBuffer();
    }));
  }
  let buffer;
  try {
    buffer = await modelBytes.get(entry.url);
  } catch (e) {
    modelBytes.delete(entry.url);
    message(`Cannot download model ${entry.name}: ${e.message}`, "error");
    return false;
  }
  return switchModel(buffer, entry.name, index);
}

async function loadModelFile(file) {
  if (!file) return false;
  return switchModel(await file.arrayBuffer(), file.name, -1);
}

// The installation mode: every N seconds the next model of the picker.
const cycle = new Cycle(() => state.list.length > 1 ? loadModelUrl((state.current + 1) % state.list.length) : null);

function setCycle(seconds) {
  const sel = $("cycle");
  const value = String(seconds > 0 ? seconds : 0);
  if (![...sel.options].some((o) => o.value === value)) sel.append(new Option(`every ${value} s`, value));
  sel.value = value;
  cycle.set(+value);
}

async function initModels() {
  let list = [];
  try {
    const r = await fetch("models.json");
    if (r.ok) list = await r.json();
  } catch { /* a static copy without models: upload only */ }
  state.list = list;
  renderPicker($("worlds"), list, (i) => { cycle.restart(); loadModelUrl(i); });
  $("cycle").addEventListener("change", (e) => cycle.set(+e.target.value));
  if (!list.length) {
    message("No bundled model here: open or drop a .safetensors model file.", "info");
    return;
  }
  const wanted = params.get("model"), index = findModel(list, wanted);
  await loadModelUrl(Math.max(index, 0));
  if (wanted != null && index < 0)
    message(`No model called "${wanted}" here (${list.map((m) => m.name).join(", ")}): showing ${list[0].name}.`, "error");
  const seconds = parseFloat(params.get("cycle") ?? "0");
  if (seconds > 0) setCycle(seconds);
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
  event("source", { kind: next.kind });
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
    message(cameraMessage(e), "warn", "camera");
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
    if (state.outgoing && performance.now() >= state.outgoing.until) endFade();
    const source = state.source;
    if (state.engine && source && sourceReady(source.element)) {
      source.tick?.();
      try {
        const engine = await state.frameLock.run(async () => {
          const engine = state.engine;  // read under the lock: a faster engine may have taken over meanwhile
          const old = state.outgoing?.engine;
          const t0 = performance.now();
          await engine.frame(source.element, { ...settings(), onDrawn: () => afterDraw(engine) });
          state.frameMs = performance.now() - t0;
          if (old && state.frameMs < BOTH_LIVE_MS) await old.frame(source.element, settings()).catch(() => {});
          return engine;
        });
        const now = performance.now();
        state.frames++;
        state.fpsTimes.push(now);
        if (state.switchStats && state.lastFrameAt && now - state.lastFrameAt > state.switchStats.maxGapMs) {
          state.switchStats.maxGapMs = now - state.lastFrameAt;
          state.switchStats.gapEndedAt = now - state.switchStats.started;  // ms after the request
        }
        state.lastFrameAt = now;
        state.lastError = null;
        firstFrame(engine);
      } catch (e) {
        if (state.lastError !== e.message) console.warn("frame failed:", e.message);
        state.lastError = e.message;
        await new Promise((r) => setTimeout(r, 200));  // e.g. a device being rebuilt
      }
    }
    // while other engines build (a software GPU's pipelines take seconds of CPU), the loop leaves them half of it
    if (state.choosing && state.frameMs) await new Promise((r) => setTimeout(r, state.frameMs));
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
  initSize();
  setInterval(updateStats, 500);
  // the camera opens and the CPU engine compiles while the model downloads; the loop draws once all are there
  if ((params.get("engine") || "wasm") === "wasm") ENGINES.find((e) => e.name === "wasm").prepare().catch(() => {});
  for (const c of engineCandidates()) c.usable();
  const cam = params.get("source") === "clip" ? setSource(generatedClip()).then(() => false) : startCamera();
  loop();
  await initModels();
  state.watch = watchRun({  // a training run's live model, where the server watches one (seeing serve --watch)
    swap: (buffer, name) => switchModel(buffer, name),
    model: () => state.model,
    frames: () => state.frames,
  });
  return { camera: await cam };
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
    events: () => state.events,
    /** Resolves with the first event of this type numbered after `after` (an event's seq). */
    when: (type, after = 0) => new Promise((resolve) => {
      const seen = state.events.find((e) => e.type === type && e.seq > after);
      if (seen) return resolve(seen);
      const on = ({ detail: e }) => {
        if (e.type === type && e.seq > after) { removeEventListener("seeing", on); resolve(e); }
      };
      addEventListener("seeing", on);
    }),
    lastSeq: () => state.events.at(-1)?.seq ?? 0,
    runTest: (rgba, w, h, opts) => state.engine.runTest(Uint8Array.from(rgba), w, h, opts),
    useModel: (bytes, name) => useModel(Uint8Array.from(bytes).buffer, name),
    pick: (index) => loadModelUrl(index),
    setCycle,
    captureOutput: () => new Promise((resolve) => { state.capture = resolve; }),
    stop: () => { state.running = false; },
    start: () => loop(),
    useClip: () => setSource(generatedClip()),
    watch: () => state.watch,
  };
}
