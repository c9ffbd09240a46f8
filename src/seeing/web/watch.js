// watch.js: follows a training run's live model (`seeing train --live`, `seeing serve --watch RUN`).
// Polls live.json (ETag; 304 while nothing changed); when the version changes, downloads
// live/model.safetensors and asks the page to swap to it (the old model keeps drawing until the
// new one runs), then shows the epoch, step and held-out measures that the model file carries.
// Served without --watch (or as a static site), live.json says {"run": null} and nothing here runs.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nextFrame = () => new Promise((r) => requestAnimationFrame(r));

/** ms since the epoch at which a version ("MTIMENS-SIZE" in hex) landed on the server's disk. */
function landedMs(version) {
  return Number(BigInt(`0x${version.split("-")[0]}`) / 1000000n);
}

/** One line about the model the page runs, from its training facts. */
export function describe(run, training) {
  const t = training || {}, m = t.metrics || {};
  const parts = [`training run ${run}`, `epoch ${t.epoch ?? "?"}`, `step ${t.step ?? "?"}`];
  if (m.heldout_l1 != null) parts.push(`held-out L1 ${m.heldout_l1.toFixed(4)}`);
  if (m.psnr != null) parts.push(`PSNR ${m.psnr.toFixed(2)} dB`);
  if (m.ssim != null) parts.push(`SSIM ${m.ssim.toFixed(3)}`);
  if (m.fidelity_db != null) parts.push(`fidelity ${m.fidelity_db.toFixed(1)} dB`);
  return parts.join(" · ");
}

function statusLine() {
  const el = document.createElement("p");
  el.id = "live-status";
  el.setAttribute("role", "status");
  document.querySelector("header").append(el);
  return el;
}

/**
 * Start following the run, if the server watches one.
 * @param {{swap: (buffer: ArrayBuffer, name: string) => Promise<boolean>, model: () => object,
 *          frames: () => number}} page  swap starts a model (false: it could not), model is the
 *          running one, frames counts the frames drawn
 * @returns {Promise<object|null>} the watcher ({swaps, polls, stop()}), or null without a watched run
 */
export async function watchRun(page, { interval = 500 } = {}) {
  let first;
  try {
    first = await fetch("live.json", { cache: "no-store" });
  } catch {
    return null;
  }
  if (!first.ok) return null;
  const head = await first.clone().json().catch(() => ({}));
  if (!head.run) return null;
  const el = statusLine();
  const watcher = { swaps: [], polls: 0, failures: 0, version: null, stopped: false, stop() { this.stopped = true; } };
  let etag = null, response = first;

  async function swapTo(status) {
    const r = await fetch(status.model, { cache: "no-store" });
    if (!r.ok) return;  // replaced or gone meanwhile: the next poll tries again
    const version = (r.headers.get("ETag") || "").replaceAll('"', "");
    const buffer = await r.arrayBuffer();
    const record = { version, landedMs: landedMs(version), framesBefore: page.frames() };
    const ok = await page.swap(buffer, `${status.run} (live)`);
    watcher.version = version;  // a file that fails is not retried: the next epoch brings another
    if (!ok) { watcher.failures++; return; }
    const model = page.model();
    record.training = model.meta?.training || {};
    record.framesAtSwap = page.frames();
    el.textContent = describe(status.run, record.training);
    while (page.frames() <= record.framesAtSwap && !watcher.stopped) await nextFrame();
    record.firstFrameMs = Date.now();
    record.latencyMs = record.firstFrameMs - record.landedMs;  // file landed -> first frame drawn with it
    watcher.swaps.push(record);
  }

  (async () => {
    while (!watcher.stopped) {
      try {
        if (response.status === 200) {
          etag = response.headers.get("ETag");
          const status = await response.json();
          if (status.model && status.version !== watcher.version) await swapTo(status);
          else if (!status.model) el.textContent = `training run ${status.run}: waiting for the first epoch…`;
        }
      } catch (e) {
        console.warn("live model:", e.message);
      }
      await sleep(interval);
      try {
        response = await fetch("live.json", { cache: "no-store", headers: etag ? { "If-None-Match": etag } : {} });
        watcher.polls++;
      } catch {
        response = { status: 0 };  // the server went away (training over): keep the last model, keep asking
      }
    }
  })();
  return watcher;
}
