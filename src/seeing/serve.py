"""The live page's server: `seeing serve` and `seeing demo` (Starlette app run by uvicorn).

Serves the page from `src/seeing/web/`, `/models.json` and the given model files under
`/models/NAME.safetensors`, each with its thumbnail `/models/NAME.png` where a PNG of that stem lies
beside the model file (the model builder writes one); with `--watch RUN`, also RUN's live model
(seeing.live: `/live.json`, `/live/model.safetensors`). The URLs are fixed when the server starts; a
request is looked up among them, never turned into a path. Every response carries COOP/COEP/CORP headers (cross-origin
isolation, so the WASM engine may use threads) and an ETag; only GET and HEAD are allowed. A
request reaches nothing but files inside the web root and the listed models: dot segments,
encoded slashes or backslashes, NUL bytes, absolute paths and symlinks out all answer 404.
"""

from __future__ import annotations

import json
import mimetypes
import os
import socket
import sys
from pathlib import Path

from .errors import UserError
from .live import MODEL_ROUTE, NOT_WATCHING, STATUS_ROUTE, live_status, read_live

WEB_ROOT = Path(__file__).parent / "web"
BUNDLED_MODELS = Path(__file__).parent / "models"
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wgsl": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
    ".safetensors": "application/octet-stream",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".y4m": "application/octet-stream",
    ".webm": "video/webm",
    ".png": "image/png",
}


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def expand_models(paths: list[str | os.PathLike]) -> list[Path]:
    """Model paths with each folder replaced by the `*.safetensors` files in it (sorted)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.glob("*.safetensors") if f.is_file())
            if not found:
                raise UserError(f"{p}: no .safetensors model files in this folder")
            out += found
        else:
            out.append(p)
    return out


def thumbnail_of(model_path: Path) -> Path | None:
    """NAME.png beside NAME.safetensors, if it is a PNG file inside the model's folder (symlinks followed)."""
    target = resolve_in(model_path.parent, model_path.with_suffix(".png").name)
    if target is None:
        return None
    with open(target, "rb") as f:
        return target if f.read(8) == PNG_SIGNATURE else None


def model_entries(paths: list[str | os.PathLike]) -> list[dict]:
    """Validate model files and describe them for /models.json; names are unique file stems.

    A folder stands for the model files in it. Each entry's `thumb` is the URL of its thumbnail, or None.
    """
    from .modelfile import read_model  # numpy only

    entries, used = [], set()
    for path in expand_models(paths):
        if not path.is_file():
            raise UserError(f"{path}: no such model file")
        model = read_model(path)  # a broken file is a one-line error before anything is served
        name, n = path.stem, 2
        while name in used:
            name, n = f"{path.stem}-{n}", n + 1
        used.add(name)
        thumb = thumbnail_of(path)
        entries.append(
            {
                "name": name,
                "url": f"models/{name}.safetensors",
                "size": path.stat().st_size,
                "params": int(model.meta.get("params", 0)),
                "precision": model.precision,
                "thumb": f"models/{name}.png" if thumb else None,
                "path": path.resolve(),
                "thumb_path": thumb,
            }
        )
    return entries


def public_list(entries: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k not in ("path", "thumb_path")} for e in entries]


def served_files(entries: list[dict]) -> dict[str, Path]:
    """URL (relative, as in models.json) -> file, for every model file and thumbnail."""
    files = {e["url"]: e["path"] for e in entries}
    files.update({e["thumb"]: e["thumb_path"] for e in entries if e.get("thumb")})
    return files


def safe_relative(raw_path: bytes, path: str) -> str | None:
    """The request path as a plain relative path, or None if it tries anything odd."""
    raw = raw_path.lower()
    if b"%2f" in raw or b"%5c" in raw or b"%00" in raw or b"\\" in raw:
        return None
    if "\x00" in path or "\\" in path or not path.startswith("/") or path.startswith("//"):
        return None
    rel = path[1:]
    parts = rel.split("/")
    if any(part in ("", ".", "..") or ":" in part for part in parts if rel):
        return None
    return rel


