"""The live page's frame rate with Chromium's fake camera, per engine: what an artist sees.

`seeing serve` with the bundled model, headless Chromium (DESIGN section 6 flags and the fake camera),
the page opened with ?test=1&engine=E for each engine (auto: the page's own timed choice); after
--seconds of running, the page's stats (fps, last frame ms, engine).

    .venv/bin/python -m benchmarks.web.page_fps --engines webgpu,wasm,auto --seconds 8
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "src" / "seeing" / "models" / "clouds-small.safetensors"


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    from tools.browser import CHROMIUM, FLAGS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default="webgpu,wasm,auto")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--model", type=Path, default=MODEL)
    args = ap.parse_args(argv)
    proc = subprocess.Popen(
        [sys.executable, "-m", "seeing", "serve", str(args.model), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        url = proc.stdout.readline().split()[-1]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            for engine in args.engines.split(","):
                page = browser.new_page()
                page.goto(f"{url}?test=1" + ("" if engine == "auto" else f"&engine={engine}"))
                page.wait_for_function(
                    "() => window.seeing && window.seeing.engine && window.seeing.state.source", timeout=120_000
                )
                time.sleep(args.seconds)
                st = page.evaluate("window.seeing.stats()")
                print(f"{engine:7s} {st['fps']:5.1f} fps   last frame {st['frameMs']:6.1f} ms   {st['engineText']}")
                page.close()
            browser.close()
    finally:
        proc.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
