"""A static server (with or without cross-origin isolation) and a Chromium page for the CPU engine's
browser tests and its benchmark. The page is blank; scripts import the engine modules from it."""
from __future__ import annotations

import contextlib
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "web"
ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
             "Cross-Origin-Resource-Policy": "same-origin"}
CHROMIUM = "/usr/bin/chromium"
# DESIGN section 6's flags (without the fake camera).
DESIGN_FLAGS = ["--no-sandbox", "--enable-unsafe-webgpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
                "--disable-background-networking", "--disable-component-update", "--no-first-run"]
# Plus Vulkan on SwiftShader for the compositor: without these, headless Chromium 156 destroys the WebGPU
# device (and the whole GPU instance) the first time a frame is presented on a WebGPU canvas ("A valid
# external Instance reference no longer exists"). They cost WebGL, so the peer benchmark (TF.js WebGL) runs
# with DESIGN_FLAGS alone and draws WebGPU output to a texture.
WEBGPU_FLAGS = DESIGN_FLAGS + ["--use-vulkan=swiftshader", "--enable-features=Vulkan"]
FAKE_CAMERA_FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
FLAGS = WEBGPU_FLAGS + FAKE_CAMERA_FLAGS


@contextlib.contextmanager
def static_server(files: dict[str, Path] | None = None, isolated: bool = True, root: Path = WEB):
    """Serve `root` and extra `files` ({url path: local file}) on 127.0.0.1; yields the base URL.
    isolated: send COOP/COEP (SharedArrayBuffer, worker threads) or not."""
    files = {k.lstrip("/"): Path(v) for k, v in (files or {}).items()}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            rel = self.path.split("?")[0].lstrip("/") or "blank.html"
            if rel == "blank.html":
                body, ctype = b"<!doctype html><meta charset=utf-8><title>blank</title><body></body>", "text/html"
            else:
                path = files.get(rel) or (root / rel)
                if ".." in rel or not path.is_file():
                    self.send_error(404)
                    return
                body = path.read_bytes()
                ctype = {".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}.get(
                    path.suffix, mimetypes.guess_type(path.name)[0] or "application/octet-stream")
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if isolated:
                for k, v in ISOLATION.items():
                    self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def chromium(extra_flags: list[str] | None = None):
    """A headless Chromium (the system one) through Playwright; yields the browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS + (extra_flags or []))
        try:
            yield browser
        finally:
            browser.close()


# Creates the CPU engine on a blank page for `url` (a model file); returns it as window.eng.
CREATE_JS = """async ([url, opts]) => {
  const { parseModel } = await import("./modelfile.js");
  const { createWasmEngine, wasmFeatures } = await import("./engine-wasm.js");
  const buf = await (await fetch(url)).arrayBuffer();
  const model = parseModel(buf, url);
  const canvas = document.createElement("canvas");
  document.body.appendChild(canvas);
  window.eng?.dispose();
  window.eng = await createWasmEngine(model, canvas, opts);
  return { threads: window.eng.threads, variant: window.eng.variant, features: wasmFeatures(),
           isolated: self.crossOriginIsolated };
}"""

# Times engine.frame() on a camera-sized canvas for at least `seconds`; median ms per frame.
TIME_JS = """async ([seconds, width, height]) => {
  const src = document.createElement("canvas");
  src.width = width; src.height = height;
  const g = src.getContext("2d");
  const grad = g.createLinearGradient(0, 0, width, height);
  grad.addColorStop(0, "#123"); grad.addColorStop(1, "#fc8");
  g.fillStyle = grad; g.fillRect(0, 0, width, height);
  g.fillStyle = "#fff"; g.fillRect(width / 3, height / 3, width / 4, height / 4);
  for (let i = 0; i < 3; i++) await window.eng.frame(src, {});
  const times = [];
  const end = performance.now() + seconds * 1000;
  while (times.length < 5 || performance.now() < end) {
    const t = performance.now();
    await window.eng.frame(src, {});
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1], min: times[0], frames: times.length };
}"""
