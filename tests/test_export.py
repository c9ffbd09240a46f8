"""Export: BatchNorm folding, precisions (size and PSNR goals), ONNX parity with PyTorch, the CLI."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from seeing.arch import preset_config
from seeing.cli import main
from seeing.degrade import DegradeParams
from seeing.export import export, fold_generator, folded_module, psnr
from seeing.modelfile import read_model, write_model

from modelkit import random_generator, save_checkpoint, synth_batch, tiny_config, tiny_degradation, trained_generator

torch.set_num_threads(1)


@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_folding_matches_batchnorm_in_eval(tmp_path, eps):
    cfg = tiny_config(bn_eps=eps, leaky_slope=0.3)
    gen = random_generator(cfg, seed=3)
    weights, biases = fold_generator(gen)
    write_model(tmp_path / "f.safetensors", cfg, tiny_degradation(cfg), weights, biases, "float32")
    model = read_model(tmp_path / "f.safetensors")
    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (2, 1, 64, 64)).astype(np.float32))
    with torch.no_grad():
        ref, got = gen(x), folded_module(model)(x)
    assert (ref - got).abs().max().item() < 1e-5
    assert ref.std().item() > 0.01  # the check means something: outputs vary


def test_export_onnx_matches_torch_eval(tmp_path, capsys):
    cfg = tiny_config()
    gen = random_generator(cfg, seed=5)
    deg = tiny_degradation(cfg)
    ckpt = save_checkpoint(tmp_path / "run" / "last.pt", gen, deg)
    main(["export", str(ckpt), "--precision", "float32", "--onnx", "--name", "m", "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert "m.safetensors" in out and "m.onnx" in out and "PSNR" in out
    import onnx

    proto = onnx.load(str(tmp_path / "o" / "m.onnx"))
    assert proto.opset_import[0].version >= 17
    sess = ort.InferenceSession(str(tmp_path / "o" / "m.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).uniform(-1, 1, (1, 1, 64, 64)).astype(np.float32)
    with torch.no_grad():
        ref = gen(torch.from_numpy(x)).numpy()
    got = sess.run(None, {"input": x})[0]
    assert got.shape == (1, 3, 64, 64)
    assert np.abs(got - ref).max() < 1e-4


@pytest.fixture(scope="module")
def trained_small(tmp_path_factory):
    """The small preset trained a few L1 steps on synth images, in a run folder with held-out images."""
    cfg = preset_config("small")
    deg = DegradeParams()
    gen = trained_generator(cfg, deg, steps=12, seed=1)
    run = tmp_path_factory.mktemp("run")
    data = run / "data"
    data.mkdir()
    from PIL import Image

    names = []
    for i, img in enumerate(synth_batch(4, 256, seed=99)):  # images the generator never saw
        Image.fromarray(img).save(data / f"h{i}.png")
        names.append(str(data / f"h{i}.png"))
    (run / "heldout.json").write_text(json.dumps(names))
    save_checkpoint(run / "last.pt", gen, deg, data=str(data))
    return run, gen


def test_precisions_size_and_psnr_goals(tmp_path, trained_small):
    run, gen = trained_small
    reports = {p: export(run, tmp_path, "m" + p, p) for p in ("float32", "float16", "uint8")}
    sizes = {p: (tmp_path / f"m{p}.safetensors").stat().st_size for p in reports}
    assert all(reports[p]["size"] == sizes[p] for p in reports)
    assert sizes["uint8"] <= 0.26 * sizes["float32"]
    assert sizes["float16"] <= 0.51 * sizes["float32"]
    assert reports["uint8"]["inputs"] == "4 held-out images"
    assert reports["uint8"]["psnr"] >= 35 and reports["float16"]["psnr"] >= reports["uint8"]["psnr"]
    assert reports["float32"]["params"] == 6_297_491
    # The same PSNR, computed here independently of the runtime: torch eval vs the uint8 file's folded net.
    from seeing.degrade import degrade_frame

    x = torch.from_numpy(np.stack([degrade_frame(img, DegradeParams()) for img in synth_batch(4, 256, 99)])[:, None])
    with torch.no_grad():
        ref = gen(x).numpy()
        got = folded_module(read_model(tmp_path / "muint8.safetensors"))(x).numpy()
    assert psnr(got, ref) >= 35
    assert abs(psnr(got, ref) - reports["uint8"]["psnr"]) < 0.5
    assert ref.std() > 0.05  # a trained net whose outputs vary, not a constant


def test_export_metadata_carries_training_facts(tmp_path, trained_small):
    run, _ = trained_small
    export(run, tmp_path, "facts", "uint8")
    m = read_model(tmp_path / "facts.safetensors")
    assert m.meta["training"]["epoch"] == 1 and m.meta["training"]["step"] == 10
    assert m.meta["training"]["data"] == "data" and m.degradation == DegradeParams()


def test_export_bad_source_is_user_error(tmp_path, capsys):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    for src in (tmp_path / "junk.pt", tmp_path / "nothing"):
        with pytest.raises(SystemExit) as e:
            main(["export", str(src)])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.glob("*.safetensors"))
