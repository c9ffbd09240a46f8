// engine-start.js: a model starts on whichever engine is ready first (the CPU engine builds in a
// fraction of a second; a WebGPU pipeline on a software adapter takes seconds), so frames flow at once.
// The other engines go on building meanwhile; each, once built, is timed against the running one on the
// live frames, the two taking turns, and the faster one takes over between two frames: no gap, no blank.

/** Runs engine frames one at a time, so that no timing shares the CPU with another engine's frame. */
export class FrameLock {
  constructor() { this.tail = Promise.resolve(); }

  /** fn() once every earlier fn has settled; resolves to fn's result. */
  run(fn) {
    const next = this.tail.then(fn);
    this.tail = next.catch(() => {});
    return next;
  }

  /** Milliseconds that one fn() took, not counting the wait for the lock. */
  timed(fn) {
    return this.run(async () => {
      const t = performance.now();
      await fn();
      return performance.now() - t;
    });
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * Build the candidate engines that are usable (`usable()`, where given, resolves true), quick ones (`quick: true`, the CPU engine) first and each of the others
 * once the one before it is built or failed (two builds at once would slow the first on a small CPU),
 * and resolve with the first one built: {engine, timings, final}. `final` resolves to {engine, timings}
 * once every other candidate was built and timed (or failed); by then io.install(engine) has been
 * called for a faster one and the slower ones are disposed.
 * io: {canvas(kind) -> a new detached canvas ("output" | "degraded"), lock: FrameLock, source() -> a ready
 * frame source or null, settings() -> frame options, current() -> false once another model replaced
 * this one, install(engine) (called under the lock, right after the engine drew a live frame),
 * built(name, ms) (optional), seconds (timing per candidate)}.
 * Rejects with the last error when no candidate can be built.
 */
export async function startEngines(candidates, model, io) {
  const timings = {};
  const order = [...candidates].sort((a, b) => !!b.quick - !!a.quick);
  let previous = Promise.resolve();
  const builds = order.map((c) => {
    const build = previous.then(async () => {
      if (c.usable && !(await c.usable())) throw Object.assign(new Error(`no ${c.name} here`), { unavailable: true });
      const t = performance.now();
      try {
        const engine = await c.create(model, io.canvas("output"), { degradedCanvas: io.canvas("degraded") });
        if (!io.current()) engine.dispose();  // built for a model that was replaced meanwhile
        else io.built?.(c.name, performance.now() - t);
        return engine;
      } catch (e) {
        timings[c.name] = null;
        throw new Error(`the ${c.name} engine: ${e.message}`, { cause: e });
      }
    });
    previous = build.catch(() => {});
    return build;
  });
  let first;
  try {
    first = await Promise.any(builds);
  } catch (e) {
    const errors = e.errors || [e];
    throw Object.assign(errors.findLast((x) => !x.unavailable) || errors.at(-1),
                        { unavailable: errors.every((x) => x.unavailable) });
  }
  const others = builds.filter((_, i) => order[i].name !== first.name);
  const final = contest(first, others, timings, io);
  return { engine: first, timings, final };
}

async function contest(live, others, timings, io) {
  for (const build of others) {
    const cand = await build.catch(() => null);
    if (!cand) continue;
    if (!io.current() || live.disposed) {
      cand.dispose();
      continue;
    }
    const duel = await time(live, cand, io).catch(() => null);
    if (!duel || !io.current()) {
      cand.dispose();
      continue;
    }
    timings[live.name] = duel.live;
    timings[cand.name] = duel.cand;
    if (duel.cand < duel.live) {
      const took = await io.lock.run(async () => {
        const src = io.source();
        if (!src || !io.current()) return false;
        cand.resetSmoothing?.();
        await cand.frame(src, io.settings());
        if (!io.current()) return false;
        io.install(cand);
        return true;
      }).catch(() => false);
      if (took) {
        live.dispose();
        live = cand;
        continue;
      }
    }
    cand.dispose();
  }
  return { engine: live, timings };
}

// Median ms per frame of both engines on the live source for about io.seconds, taking turns. A candidate
// whose first frame (run outside the lock, as a software GPU's can take seconds) is far slower than the
// running engine is timed on one more frame only.
async function time(live, cand, io) {
  let src;
  while (!(src = io.source())) {  // no camera or clip yet: wait for one
    if (!io.current()) throw new Error("replaced");
    await new Promise((r) => setTimeout(r, 50));
  }
  cand.resetSmoothing?.();
  const t = performance.now();
  await cand.frame(src, io.settings());
  const warm = performance.now() - t;
  const liveMs = [], candMs = [];
  for (let i = 0; i < 3; i++) liveMs.push(await io.lock.timed(() => live.frame(io.source() || src, io.settings())));
  if (warm > 4 * median(liveMs) && warm > 250) {  // one more frame, past its warm-up, decides
    return { live: median(liveMs), cand: await io.lock.timed(() => cand.frame(io.source() || src, io.settings())) };
  }
  const end = performance.now() + io.seconds * 1000;
  while (io.current() && (candMs.length < 3 || (performance.now() < end && candMs.length < 200))) {
    candMs.push(await io.lock.timed(() => cand.frame(io.source() || src, io.settings())));
    liveMs.push(await io.lock.timed(() => live.frame(io.source() || src, io.settings())));
  }
  return { live: median(liveMs), cand: median(candMs) };
}
