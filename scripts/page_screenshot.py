"""A still of the live page for the README: the bundled model, Chromium's fake camera on a made-up scene.

.venv/bin/python -m scripts.page_screenshot [docs/img/page.png]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tools.browser import CHROMIUM, FAKE_CAMERA_FLAGS, WEBGPU_FLAGS, write_y4m

ROOT = Path(__file__).resolve().parents[1]


def table_scene(frames: int = 60, w: int = 640, h: int = 480) -> np.ndarray:
    """Bright objects drifting over a dim table, like the installation's camera sees them."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((frames, h, w, 3), np.uint8)
    for t in range(frames):
        img = 40 + 30 * (y / h)
        for cx, cy, r, v in ((200 + 2 * t, 220, 70, 210), (430, 300 - t, 50, 170), (330, 120 + t, 35, 250)):
            img = img + v * np.exp(-((((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r)) ** 1.5))
        out[t] = np.repeat(np.clip(img, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    return out


def main(out: str = "docs/img/page.png") -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        clip = write_y4m(Path(tmp) / "scene.y4m", table_scene())
        server = subprocess.Popen(
            [sys.executable, "-m", "seeing", "demo", "--port", "0", "--no-browser"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            url = next(line for line in server.stdout if "http://" in line).split("http://")[1].split()[0]
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[*WEBGPU_FLAGS, *FAKE_CAMERA_FLAGS, f"--use-file-for-fake-video-capture={clip}"],
                )
                page = browser.new_page(viewport={"width": 1280, "height": 760})
                page.goto(f"http://{url}?test=1")  # test=1 exposes window.seeing, to wait on frames
                page.wait_for_function(
                    "() => window.seeing && window.seeing.state && window.seeing.state.frames > 20", timeout=180000
                )
                page.screenshot(path=str(ROOT / out))
                browser.close()
        finally:
            server.terminate()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
