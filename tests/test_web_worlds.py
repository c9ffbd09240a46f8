"""The page's worlds in headless Chromium with the fake camera: the thumbnail picker, ?model=NAME, and
switching models (by hand and by ?cycle=SECONDS) with a crossfade that never shows a black frame and
never stops the frames."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import Server, open_page
from webkit import WAIT_MS

WORLDS = ("clouds", "flowers", "waves")


@pytest.fixture(scope="module")
def worlds_server(tmp_path_factory):
    """`seeing serve FOLDER` with three tiny random models, each with a 128 px thumbnail but flowers."""
    from webkit import write_random_model

    folder = tmp_path_factory.mktemp("worlds")
    for seed, name in enumerate(WORLDS, 3):
        write_random_model(folder / f"{name}.safetensors", precision="uint8", seed=seed)
        if name != "flowers":
            Image.new("RGB", (128, 128), (seed * 40, 120, 200)).save(folder / f"{name}.png")
    s = Server([folder])
    yield s
    s.close()


def shot(page) -> np.ndarray:
    """What a viewer sees of the output right now (the composited frame, crossfade included)."""
    return np.asarray(Image.open(io.BytesIO(page.locator("#fig-output .frame").screenshot())).convert("RGB"), np.int32)


def test_picker_shows_thumbnails_and_names(browser, worlds_server):
    page = open_page(browser, worlds_server.url, "test=1&engine=wasm")
    buttons = page.locator("#worlds button.world")
    assert buttons.count() == 3
    assert page.locator("#worlds .name").all_inner_texts() == list(WORLDS)
    page.wait_for_function(
        "[...document.querySelectorAll('#worlds img')].every((i) => i.complete && i.naturalWidth === 128)"
    )
    assert page.locator("#worlds img").count() == 2 and page.locator("#worlds .no-thumb").inner_text() == "F"
    assert page.evaluate("window.seeing.state.modelName") == "clouds"
    assert buttons.nth(0).get_attribute("aria-pressed") == "true"
    buttons.nth(2).click()
    page.wait_for_function("window.seeing.state.modelName === 'waves' && !window.seeing.state.outgoing")
    assert (
        buttons.nth(2).get_attribute("aria-pressed") == "true"
        and buttons.nth(0).get_attribute("aria-pressed") == "false"
    )
    assert page.errors == []
    page.close()


def test_model_by_name_and_unknown_name(browser, worlds_server):
    page = open_page(browser, worlds_server.url, "test=1&engine=wasm&model=waves")
    assert page.evaluate("window.seeing.state.modelName") == "waves"
    assert page.evaluate("window.seeing.state.current") == 2
    page.close()
    page = open_page(browser, worlds_server.url, "test=1&engine=wasm&model=nowhere")
    page.wait_for_function("!document.getElementById('message').hidden")
    assert "nowhere" in page.inner_text("#message") and page.evaluate("window.seeing.state.modelName") == "clouds"
    page.close()


@pytest.mark.parametrize("engine", ["wasm", "webgpu"])
def test_switch_keeps_frames_coming_and_never_shows_black(browser, worlds_server, engine):
    page = open_page(browser, worlds_server.url, f"test=1&engine={engine}")
    page.wait_for_function("window.seeing.state.frames >= 3", timeout=WAIT_MS)
    for target in (1, 2, 0) if engine == "wasm" else (1,):  # SwiftShader compiles a model's kernels for ~20 s
        before = page.evaluate("window.seeing.state.frames")
        page.evaluate(f"window.seeing.pick({target})")  # returns once the new model's first frame is drawn
        shots = []
        while page.evaluate("window.seeing.state.outgoing !== null"):
            shots.append(shot(page))
        shots.append(shot(page))
        st = page.evaluate("window.seeing.state.lastSwitch")
        assert st["name"] == WORLDS[target] and page.evaluate("window.seeing.state.current") == target
        # frames went on through the switch and the fade, and no picture was black or blank
        assert page.evaluate("window.seeing.state.frames") - before >= 3
        assert len(shots) >= 2 and all(s.mean() > 8 and s.std() > 1 for s in shots), [s.mean() for s in shots]
        print(
            f"{engine} -> {st['name']}: first frame {st['firstFrameMs']:.0f} ms, longest frame gap "
            f"{st['maxGapMs']:.0f} ms, switch with fade {st['totalMs']:.0f} ms"
        )
        # the fade is over: one canvas per view, the new engine's
        assert page.evaluate("document.querySelectorAll('#output-holder canvas').length") == 1
        assert page.evaluate("document.querySelector('#output-holder canvas') === window.seeing.engine.canvas")
    assert page.errors == []
    page.close()


def test_cycle_moves_through_the_models_in_turn(browser, worlds_server):
    page = open_page(browser, worlds_server.url, "test=1&engine=wasm&model=flowers&cycle=1.5")
    assert page.input_value("#cycle") == "1.5"
    seen = ["flowers"]
    for _ in range(3):
        page.wait_for_function(f"window.seeing.state.modelName !== {seen[-1]!r}", timeout=WAIT_MS)
        seen.append(page.evaluate("window.seeing.state.modelName"))
    assert seen == ["flowers", "waves", "clouds", "flowers"]
    page.select_option("#cycle", "0")  # off: the model stays
    page.wait_for_function("!window.seeing.state.outgoing")
    name, frames = page.evaluate("[window.seeing.state.modelName, window.seeing.state.frames]")
    page.wait_for_function(f"window.seeing.state.frames >= {frames + 40}", timeout=WAIT_MS)
    assert page.evaluate("window.seeing.state.modelName") == name
    assert page.errors == []
    page.close()


def test_output_size_control_is_remembered(browser, worlds_server):
    """The output control: the model's side or twice it (HD), crossfaded like a switch, remembered."""
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(worlds_server.url + "?test=1&engine=wasm")
        page.wait_for_function(
            "window.seeing && window.seeing.engine && window.seeing.state.frames >= 2", timeout=WAIT_MS
        )
        assert page.evaluate("window.seeing.engine.canvas.width") == 64
        assert page.locator("#size option").all_inner_texts() == ["64 px", "128 px (HD)"]
        page.select_option("#size", "2")
        page.wait_for_function("window.seeing.engine.canvas.width === 128 && !window.seeing.state.outgoing")
        assert page.evaluate("[window.seeing.state.modelName, window.seeing.state.model.degradation.grid]") == [
            "clouds",
            6,
        ]
        assert shot(page).mean() > 8 and "128 px" in page.inner_text("#stat-model")
        page.close()
        page = ctx.new_page()  # the same browser profile: the choice is remembered
        page.goto(worlds_server.url + "?test=1&engine=wasm&model=waves")
        page.wait_for_function(
            "window.seeing && window.seeing.engine && window.seeing.state.frames >= 2", timeout=WAIT_MS
        )
        assert page.input_value("#size") == "2" and page.evaluate("window.seeing.engine.canvas.width") == 128
        page.locator("#worlds button.world").nth(0).click()  # another model keeps the size
        page.wait_for_function("window.seeing.state.modelName === 'clouds' && !window.seeing.state.outgoing")
        assert page.evaluate("window.seeing.engine.canvas.width") == 128
        page.close()
    finally:
        ctx.close()
