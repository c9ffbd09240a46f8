"""A small static server for the browser benchmark, cross-origin isolated (COOP/COEP) for WASM threads.

Routes (GET and HEAD only; nothing outside these folders is reachable):
    /bench/...         benchmarks/web/ (bench.html, bench.js)
    /node_modules/...  benchmarks/web/node_modules/ (TF.js, ONNX Runtime Web)
    /web/...           src/seeing/web/ (our engines)
    /models/...        the folder of generated benchmark models
"""
from __future__ import annotations

import http.server
import threading
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json",
         ".html": "text/html; charset=utf-8", ".wgsl": "text/plain; charset=utf-8", ".map": "application/json"}


def make_handler(roots: dict[str, Path]):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: the driver prints what matters
            pass

        def resolve(self) -> Path | None:
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            prefix, _, rest = path.lstrip("/").partition("/")
            root = roots.get(prefix)
            if root is None:
                return None
            target = (root / rest).resolve()
            if target != root and root not in target.parents or not target.is_file():
                return None  # `..`, symlinks out and folders all end here
            return target

        def send_file(self, body: bool):
            target = self.resolve()
            if target is None:
                self.send_error(404)
                return
            data = target.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", TYPES.get(target.suffix, "application/octet-stream"))
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_GET(self):
            self.send_file(True)

        def do_HEAD(self):
            self.send_file(False)

    return Handler


class BenchServer:
    """`with BenchServer(models_dir) as url:` serves the benchmark on a free port of 127.0.0.1 from a thread."""

    def __init__(self, models_dir: Path, host: str = "127.0.0.1", port: int = 0):
        roots = {"bench": HERE, "node_modules": HERE / "node_modules", "web": REPO / "src" / "seeing" / "web",
                 "models": Path(models_dir)}
        self.httpd = http.server.ThreadingHTTPServer((host, port), make_handler({k: v.resolve() for k, v in roots.items()}))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
