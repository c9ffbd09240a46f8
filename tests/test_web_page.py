"""The live page in real headless Chromium (WebGPU on SwiftShader): camera to canvas, frames before the
engine choice is final, uploads, camera denied, a lost device, 3,000 frames without growth of GPU buffers
or JS heap, and a live soak without heap growth. Waits follow the page's events and state (webkit.WAIT_MS)."""

from __future__ import annotations

import time

import numpy as np
from PIL import Image

from conftest import launch_chromium, open_page
from webkit import WAIT_MS, last_seq, wait_event


def thumb(page):
    """32x32 RGBA of the output canvas, grabbed in the task that drew a frame."""
    return np.array(page.evaluate("window.seeing.captureOutput()"), np.int32)


def frames(page):
    return page.evaluate("window.seeing.state.frames")


def wait_frames(page, n):
    start = frames(page)
    page.wait_for_function(f"window.seeing.state.frames >= {start + n}", timeout=WAIT_MS)


def test_camera_to_canvas(browser, server):
    page = open_page(browser, server.url)
    wait_frames(page, 3)
    page.wait_for_function("+document.getElementById('stat-fps').textContent > 0")
    assert page.evaluate("window.seeing.state.source.kind") == "camera"
    shots = []
    for _ in range(4):
        shots.append(thumb(page))
        wait_frames(page, 3)
    # the fake camera's square moves, so the output moves with it
    assert any(np.abs(a - b).mean() > 0.5 for a, b in zip(shots, shots[1:]))
    assert all(s[..., 3].min() == 255 and s[..., :3].std() > 1 for s in np.array(shots).reshape(4, 32, 32, 4))
    stats = page.evaluate("window.seeing.stats()")
    assert stats["engine"] == "webgpu" and stats["fps"] > 0 and stats["message"] == ""
    assert "swiftshader" in page.inner_text("#stat-adapter").lower()
    assert page.errors == []
    page.close()


def test_frames_flow_before_the_engine_choice_is_final(browser, server):
    """No engine forced: the page starts on the first engine built (the CPU engine, in a fraction of a
    second) and draws at once, while WebGPU is built and both are timed; the faster one keeps running."""
    page = open_page(browser, server.url, "test=1")
    final = wait_event(page, "engine-final")
    events = page.evaluate("window.seeing.events()")
    first = next(e for e in events if e["type"] == "first-frame")
    model = next(e for e in events if e["type"] == "model")
    assert first["engine"] == "wasm" and model["seq"] < first["seq"] < final["seq"]
    assert final["frames"] >= 1  # the loop drew while the choice was still open
    assert [e["engine"] for e in events if e["type"] == "engine-built"] == ["wasm", "webgpu"]
    t = final["timings"]
    assert set(t) == {"wasm", "webgpu"} and final["engine"] == min(t, key=t.get)
    assert page.evaluate("window.seeing.engine.name") == final["engine"]
    wait_frames(page, 3)
    assert "auto" in page.inner_text("#stat-engine") and page.errors == []
    page.close()


