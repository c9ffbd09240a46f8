"""The CPU engine in the live page (real Chromium): output against ONNX Runtime in Python, the degradation
against seeing.degrade, with worker threads (page cross-origin isolated) and without (plain server)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seeing.arch import GeneratorConfig
from seeing.degrade import degrade_frame
from seeing.export import psnr
from seeing.modelfile import read_model
from seeing.runtime import Runtime
from tools.browser import CREATE_JS
from tools.static_server import static_server

from support import PAGE_NET, gradient_frame
from webkit import WAIT_MS, wait_event, write_random_model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("wasm-models")
    cfg = GeneratorConfig(**PAGE_NET)
    return {p: write_random_model(d / f"tiny-{p}.safetensors", cfg, p, seed=3) for p in ("float32", "uint8")}


@pytest.fixture(scope="module")
def browser(playwright_session):
    """Chromium from the session's one Playwright (a second sync Playwright in the same process fails)."""
    from conftest import launch_chromium

    b = launch_chromium(playwright_session)
    yield b
    b.close()


def page_files(models, tmp_path, first):
    """models.json (as `seeing serve` writes it) listing `first` model first, and the model files."""
    order = [first] + [p for p in models if p != first]
    listing = [
        {
            "name": models[p].stem,
            "url": f"models/{models[p].name}",
            "size": models[p].stat().st_size,
            "precision": p,
            "params": 0,
        }
        for p in order
    ]
    (tmp_path / "models.json").write_text(json.dumps(listing))
    files = {"models.json": tmp_path / "models.json"}
    files.update({f"models/{m.name}": m for m in models.values()})
    return files


def open_page(browser, base, extra=""):
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "index.html?engine=wasm&test=1&source=clip" + extra)
    page.wait_for_function("() => window.seeing && window.seeing.engine && window.seeing.engine.name === 'wasm'")
    return page, errors


@pytest.mark.parametrize("isolated", [True, False], ids=["threads", "single"])
@pytest.mark.parametrize("precision", ["float32", "uint8"])
def test_page_cpu_engine_matches_onnx_runtime(browser, models, tmp_path, isolated, precision):
    with static_server(page_files(models, tmp_path, precision), isolated=isolated) as base:
        page, errors = open_page(browser, base)
        eng = page.evaluate(
            "() => ({threads: window.seeing.engine.threads, isolated: self.crossOriginIsolated, "
            "model: window.seeing.stats().model})"
        )
        assert eng["isolated"] is isolated and eng["model"] == models[precision].stem
        assert (eng["threads"] > 1) is isolated  # workers exactly where the page is cross-origin isolated
        img = gradient_frame()
        for bc in [(1.0, 1.0), (1.2, 0.9)]:
            res = page.evaluate(
                "async ([rgba, w, h, b, c]) => { const r = await window.seeing.runTest(rgba, w, h, "
                "{brightness: b, contrast: c}); return {d: Array.from(r.degraded), o: Array.from(r.output)}; }",
                [img.ravel().tolist(), img.shape[1], img.shape[0], *bc],
            )
            R = 64
            got_deg = np.asarray(res["d"], np.float32).reshape(R, R)
            got = np.asarray(res["o"], np.float32).reshape(3, R, R)
            ref_deg = degrade_frame(img[..., :3], read_model(models[precision]).degradation, *bc)
            assert np.abs(got_deg - ref_deg).max() <= 2 / 255  # 1/255 of the [0, 1] image
            same = Runtime(models[precision], threads=1).run_degraded(ref_deg)[0]
            assert psnr(got, same) >= 40, "page vs ONNX Runtime on the same file"
            f32 = Runtime(models["float32"], threads=1).run_degraded(ref_deg)[0]
            assert psnr(got, f32) >= (40 if precision == "float32" else 35), "page vs the float32 model"
        # the live loop runs on the CPU engine, without any failure message
        page.wait_for_function("() => window.seeing.stats().frames >= 3")
        stats = page.evaluate("() => window.seeing.stats()")
        assert stats["engine"] == "wasm" and stats["message"] == ""
        assert errors == []
        page.close()


def test_engine_threads_and_variants_agree(browser, models, tmp_path):
    """Worker threads (2 and 3) and the plain-SIMD build give the single-thread relaxed-SIMD output."""
    with static_server({"m.safetensors": models["float32"]}, isolated=True) as base:
        page = browser.new_page()
        page.goto(base + "blank.html")
        img = gradient_frame(70, 50, seed=2)
        outs = {}
        for opts in [{"threads": 1}, {"threads": 2}, {"threads": 3}, {"threads": 2, "relaxed": False}]:
            info = page.evaluate(CREATE_JS, ["m.safetensors", opts])
            assert info["threads"] == opts["threads"]
            res = page.evaluate(
                "async ([rgba, w, h]) => { const r = await window.eng.runTest(rgba, w, h, {}); "
                "return Array.from(r.output); }",
                [img.ravel().tolist(), 50, 70],
            )
            outs[json.dumps(opts)] = np.asarray(res, np.float32)
        ref = outs[json.dumps({"threads": 1})]
        for k, v in outs.items():
            assert np.abs(v - ref).max() < 1e-5, k
        page.close()


