"""Shared test helpers: run the CLI in a subprocess, tiny synthetic data sets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run_cli(*args, env=None, timeout=300, **kw) -> subprocess.CompletedProcess:
    """`python -m seeing ARGS` in a subprocess with one thread; returns the completed process (text)."""
    e = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "seeing", *map(str, args)], capture_output=True, text=True, env=e, timeout=timeout, **kw
    )


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory):
    """A folder of 10 small nebula images (64x64), made once per session."""
    from seeing.synth import write_set

    out = tmp_path_factory.mktemp("synth") / "nebula"
    write_set(out, "nebula", 10, seed=7, size=64, progress=False)
    return out


# ---------------------------------------------------------------- the live page: server and browser


@pytest.fixture(scope="session")
def web_models(tmp_path_factory):
    """Tiny random models (64x64, six layers) for the page tests: {"float32": path, "uint8": path}."""
    from webkit import write_random_model

    d = tmp_path_factory.mktemp("web-models")
    return {p: write_random_model(d / f"tiny-{p}.safetensors", precision=p, seed=1) for p in ("float32", "uint8")}


class Server:
    """`seeing serve MODEL...` in a subprocess on a free port; `url` ends with a slash."""

    def __init__(self, models, extra=()):
        import sys as _sys

        self.proc = subprocess.Popen(
            [_sys.executable, "-m", "seeing", "serve", *map(str, models), "--port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()  # printed once the socket listens
        if not line.startswith("serving"):
            self.close()
            raise RuntimeError(f"seeing serve did not start: {line!r} {self.proc.stderr.read()}")
        self.url = line.split()[-1]

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def server(web_models):
    """The page and the tiny models, served by `seeing serve`."""
    s = Server([web_models["float32"], web_models["uint8"]])
    yield s
    s.close()


@pytest.fixture(scope="session")
def camera_clip(tmp_path_factory):
    """A y4m clip (PyAV) of a square sweeping across a gradient, for Chromium's fake camera."""
    from webkit import moving_square_clip, write_y4m

    return write_y4m(tmp_path_factory.mktemp("clip") / "clip.y4m", moving_square_clip())


@pytest.fixture(scope="session")
def playwright_session():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def launch_chromium(playwright, extra=()):
    from webkit import CHROMIUM, CHROMIUM_FLAGS

    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, *extra])


@pytest.fixture(scope="session")
def browser(playwright_session, camera_clip):
    """Headless Chromium with WebGPU on SwiftShader and a fake camera playing `camera_clip`."""
    from webkit import FAKE_CAMERA_FLAGS

    b = launch_chromium(playwright_session, [*FAKE_CAMERA_FLAGS, f"--use-file-for-fake-video-capture={camera_clip}"])
    yield b
    b.close()


def open_page(browser, url, query="test=1&engine=webgpu"):
    """A new page at url?query; console errors and page errors collect in page.errors."""
    from webkit import WAIT_MS

    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)  # every wait on the page follows an event or a state, never a clock
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{url}?{query}")
    page.wait_for_function("() => window.seeing && window.seeing.engine && window.seeing.state.source")
    return page