def test_upload_good_and_corrupt_model(browser, server, web_models, tmp_path):
    page = open_page(browser, server.url)
    wait_frames(page, 2)
    engine_before = page.evaluate("window.seeing.state.modelName")
    bad = tmp_path / "broken.safetensors"
    data = bytearray(web_models["uint8"].read_bytes())
    bad.write_bytes(bytes(data[: len(data) // 2]))  # truncated
    seq = last_seq(page)
    page.set_input_files("#model-file", str(bad))
    failed = wait_event(page, "model-error", seq)
    assert failed["name"] == "broken.safetensors"
    msg = page.inner_text("#message")
    assert "broken.safetensors" in msg and "previous model keeps running" in msg and "\n" not in msg
    assert page.evaluate("window.seeing.state.modelName") == engine_before
    wait_frames(page, 2)  # still running
    seq = last_seq(page)
    page.set_input_files("#model-file", str(web_models["uint8"]))
    assert wait_event(page, "first-frame", seq)["engine"] == "webgpu"  # the new model drew a frame
    assert page.evaluate("window.seeing.state.modelName") == "tiny-uint8.safetensors"
    wait_frames(page, 2)
    assert page.is_hidden("#message")
    assert "uint8" in page.inner_text("#stat-model")
    assert page.errors == []
    page.close()


def test_camera_denied_shows_message_and_file_input_works(playwright_session, server, tmp_path):
    b = launch_chromium(playwright_session)  # no fake-UI flag: the permission request is denied
    try:
        page = open_page(b, server.url)
        page.wait_for_function("!document.getElementById('message').hidden")
        assert "camera" in page.inner_text("#message").lower()
        assert page.evaluate("window.seeing.state.source.kind") == "clip"  # the generated clip runs meanwhile
        wait_frames(page, 2)
        img = tmp_path / "still.png"
        yy, xx = np.mgrid[0:120, 0:160]
        Image.fromarray(np.stack([xx, yy, xx + yy], -1).astype(np.uint8)).save(img)
        page.set_input_files("#media-file", str(img))
        page.wait_for_function("window.seeing.state.source.kind === 'image'")
        wait_frames(page, 2)
        assert page.errors == []
        page.close()
    finally:
        b.close()


def test_device_lost_reinitialises(browser, server):
    page = open_page(browser, server.url)
    wait_frames(page, 2)
    page.evaluate("window.seeing.engine.device.destroy()")
    page.wait_for_function("window.seeing.engine.lostCount === 1")
    wait_frames(page, 3)
    assert page.evaluate("window.seeing.engine.name") == "webgpu"
    page.close()


def test_3000_frames_without_growth(browser, server):
    page = open_page(browser, server.url)
    page.evaluate("window.seeing.stop()")
    cdp = page.context.new_cdp_session(page)

    def heap():
        cdp.send("HeapProfiler.collectGarbage")
        return cdp.send("Runtime.getHeapUsage")["usedSize"]

    run = """async (n) => {
        const e = window.seeing.engine, src = window.seeing.state.source.element;
        for (let i = 0; i < n; i++) await e.frame(src, {brightness: 1.1, contrast: 0.9, smoothing: 0.5, mirror: i % 2 === 0});
        return e.liveBuffers;
    }"""
    buffers0 = page.evaluate(run, 100)
    heap0 = heap()
    buffers1 = page.evaluate(run, 3000)
    heap1 = heap()
    assert buffers1 == buffers0 > 0
    assert heap1 - heap0 < 1_000_000, (heap0, heap1)
    page.close()


def test_snapshot_recording_and_fullscreen(browser, server):
    """The view buttons: snapshot downloads a PNG of the output canvas, record a playable WebM of
    it, and fullscreen (button, "f" key) puts the stage alone on the screen while frames go on."""
    import av

    page = open_page(browser, server.url)
    wait_frames(page, 3)
    side = page.evaluate("[window.seeing.engine.canvas.width, window.seeing.engine.canvas.height]")

    with page.expect_download() as dl:
        page.click("#snapshot")
    snap = dl.value
    assert snap.suggested_filename.startswith("seeing-") and snap.suggested_filename.endswith(".png")
    img = Image.open(snap.path())
    assert img.format == "PNG" and list(img.size) == side
    rgba = np.asarray(img.convert("RGBA"))
    assert rgba[..., 3].min() == 255 and rgba[..., :3].std() > 1  # an opaque picture, not a blank

    page.click("#record")
    assert page.inner_text("#record") == "stop recording"
    wait_frames(page, 12)
    with page.expect_download(timeout=WAIT_MS) as dl:
        page.click("#record")
    rec = dl.value
    assert rec.suggested_filename.endswith(".webm") and page.inner_text("#record") == "record"
    with av.open(rec.path()) as container:
        pictures = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert pictures and [pictures[0].shape[1], pictures[0].shape[0]] == side
    assert max(p.std() for p in pictures) > 1  # the output, not black frames

    page.click("#fullscreen")
    page.wait_for_function("document.fullscreenElement && document.fullscreenElement.id === 'stage'")
    assert page.is_hidden("#fig-input") and page.is_visible("#fig-output")
    wait_frames(page, 2)  # still running in fullscreen
    page.evaluate("document.exitFullscreen()")
    page.wait_for_function("!document.fullscreenElement")
    page.keyboard.press("f")
    page.wait_for_function("document.fullscreenElement && document.fullscreenElement.id === 'stage'")
    page.evaluate("document.exitFullscreen()")
    page.wait_for_function("!document.fullscreenElement")
    assert page.errors == []
    page.close()


def test_live_soak_keeps_the_heap_flat(browser, server):
    """25 s of the live loop (camera, the CPU engine: what this machine's visitors get): the JS heap, after
    garbage collection, grows by less than 1 MB."""
    page = open_page(browser, server.url, "test=1&engine=wasm")
    wait_event(page, "engine-final")
    wait_frames(page, 5)
    cdp = page.context.new_cdp_session(page)

    def heap():
        cdp.send("HeapProfiler.collectGarbage")
        return cdp.send("Runtime.getHeapUsage")["usedSize"]

    heap0, frames0 = heap(), frames(page)
    end = time.monotonic() + 25  # the soak's length, not a wait for anything
    while time.monotonic() < end:
        page.wait_for_timeout(1000)
        assert page.errors == []
    heap1 = heap()
    assert frames(page) > frames0 + 10  # it did run
    assert heap1 - heap0 < 1_000_000, (heap0, heap1)
    page.close()
