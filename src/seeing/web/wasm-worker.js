// wasm-worker.js: one thread of the CPU engine (engine-wasm.js). It instantiates the shared-memory
// build of the kernels on the page's WebAssembly.Memory and runs its share of each frame:
// frame_run(net, tid, nt) claims units of work (rows, channel blocks) of each stage from counters in
// the shared memory until the frame is done, so a frame costs one message each way; the worker that
// finishes the frame's last unit gets its generation back and reports it.

let frameRun = null;

self.onmessage = async (e) => {
  const d = e.data;
  try {
    if (d.type === "init") {
      const inst = await WebAssembly.instantiate(d.module, { env: { memory: d.memory } });
      frameRun = inst.exports.frame_run;
      self.postMessage({ type: "ready" });
    } else if (d.type === "frame") {
      const gen = frameRun(d.net, d.tid, d.nt);
      if (gen) self.postMessage({ type: "done", gen });
    }
  } catch (err) {
    self.postMessage({ type: "error", message: String(err && err.message || err) });
  }
};
