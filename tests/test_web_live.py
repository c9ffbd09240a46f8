"""The live training preview in the page: `seeing serve --watch RUN` and headless Chromium with the fake camera;
the page swaps to each epoch's model of a real (tiny) training run while frames keep flowing. (After
test_serve.py: Playwright's event loop stays up for the session.)"""

from __future__ import annotations

import json

from test_live import tiny_train

from conftest import Server


def metrics_lines(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_page_swaps_to_each_epoch_while_frames_flow(browser, tiny_synth, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    srv = Server([], extra=["--watch", run])
    try:
        page = browser.new_page()  # like conftest.open_page, without waiting for a model: none exists yet
        page.errors = []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(f"{srv.url}?test=1&engine=wasm")
        page.wait_for_function("() => window.seeing && window.seeing.state.source", timeout=120000)
        assert page.evaluate("async () => (window.watcher = await window.seeing.watch()) !== null")
        page.wait_for_function("() => document.getElementById('live-status')?.textContent.includes('waiting')")
        outputs = []
        for epoch in (1, 2, 3):  # one more epoch of the same run each time (exact resume)
            tiny_train(tiny_synth, run, epochs=epoch, live=True, resume=epoch > 1)
            page.wait_for_function(f"() => window.watcher.swaps.length === {epoch}", timeout=120000)
            swap = page.evaluate("() => window.watcher.swaps.at(-1)")
            logged = metrics_lines(run)[-1]
            assert swap["training"]["epoch"] == epoch and swap["training"]["step"] == logged["step"]
            assert swap["training"]["metrics"]["heldout_l1"] == logged["heldout_l1"]
            text = page.inner_text("#live-status")
            assert f"epoch {epoch} · step {logged['step']} · held-out L1 {logged['heldout_l1']:.4f}" in text
            # frames flow across the swap: before it, during it (the old model), and after it
            assert (epoch == 1 or swap["framesBefore"] > 0) and swap["framesBefore"] <= swap["framesAtSwap"]
            page.wait_for_function(f"() => window.seeing.stats().frames > {swap['framesAtSwap'] + 5}")
            outputs.append(page.evaluate("() => window.seeing.captureOutput()"))
            print(f"epoch {epoch}: file landed -> first frame {swap['latencyMs']} ms")
        stats = page.evaluate("() => window.seeing.stats()")
        assert stats["engine"] == "wasm" and stats["model"] == "run (live)"
        assert page.evaluate("() => window.seeing.state.lastError") is None
        assert outputs[0] != outputs[2]  # the page really runs the newer models
        assert page.errors == []
    finally:
        srv.close()
