"""`seeing serve` over real HTTP: headers, methods, caching, path escapes, 200 concurrent downloads;
`seeing build-site` and the demo's random-model fallback."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket

import httpx
import pytest

from conftest import Server, run_cli


def raw_get(url: str, target: str, method: str = "GET") -> int:
    """Status of a request sent byte for byte (httpx would normalise the path)."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


def test_page_models_and_headers(server, web_models):
    r = httpx.get(server.url)
    assert r.status_code == 200 and 'src="app.js"' in r.text
    for k, v in {
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
        "cross-origin-resource-policy": "same-origin",
    }.items():
        assert r.headers[k] == v
    assert r.headers["etag"] and r.headers["cache-control"] == "no-cache"
    listing = httpx.get(server.url + "models.json").json()
    assert [m["name"] for m in listing] == ["tiny-float32", "tiny-uint8"]
    for m, p in zip(listing, (web_models["float32"], web_models["uint8"])):
        body = httpx.get(server.url + m["url"]).content
        assert body == p.read_bytes() and m["size"] == len(body)
        assert m["precision"] in p.name and m["params"] > 0
    js = httpx.get(server.url + "engine-webgpu.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert js.headers["cross-origin-embedder-policy"] == "require-corp"


def test_etag_head_and_methods(server):
    r = httpx.get(server.url + "app.js")
    again = httpx.get(server.url + "app.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = httpx.head(server.url + "app.js")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == len(r.content)
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        r = httpx.request(method, server.url + "app.js")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
        assert r.headers["cross-origin-opener-policy"] == "same-origin"


@pytest.mark.parametrize(
    "target",
    [
        "/../pyproject.toml",
        "/..%2f..%2fetc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E/serve.py",
        "/models/..%2f..%2fserve.py",
        "//etc/passwd",
        "/etc/passwd",
        "/%2Fetc%2Fpasswd",
        "/..\\serve.py",
        "/%5c..%5cserve.py",
        "/app.js%00.html",
        "/models/../serve.py",
        "/./app.js",
        "/models/tiny-float32.safetensors/",
        "/c:/windows/win.ini",
        "/escape.txt",
        "/models/nothing.safetensors",
        "/../web/app.js",
    ],
)
def test_no_request_escapes(server, target):
    assert raw_get(server.url, target) == 404


def test_symlink_out_of_web_root_is_refused(tmp_path, web_models):
    from seeing.serve import WEB_ROOT, resolve_in

    secret = tmp_path / "secret.txt"
    secret.write_text("no")
    link = WEB_ROOT / "zz-test-link.txt"
    try:
        link.symlink_to(secret)
        assert resolve_in(WEB_ROOT, "zz-test-link.txt") is None
        assert resolve_in(WEB_ROOT, "app.js") is not None
        srv = Server([web_models["uint8"]])
        try:
            assert raw_get(srv.url, "/zz-test-link.txt") == 404
        finally:
            srv.close()
    finally:
        link.unlink(missing_ok=True)


def test_200_concurrent_downloads_are_intact(server, web_models):
    expected = hashlib.sha256(web_models["float32"].read_bytes()).hexdigest()

    async def main():
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=120) as client:

            async def one():
                r = await client.get(server.url + "models/tiny-float32.safetensors")
                return r.status_code, hashlib.sha256(r.content).hexdigest()

            return await asyncio.gather(*(one() for _ in range(200)))

    results = asyncio.run(main())
    assert len(results) == 200 and all(r == (200, expected) for r in results)


def test_serve_without_models_serves_the_bundled_ones():
    from seeing.serve import BUNDLED_MODELS

    bundled = sorted(BUNDLED_MODELS.glob("*.safetensors"))
    assert bundled  # the package ships at least the default model
    s = Server([])
    try:
        listing = httpx.get(s.url + "models.json").json()
        assert [m["name"] for m in listing] == [p.stem for p in bundled]
        for m, p in zip(listing, bundled):
            assert httpx.get(s.url + m["url"]).content == p.read_bytes()
    finally:
        s.close()


def test_serve_bad_model_is_one_line(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    r = run_cli("serve", bad, "--port", "0", timeout=60)
    assert r.returncode == 2 and "bad.safetensors" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_cli("serve", tmp_path / "missing.safetensors", "--port", "0", timeout=60)
    assert r.returncode == 2 and "missing.safetensors" in r.stderr


def test_busy_port_is_one_line(server, web_models):
    port = server.url.rstrip("/").rsplit(":", 1)[1]
    r = run_cli("serve", web_models["uint8"], "--port", port, timeout=60)
    assert r.returncode == 2 and "cannot listen" in r.stderr and "Traceback" not in r.stderr


def test_build_site(tmp_path, web_models):
    out = tmp_path / "site"
    r = run_cli("build-site", out, web_models["float32"], web_models["uint8"], timeout=60)
    assert r.returncode == 0, r.stderr
    for f in ("index.html", "app.js", "engine-webgpu.js", "conv.wgsl", "modelfile.js", "style.css", "_headers"):
        assert (out / f).is_file(), f
    headers = (out / "_headers").read_text()
    assert (
        "Cross-Origin-Opener-Policy: same-origin" in headers and "Cross-Origin-Embedder-Policy: require-corp" in headers
    )
    listing = json.loads((out / "models.json").read_text())
    assert [(out / m["url"]).read_bytes() for m in listing] == [
        web_models["float32"].read_bytes(),
        web_models["uint8"].read_bytes(),
    ]
    assert not list(out.rglob("__pycache__"))
    # a second build replaces the first; a folder that is not a site is left alone
    assert run_cli("build-site", out, web_models["uint8"], timeout=60).returncode == 0
    assert len(json.loads((out / "models.json").read_text())) == 1
    other = tmp_path / "docs"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    r = run_cli("build-site", other, web_models["uint8"], timeout=60)
    assert r.returncode == 2 and (other / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "site"]  # no temp folders left


def test_demo_falls_back_to_a_random_model(tmp_path):
    from seeing import serve

    env_cache = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path)
    try:
        paths, note = serve.demo_models()
    finally:
        if env_cache is None:
            os.environ.pop("XDG_CACHE_HOME")
        else:
            os.environ["XDG_CACHE_HOME"] = env_cache
    if list(serve.BUNDLED_MODELS.glob("*.safetensors")):
        assert note is None and paths
    else:
        assert "random" in note and paths == [tmp_path / "seeing" / "random-small.safetensors"]
        from seeing.modelfile import read_model

        m = read_model(paths[0])
        assert m.precision == "uint8" and m.config.down == [4, 8, 16, 32, 64, 128, 256, 512]


def write_thumb(path, colour=(40, 90, 160)):
    from PIL import Image

    Image.new("RGB", (128, 128), colour).save(path)
    return path


@pytest.fixture(scope="module")
def worlds(tmp_path_factory, web_models):
    """A models folder: waves (with a thumbnail), clouds (its NAME.png is a symlink out of the folder),
    flowers (its NAME.png is not a PNG); and a secret PNG outside the folder."""
    root = tmp_path_factory.mktemp("worlds")
    folder, outside = root / "models", root / "outside"
    folder.mkdir()
    outside.mkdir()
    for name in ("waves", "clouds", "flowers"):
        (folder / f"{name}.safetensors").write_bytes(web_models["uint8"].read_bytes())
    write_thumb(folder / "waves.png")
    secret = write_thumb(outside / "secret.png", (255, 0, 0))
    (folder / "clouds.png").symlink_to(secret)
    (folder / "flowers.png").write_text("not a png")
    return folder, secret


def test_model_folder_lists_thumbnails_and_serves_nothing_else(worlds):
    folder, secret = worlds
    srv = Server([folder])
    try:
        listing = httpx.get(srv.url + "models.json").json()
        assert [(m["name"], m["thumb"]) for m in listing] == [
            ("clouds", None),
            ("flowers", None),
            ("waves", "models/waves.png"),
        ]
        assert all("path" not in m and "thumb_path" not in m for m in listing)
        r = httpx.get(srv.url + "models/waves.png")
        assert r.status_code == 200 and r.content == (folder / "waves.png").read_bytes()
        assert r.headers["content-type"] == "image/png" and r.headers["cross-origin-resource-policy"] == "same-origin"
        for target in (
            "/models/clouds.png",
            "/models/flowers.png",
            "/models/secret.png",
            "/models/../outside/secret.png",
            "/models/..%2foutside%2fsecret.png",
            "/models/waves.png/",
            "/models/waves.PNG",
            "/models/waves.safetensors.png",
            "/models/%2e%2e/outside/secret.png",
            "/models/waves",
            "/models/",
            "/models",
            "/outside/secret.png",
            "/models/waves.png%00",
        ):
            assert raw_get(srv.url, target) == 404, target
    finally:
        srv.close()


def test_thumbnail_rules(worlds, tmp_path):
    from seeing.serve import expand_models, thumbnail_of

    folder, _ = worlds
    assert thumbnail_of(folder / "waves.safetensors") == (folder / "waves.png").resolve()
    assert thumbnail_of(folder / "clouds.safetensors") is None  # symlink out of the folder
    assert thumbnail_of(folder / "flowers.safetensors") is None  # not a PNG
    assert [p.name for p in expand_models([folder])] == [
        "clouds.safetensors",
        "flowers.safetensors",
        "waves.safetensors",
    ]
    r = run_cli("serve", tmp_path, "--port", "0", timeout=60)  # an empty folder
    assert r.returncode == 2 and "no .safetensors" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_build_site_copies_thumbnails(worlds, tmp_path):
    folder, secret = worlds
    out = tmp_path / "site"
    assert run_cli("build-site", out, folder, timeout=60).returncode == 0
    listing = json.loads((out / "models.json").read_text())
    assert [m["thumb"] for m in listing] == [None, None, "models/waves.png"]
    assert sorted(p.name for p in (out / "models").iterdir()) == [
        "clouds.safetensors",
        "flowers.safetensors",
        "waves.png",
        "waves.safetensors",
    ]
