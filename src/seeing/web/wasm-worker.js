// wasm-worker.js: one thread of the CPU engine (engine-wasm.js). It instantiates the shared-memory
// build of the kernels on the page's WebAssembly.Memory and runs its share of each frame:
// frame_run(net, tid, nt) splits every stage by rows/channel blocks and meets the other workers at
// barriers inside the wasm (atomics on the shared memory), so a frame costs one message each way.

let frameRun = null;

self.onmessage = async (e) => {
  const d = e.data;
  try {
    if (d.type === "init") {
      const inst = await WebAssembly.instantiate(d.module, { env: { memory: d.memory } });
      frameRun = inst.exports.frame_run;
      self.postMessage({ type: "ready" });
    } else if (d.type === "frame") {
      frameRun(d.net, d.tid, d.nt);
      if (d.tid === 0) self.postMessage({ type: "done", id: d.id });  // the last barrier has passed
    }
  } catch (err) {
    self.postMessage({ type: "error", message: String(err && err.message || err) });
  }
};