def resolve_in(root: Path, rel: str) -> Path | None:
    """root/rel if it is a regular file that, symlinks followed, still lies inside root."""
    root = root.resolve()
    try:
        target = (root / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


def create_app(models: list[dict], web_root: Path = WEB_ROOT, watch: Path | None = None):
    """The ASGI app for the page and these models (entries from `model_entries`), and with `watch` the
    live model of that run folder."""
    from starlette.requests import Request
    from starlette.responses import FileResponse, Response

    by_url = served_files(models)
    listing = json.dumps(public_list(models), indent=1).encode()
    listing_etag = f'"{hash(listing) & 0xFFFFFFFFFFFF:x}"'

    def respond(status: int, body: bytes = b"", ctype: str = "text/plain; charset=utf-8", extra: dict | None = None):
        return Response(body, status, headers={**ISOLATION_HEADERS, **(extra or {})}, media_type=ctype)

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if request.method not in ("GET", "HEAD"):
            await respond(405, b"method not allowed\n", extra={"Allow": "GET, HEAD"})(scope, receive, send)
            return
        rel = safe_relative(scope.get("raw_path") or scope["path"].encode(), scope["path"])
        if rel is None:
            await respond(404, b"not found\n")(scope, receive, send)
            return
        if rel == "models.json":
            if request.headers.get("if-none-match") == listing_etag:
                response = respond(304, extra={"ETag": listing_etag})
            else:
                response = respond(
                    200, listing, "application/json", {"ETag": listing_etag, "Cache-Control": "no-cache"}
                )
            await response(scope, receive, send)
            return
        if watch is None and rel == STATUS_ROUTE:
            await respond(200, json.dumps(NOT_WATCHING).encode(), "application/json", {"Cache-Control": "no-cache"})(
                scope, receive, send
            )
            return
        if watch is not None and rel in (STATUS_ROUTE, MODEL_ROUTE):
            await live_response(watch, rel, request.headers.get("if-none-match"), respond)(scope, receive, send)
            return
        if rel in by_url:
            target = by_url[rel]
            target = target if target.is_file() else None
        else:
            target = resolve_in(web_root, rel or "index.html")
        if target is None:
            await respond(404, b"not found\n")(scope, receive, send)
            return
        st = target.stat()
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        headers = {**ISOLATION_HEADERS, "ETag": etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            await respond(304, extra={"ETag": etag, "Cache-Control": "no-cache"})(scope, receive, send)
            return
        ctype = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        response = FileResponse(target, headers=headers, media_type=ctype, stat_result=st)
        await response(scope, receive, send)

    return app


def live_response(run: Path, rel: str, if_none_match: str | None, respond):
    """The answer to one of the two live routes: the status JSON or the model's bytes, with ETags."""
    if rel == STATUS_ROUTE:
        etag, body = live_status(run)
        if if_none_match == etag:
            return respond(304, extra={"ETag": etag, "Cache-Control": "no-cache"})
        return respond(200, body, "application/json", {"ETag": etag, "Cache-Control": "no-cache"})
    got = read_live(run)
    if got is None:
        return respond(404, b"no live model yet\n")
    etag = f'"{got[0]}"'
    if if_none_match == etag:
        return respond(304, extra={"ETag": etag, "Cache-Control": "no-cache"})
    return respond(200, got[1], TYPES[".safetensors"], {"ETag": etag, "Cache-Control": "no-cache"})


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free port); a busy port is a one-line error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port} ({e.strerror or e})") from None
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def run(
    models: list[dict], host: str = "127.0.0.1", port: int = 8000, on_ready=None, watch: Path | None = None
) -> None:
    """Serve until interrupted. Prints the URL (first stdout line, last word) once the socket listens."""
    import uvicorn

    sock = bind(host, port)
    url = url_of(sock, host)
    print(
        f"serving {len(models)} model(s)" + (f" and the live run {watch}" if watch else "") + f" on {url}", flush=True
    )
    if on_ready:
        on_ready(url)
    config = uvicorn.Config(
        create_app(models, watch=watch),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,  # Ctrl-C or SIGTERM: a page's open connections never keep the server up
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "seeing"


def random_demo_model(path: Path, seed: int = 0) -> Path:
    """A small-preset uint8 model with random weights (numpy only), for a demo without a trained one."""
    from .arch import preset_config
    from .degrade import DegradeParams
    from .modelfile import random_weights, write_model

    cfg = preset_config("small")
    weights, biases = random_weights(cfg, seed)
    write_model(
        path,
        cfg,
        DegradeParams(),
        weights,
        biases,
        "uint8",
        "random-small",
        {"note": "random weights: the page works, the pictures mean nothing"},
    )
    return path


def demo_models() -> tuple[list[Path], str | None]:
    """The bundled models, or a cached random-weight one (and a note saying so)."""
    bundled = sorted(BUNDLED_MODELS.glob("*.safetensors"))
    if bundled:
        return bundled, None
    path = cache_dir() / "random-small.safetensors"
    if not path.is_file():
        random_demo_model(path)
    return [path], (
        f"no trained model is bundled yet: serving a random-weight small model ({path}); its pictures mean nothing"
    )


def has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
