"""Bad input to the data and training commands: exit status 2, one line on stderr, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PIL import Image

from conftest import run_cli
from support import TRAIN_FLAGS

ONE_EPOCH = [*TRAIN_FLAGS, "--epochs", "1"]


def assert_one_line_error(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error: ") and "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture
def two_images(tmp_path):
    d = tmp_path / "two"
    d.mkdir()
    for i in range(2):
        Image.new("RGB", (16, 16), (i * 100, 50, 50)).save(d / f"{i}.png")
    return d


def test_wrong_flags(tmp_path, tiny_synth):
    assert_one_line_error(run_cli("train", tiny_synth, "--bogus"), "--bogus", "seeing train --help")
    assert_one_line_error(run_cli("train", tiny_synth, "--epochs", "zero"), "--epochs")
    assert_one_line_error(run_cli("train", tiny_synth, "--epochs", "0"), "--epochs")
    assert_one_line_error(run_cli("train"), "DATA")
    assert_one_line_error(run_cli("data", "synth", tmp_path / "s", "--kind", "jungle"), "jungle")
    assert_one_line_error(run_cli("data", "synth", tmp_path / "s", "-n", "-3"), "-n")
    assert_one_line_error(run_cli("data", "frames", tmp_path / "v.mp4"), "OUT")
    assert_one_line_error(run_cli("no-such-command"), "no-such-command")


def test_unknown_preset_and_bad_widths(tiny_synth, tmp_path):
    assert_one_line_error(run_cli("train", tiny_synth, "--preset", "huge"), "huge")
    assert_one_line_error(
        run_cli("train", tiny_synth, "--down-filters", "4,4,4", "--up-filters", "4,4,4", "--out", tmp_path / "r"), "up"
    )
    assert_one_line_error(
        run_cli("train", tiny_synth, "--down-filters", "4,x", "--up-filters", "4", "--out", tmp_path / "r"), "4,x"
    )
    assert not (tmp_path / "r").exists()


def test_missing_paths(tmp_path):
    assert_one_line_error(run_cli("train", tmp_path / "nowhere", *ONE_EPOCH, "--out", tmp_path / "r"), "nowhere")
    assert_one_line_error(run_cli("data", "frames", tmp_path / "none.mp4", tmp_path / "o"), "none.mp4")
    assert_one_line_error(run_cli("train", tmp_path, *ONE_EPOCH, "--resume", "--out", tmp_path / "norun"), "norun")


def test_empty_dataset(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    assert_one_line_error(run_cli("train", tmp_path / "empty", *ONE_EPOCH, "--out", tmp_path / "r"), "no usable images")
    assert not (tmp_path / "r").exists()


def test_only_junk_warns_then_fails(tmp_path):
    d = tmp_path / "junk"
    d.mkdir()
    (d / "a.jpg").write_bytes(b"not a jpeg")
    (d / "b.txt").write_text("hello")
    r = run_cli("train", d, *ONE_EPOCH, "--out", tmp_path / "r")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2  # the skipped files, then the error
    assert lines[0].startswith("warning: skipped 2") and "a.jpg" in lines[0]
    assert lines[1].startswith("Error: ") and "no usable images" in lines[1]


def test_too_few_images(two_images, tmp_path):
    assert_one_line_error(run_cli("train", two_images, *ONE_EPOCH, "--out", tmp_path / "r"), "too few")


def test_corrupt_video(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    assert_one_line_error(run_cli("data", "frames", bad, tmp_path / "o", "-n", "5"), "bad.mp4")
    assert_one_line_error(run_cli("train", bad, *ONE_EPOCH, "--out", tmp_path / "r"), "bad.mp4")
    assert not (tmp_path / "o").exists()


# The base install has no torch: these run seeing's CLI with `import torch` failing, as it does there.
NO_TORCH = "import sys; sys.modules['torch'] = None; from seeing.cli import main; main(sys.argv[1:])"


def run_without_torch(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", NO_TORCH, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def test_train_without_torch_says_how_to_install_it(tiny_synth, tmp_path):
    r = run_without_torch("train", tiny_synth, *ONE_EPOCH, "--out", tmp_path / "run")
    assert_one_line_error(r, "seeing train needs PyTorch", "pip install -e '.[train]'")
    assert not (tmp_path / "run").exists()


def test_base_commands_run_without_torch(tmp_path):
    from webkit import write_random_model

    model = write_random_model(tmp_path / "m.safetensors", precision="uint8")
    Image.new("RGB", (40, 30), (200, 120, 40)).save(tmp_path / "in.png")
    for args in (
        ["info", "small", "--json"],
        ["info", model],
        ["translate", model, tmp_path / "in.png", tmp_path / "out.png"],
        ["build-site", tmp_path / "site", model],
    ):
        r = run_without_torch(*args)
        assert r.returncode == 0, (args, r.stderr)
    assert Image.open(tmp_path / "out.png").size == (64, 64)
    assert (tmp_path / "site" / "models.json").is_file()
