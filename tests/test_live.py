"""The live training preview and the time budget: `train(live=True)` writes RUN/live.safetensors per epoch,
`seeing serve --watch RUN` serves it and nothing else of the run (the page: test_web_live.py);
`--minutes` stops at a step boundary, resumes exactly, and exports."""

from __future__ import annotations

import functools
import json

import httpx
import pytest
import torch

from seeing.live import LIVE_MODEL, live_status
from seeing.modelfile import read_model
from seeing.train import Budget, load_checkpoint

from conftest import Server, run_cli
from support import TRAIN_FLAGS, TRAIN_NET
from support import tiny_train as _tiny_train

tiny_train = functools.partial(_tiny_train, epochs=1)


def metrics_lines(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_live_model_carries_its_epoch_and_measures(tiny_synth, tmp_path):
    run = tmp_path / "run"
    tiny_train(tiny_synth, run, live=True)
    model = read_model(run / LIVE_MODEL)
    assert model.precision == "uint8" and model.config == TRAIN_NET
    facts = model.meta["training"]
    logged = {k: v for k, v in metrics_lines(run)[-1].items() if not isinstance(v, dict)}  # the scalars travel
    assert (facts["epoch"], facts["step"]) == (1, 2) and facts["metrics"] == logged
    etag, body = live_status(run)
    status = json.loads(body)
    assert status["model"] == "live/model.safetensors" and etag == f'"{status["version"]}"'
    assert (status["epoch"], status["step"], status["metrics"]) == (1, 2, logged)
    assert not list(run.glob(".*tmp"))


def test_budget_time_left_and_spent():
    b = Budget(None)
    assert b.left() is None and not b.spent() and b.postfix() == {}
    b = Budget(1)
    b.end -= 60 - 75.2  # 75 s left
    assert b.postfix() == {"left": "1:15"} and not b.spent()
    b.end += 3600
    assert b.postfix() == {"left": "1:01:15"}
    b.end -= 10_000
    assert b.spent() and b.left() == 0.0


def test_minutes_stops_mid_epoch_and_resumes_exactly(tiny_synth, tmp_path):
    full = tmp_path / "full"
    tiny_train(tiny_synth, full, epochs=2)
    out = tmp_path / "budget"
    tiny_train(tiny_synth, out, epochs=None, minutes=1e-9)  # spent at once: one step, then a clean stop
    saved = load_checkpoint(out)
    assert (saved["epoch"], saved["step"], saved["partial"]["batch"]) == (0, 1, 1)
    assert saved["config"]["train"]["epochs"] is None
    assert not (out / "metrics.jsonl").exists()  # no epoch finished
    tiny_train(tiny_synth, out, epochs=2, resume=True)
    a, b = load_checkpoint(full), load_checkpoint(out)
    assert b["step"] == a["step"] == 4
    for k in ("generator", "discriminator"):
        for name in a[k]:
            assert torch.equal(a[k][name], b[k][name]), name
    assert [m["epoch"] for m in metrics_lines(out)] == [1, 2]


def test_minutes_through_the_cli_exports_the_model(tiny_synth, tmp_path):
    out = tmp_path / "half-hour"
    r = run_cli("train", tiny_synth, *TRAIN_FLAGS, "--minutes", "0.000001", "--out", out, "--workers", 1)
    assert r.returncode == 0, r.stderr
    assert "time budget spent" in r.stderr and "Traceback" not in r.stderr
    model = read_model(out / "half-hour.safetensors")
    assert model.meta["training"]["step"] == 1 and model.precision == "uint8"
    r = run_cli("train", tiny_synth, *TRAIN_FLAGS, "--minutes", "0", "--out", tmp_path / "x")
    assert r.returncode == 2 and "--minutes" in r.stderr


def test_train_live_serves_the_page_next_to_the_run(tiny_synth, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "seeing",
            "train",
            str(tiny_synth),
            *TRAIN_FLAGS,
            "--epochs",
            "2",
            "--out",
            str(out),
            "--workers",
            "1",
            "--live",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        line = ""
        while "live page:" not in line:
            line = proc.stderr.readline()
            assert line, "train --live printed no URL"
        url = line.split()[2]
        assert httpx.get(url).status_code == 200
        while "training is over" not in line:  # the page keeps serving the last model afterwards
            line = proc.stderr.readline()
            assert line, proc.stdout.read()
        status = httpx.get(url + "live.json").json()
        assert (status["epoch"], status["step"]) == (2, 4)
        body = httpx.get(url + "live/model.safetensors").content
        assert body == (out / LIVE_MODEL).read_bytes()
    finally:
        import signal

        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("Ctrl-C did not end train --live: " + proc.communicate()[1][-3000:]) from None
        assert code == 0


@pytest.mark.parametrize(
    "target",
    [
        "/live/../last.pt",
        "/last.pt",
        "/metrics.jsonl",
        "/config.json",
        "/live.safetensors",
        "/live/last.pt",
        "/live/model.safetensors/",
        "/live%2fmodel.safetensors",
        "/live/./model.safetensors",
        "/live/%2e%2e/last.pt",
        "/live/model.safetensors%00",
        "/live.json/",
        "/live/config.json",
        "/samples/epoch_001.png",
        "/live//model.safetensors",
    ],
)
def test_watch_reaches_nothing_else_of_the_run(watch_server, target):
    from test_serve import raw_get

    assert raw_get(watch_server.url, target) == 404


@pytest.fixture(scope="module")
def watch_server(tiny_synth, tmp_path_factory):
    run = tmp_path_factory.mktemp("watched") / "run"
    tiny_train(tiny_synth, run, live=True, save_every=1)
    assert {"last.pt", "epoch_001.pt", "metrics.jsonl", "config.json", "samples"} <= {p.name for p in run.iterdir()}
    srv = Server([], extra=["--watch", run])
    srv.run = run
    yield srv
    srv.close()


def test_watch_routes_etag_and_symlink(watch_server, tmp_path):
    url, run = watch_server.url, watch_server.run
    r = httpx.get(url + "live.json")
    assert r.status_code == 200 and r.headers["cross-origin-embedder-policy"] == "require-corp"
    assert httpx.get(url + "live.json", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    m = httpx.get(url + "live/model.safetensors")
    assert m.content == (run / LIVE_MODEL).read_bytes() and m.headers["etag"] == r.headers["etag"]
    # a link out of the run folder is not followed
    secret = tmp_path / "secret.safetensors"
    secret.write_bytes(m.content)
    (run / LIVE_MODEL).rename(run / "kept.safetensors")
    (run / LIVE_MODEL).symlink_to(secret)
    try:
        assert httpx.get(url + "live/model.safetensors").status_code == 404
        assert httpx.get(url + "live.json").json()["model"] is None
    finally:
        (run / LIVE_MODEL).unlink()
        (run / "kept.safetensors").rename(run / LIVE_MODEL)


def test_no_live_routes_without_watch(server):
    assert httpx.get(server.url + "live.json").json() == {"run": None, "model": None}  # the page asks; no 404
    assert httpx.get(server.url + "live/model.safetensors").status_code == 404


def test_watch_needs_a_folder(tmp_path):
    r = run_cli("serve", "--watch", tmp_path / "nope", "--port", "0", timeout=60)
    assert r.returncode == 2 and "nope" in r.stderr and "Traceback" not in r.stderr
