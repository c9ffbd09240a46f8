"""How soon the live page shows a generated frame: the time from the model file arriving to the first
frame drawn, and to the final engine choice (the page's own timed one, ?engine not given).

`seeing serve` with the bundled model, headless Chromium (DESIGN section 6 flags, fake camera), a fresh
page per run. "model arrived" is the Resource Timing responseEnd of the model file; "first frame" the
page's first-frame event (pages without events: the first frame counted by its loop, polled every 10 ms).

    .venv/bin/python -m benchmarks.web.first_frame --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "src" / "seeing" / "models" / "clouds-small.safetensors"

ARRIVED = """() => performance.getEntriesByType("resource").find((e) => e.name.endsWith(".safetensors"))?.responseEnd"""
EVENT = """(type) => (window.seeing.events ? window.seeing.events() : []).find((e) => e.type === type)"""


def one_run(browser, url: str, timeout_ms: int) -> dict:
    page = browser.new_page()
    try:
        page.goto(f"{url}?test=1")
        page.wait_for_function("() => window.seeing && window.seeing.state.frames >= 1", polling=10, timeout=timeout_ms)
        polled = page.evaluate("performance.now()")
        arrived = page.evaluate(ARRIVED)
        first = page.evaluate(EVENT, "first-frame")
        row = {
            "arrived": arrived,
            "first": first["t"] if first else polled,
            "engine_first": page.evaluate("window.seeing.state.engine.name"),
        }
        if first:  # a page with events: wait for its final engine choice
            page.wait_for_function(f"() => ({EVENT})('engine-final')", timeout=timeout_ms)
            final = page.evaluate(EVENT, "engine-final")
            row.update(
                final=final["t"], engine=final["engine"], frames_before_final=final["frames"], timings=final["timings"]
            )
        else:
            row.update(
                final=row["first"],
                engine=row["engine_first"],
                frames_before_final=0,
                timings=page.evaluate("window.seeing.stats().timings"),
            )
        return row
    finally:
        page.close()


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    from tools.browser import CHROMIUM, FLAGS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--timeout", type=float, default=180, help="seconds a run may take")
    args = ap.parse_args(argv)
    proc = subprocess.Popen(
        [sys.executable, "-m", "seeing", "serve", str(args.model), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    rows = []
    try:
        url = proc.stdout.readline().split()[-1]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            for i in range(args.runs):
                r = one_run(browser, url, int(args.timeout * 1000))
                rows.append(r)
                t = ", ".join(f"{k} {v:.1f} ms" for k, v in (r["timings"] or {}).items() if v is not None)
                print(
                    f"run {i + 1}: model arrived {r['arrived']:7.0f} ms after navigation; first frame "
                    f"+{r['first'] - r['arrived']:6.0f} ms ({r['engine_first']}); final engine "
                    f"+{r['final'] - r['arrived']:6.0f} ms ({r['engine']}; {t}); "
                    f"{r['frames_before_final']} frames before it",
                    flush=True,
                )
            browser.close()
    finally:
        proc.terminate()
    med = lambda k: statistics.median(r[k] - r["arrived"] for r in rows)  # noqa: E731
    print(
        f"median of {len(rows)}: first frame {med('first'):.0f} ms after the model arrived "
        f"({statistics.median(r['first'] for r in rows):.0f} ms after navigation); final engine {med('final'):.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
