"""Model switches in the live page with Chromium's fake camera: what a visitor of an installation sees.

`seeing serve` with small uint8 models (the bundled ones, or --random N small models with random
weights), headless Chromium (DESIGN section 6 flags, fake camera), the page at ?test=1&engine=E. Each
switch picks the next model (already downloaded after the first round) and reports the time from the
request to the new model's first frame and the longest gap between frames from the request to the
end of the crossfade. Issue 12's goals: first frame < 1 s on the CPU engine, no gap > 250 ms.

    .venv/bin/python -m benchmarks.web.page_switch --engine wasm --switches 8
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "src" / "seeing" / "models"


def random_models(folder: Path, n: int) -> Path:
    from seeing.arch import preset_config
    from seeing.degrade import DegradeParams
    from seeing.modelfile import random_weights, write_model

    for i in range(n):
        w, b = random_weights(preset_config("small"), seed=i)
        write_model(
            folder / f"random-{i}.safetensors", preset_config("small"), DegradeParams(), w, b, "uint8", f"random-{i}"
        )
    return folder


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    from tools.browser import CHROMIUM, FLAGS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", default="wasm", help="wasm, webgpu or auto")
    ap.add_argument("--switches", type=int, default=8)
    ap.add_argument("--random", type=int, default=0, help="serve N random small models instead of the bundled ones")
    ap.add_argument("--size", type=int, default=0, help="output size (256 or 512; default: the page's)")
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    folder = random_models(Path(tmp.name), args.random) if args.random else BUNDLED
    proc = subprocess.Popen(
        [sys.executable, "-m", "seeing", "serve", str(folder), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        url = proc.stdout.readline().split()[-1]
        query = (
            "test=1"
            + ("" if args.engine == "auto" else f"&engine={args.engine}")
            + (f"&size={args.size}" if args.size else "")
        )
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            page = browser.new_page()
            page.goto(f"{url}?{query}")
            page.wait_for_function(
                "() => window.seeing && window.seeing.engine && window.seeing.state.frames > 10", timeout=300_000
            )
            n = page.evaluate("window.seeing.state.list.length")
            if n < 2:
                print(f"only {n} model(s) served: nothing to switch to (try --random 4)")
                return 2
            # the page alone, for comparison: the longest gap between frames over 3 s without a switch
            base = page.evaluate("""() => new Promise((done) => {
                const s = window.seeing.state, t0 = performance.now();
                let last = s.frames, lastAt = t0, gap = 0, times = [];
                const poll = () => {
                    const now = performance.now();
                    if (s.frames !== last) { gap = Math.max(gap, now - lastAt); times.push(now - lastAt); last = s.frames; lastAt = now; }
                    if (now - t0 < 3000) requestAnimationFrame(poll); else done([gap, times.length]);
                };
                requestAnimationFrame(poll);
            })""")
            print(f"without a switch: {base[1]} frames in 3 s, longest gap {base[0]:.0f} ms")
            rows = []
            for k in range(args.switches):
                page.evaluate("window.seeing.pick((window.seeing.state.current + 1) % window.seeing.state.list.length)")
                page.wait_for_function("!window.seeing.state.outgoing", timeout=300_000)
                st = page.evaluate("window.seeing.state.lastSwitch")
                rows.append(st)
                print(
                    f"switch {k + 1:2d} -> {st['name']:20s} first frame {st['firstFrameMs']:7.1f} ms   "
                    f"longest frame gap {st['maxGapMs']:6.1f} ms   with the fade {st['totalMs']:7.1f} ms  (ending {st.get('gapEndedAt', 0):.0f} ms after the request)"
                )
            engine = page.evaluate("window.seeing.stats().engineText")
            later = rows[n - 1 :] or rows  # the first round downloads each model once
            print(
                f"{engine}: median first frame {statistics.median(r['firstFrameMs'] for r in later):.0f} ms, "
                f"worst {max(r['firstFrameMs'] for r in later):.0f} ms; longest frame gap "
                f"{max(r['maxGapMs'] for r in rows):.0f} ms (median {statistics.median(r['maxGapMs'] for r in rows):.0f} ms)"
            )
            browser.close()
    finally:
        proc.terminate()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
