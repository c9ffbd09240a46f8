"""One static server for the browser tests and benchmarks, built on the live page's own app
(`seeing.serve.create_app`): the same headers, types and path checks, served by uvicorn from a thread.

    with static_server({"m.safetensors": path}) as base:        # the page's folder, a blank page, extra files
    with static_server(roots={"bench": HERE, "web": WEB}) as base:  # folders under URL prefixes
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from seeing.serve import ISOLATION_HEADERS, WEB_ROOT, bind, create_app, url_of

WEB = WEB_ROOT
BLANK = Path(__file__).resolve().with_name("blank.html")
_ISOLATION = {k.lower().encode() for k in ISOLATION_HEADERS if k.startswith("Cross-Origin")}


def static_app(roots: dict[str, Path], files: dict[str, Path], isolated: bool = True):
    """ASGI app: `files` ({url path: file}) first, then `roots` ({url prefix: folder}; prefix "" for the rest).
    isolated=False drops COOP/COEP/CORP (a page that is not cross-origin isolated)."""
    mounts = {prefix.strip("/"): create_app([], Path(root)) for prefix, root in roots.items()}
    # the files as the app's model entries, under neutral URLs (the app answers /models.json itself)
    entries = [{"url": f"file/{i}", "path": Path(p).resolve()} for i, p in enumerate(files.values())]
    singles_app = create_app(entries, BLANK.parent)
    singles = {rel.lstrip("/"): "/" + e["url"] for rel, e in zip(files, entries)}

    def route(path: str, raw: bytes):
        rel = path.lstrip("/")
        if rel in singles:
            return singles_app, singles[rel], singles[rel].encode()
        prefix, _, rest = rel.partition("/")
        if prefix and prefix in mounts:
            return mounts[prefix], "/" + rest, raw[len(prefix) + 1 :]
        return mounts.get(""), path, raw

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        inner, path, raw = route(scope["path"], scope.get("raw_path") or scope["path"].encode())
        if inner is None:
            from starlette.responses import Response

            await Response(b"not found\n", 404, media_type="text/plain")(scope, receive, send)
            return

        async def send_plain(msg):
            if msg["type"] == "http.response.start":
                msg = {**msg, "headers": [(k, v) for k, v in msg["headers"] if k.lower() not in _ISOLATION]}
            await send(msg)

        await inner({**scope, "path": path, "raw_path": raw}, receive, send if isolated else send_plain)

    return app


@contextlib.contextmanager
def static_server(files: dict[str, Path] | None = None, isolated: bool = True, roots: dict[str, Path] | None = None):
    """Serve on a free port of 127.0.0.1; yields the base URL (ending with a slash).

    Default roots: the page's folder (src/seeing/web) at "/" and a blank page at /blank.html."""
    import uvicorn

    if roots is None:
        roots, files = {"": WEB}, {"blank.html": BLANK, **(files or {})}
    config = uvicorn.Config(
        static_app(roots, files or {}, isolated), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    sock = bind("127.0.0.1", 0)  # listening already: requests wait in the backlog until uvicorn accepts them
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield url_of(sock, "127.0.0.1")
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