def test_page_times_both_engines_and_keeps_the_fastest(browser, models, tmp_path):
    with static_server(page_files(models, tmp_path, "float32"), isolated=True) as base:
        page = browser.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(base + "index.html?test=1&source=clip")
        page.wait_for_function("() => window.seeing && window.seeing.events")
        final = wait_event(page, "engine-final")
        stats = page.evaluate("() => window.seeing.stats()")
        t = stats["timings"]
        assert t == final["timings"]
        assert set(t) == {"webgpu", "wasm"} and t["wasm"] > 0
        fastest = min((ms, name) for name, ms in t.items() if ms is not None)[1]
        assert stats["engine"] == fastest
        assert "webgpu" in stats["engineText"] and "wasm" in stats["engineText"] and "ms" in stats["engineText"]
        # the user's override restarts the model on that engine
        for name in ("webgpu", "wasm"):
            page.select_option("#engine-choice", name)
            page.wait_for_function(f"() => window.seeing.engine && window.seeing.engine.name === '{name}'")
        page.wait_for_function("() => window.seeing.stats().frames >= 3")
        assert page.evaluate("() => window.seeing.stats().message") == ""
        page.close()


def test_without_webgpu_the_cpu_engine_runs_without_a_message(browser, models, tmp_path):
    with static_server(page_files(models, tmp_path, "uint8"), isolated=False) as base:
        ctx = browser.new_context()
        ctx.add_init_script("Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });")
        page = ctx.new_page()
        page.set_default_timeout(WAIT_MS)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "index.html?test=1&source=clip")
        page.wait_for_function("() => window.seeing && window.seeing.stats().frames >= 3")
        stats = page.evaluate("() => window.seeing.stats()")
        assert stats["engine"] == "wasm" and stats["message"] == "" and errors == []
        assert page.evaluate("() => navigator.gpu === undefined")
        ctx.close()


@pytest.mark.parametrize("threads", [1, 2])
def test_frame_from_a_canvas_reads_the_centre_square(browser, models, tmp_path, threads):
    """engine.frame(canvas) draws exactly what runTest gives for the canvas's own pixels: the same
    centre square, byte for byte (an odd margin on purpose)."""
    h, w = 50, 71  # odd margin: the crop starts at x = 10
    img = gradient_frame(h, w, seed=4)
    with static_server({"m.safetensors": models["float32"]}, isolated=True) as base:
        page = browser.new_page()
        page.goto(base + "blank.html")
        page.evaluate(CREATE_JS, ["m.safetensors", {"threads": threads}])
        res = page.evaluate(
            """async ([rgba, w, h]) => {
          const src = document.createElement("canvas"); src.width = w; src.height = h;
          src.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(rgba), w, h), 0, 0);
          const e = window.eng;
          await e.frame(src, {});
          await e.frame(src, {});  // the second frame smooths with the first: same picture
          const R = e.canvas.width, drawn = e.canvas.getContext("2d").getImageData(0, 0, R, R).data;
          const ref = await e.runTest(new Uint8Array(rgba), w, h, {});
          return { drawn: Array.from(drawn), output: Array.from(ref.output), R };
        }""",
            [img.ravel().tolist(), w, h],
        )
        page.close()
    R = res["R"]
    out = np.asarray(res["output"], np.float32).reshape(-1, R, R)
    out = np.repeat(out, 3, 0) if out.shape[0] == 1 else out
    expect = np.clip(np.rint((out.transpose(1, 2, 0) + 1) * 127.5), 0, 255).astype(np.uint8)
    drawn = np.asarray(res["drawn"], np.uint8).reshape(R, R, 4)
    assert np.array_equal(drawn[..., :3], expect) and np.all(drawn[..., 3] == 255)


@pytest.mark.parametrize("isolated", [True, False], ids=["threads", "single"])
def test_page_cpu_engine_at_twice_the_side_matches_onnx_runtime(browser, models, tmp_path, isolated):
    """HD on the CPU engine: ?size=128 runs the 64 models at 128 (as 512 does the 256 ones), the grid
    scaled (degrade.at_size); degradation and output against Python and ONNX Runtime at that size."""
    from seeing.degrade import at_size

    with static_server(page_files(models, tmp_path, "uint8"), isolated=isolated) as base:
        page, errors = open_page(browser, base, "&size=128")
        assert page.evaluate("() => [window.seeing.engine.canvas.width, window.seeing.engine.R]") == [128, 128]
        img = gradient_frame(150, 170, seed=5)
        res = page.evaluate(
            "async ([rgba, w, h]) => { const r = await window.seeing.runTest(rgba, w, h, {}); "
            "return {d: Array.from(r.degraded), o: Array.from(r.output)}; }",
            [img.ravel().tolist(), img.shape[1], img.shape[0]],
        )
        R = 128
        got_deg = np.asarray(res["d"], np.float32).reshape(R, R)
        ref_deg = degrade_frame(img[..., :3], at_size(read_model(models["uint8"]).degradation, R))
        assert np.abs(got_deg - ref_deg).max() <= 2 / 255
        got = np.asarray(res["o"], np.float32).reshape(3, R, R)
        assert psnr(got, Runtime(models["uint8"], threads=1, size=R).run_degraded(ref_deg)[0]) >= 40
        page.wait_for_function("() => window.seeing.stats().frames >= 3", timeout=WAIT_MS)
        assert errors == []
        page.close()
