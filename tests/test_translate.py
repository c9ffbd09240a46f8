"""`seeing translate`: image, folder and video; smoothing, brightness/contrast, side by side; bad input."""
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from modelkit import random_generator, tiny_config, tiny_degradation
from seeing.cli import main
from seeing.export import fold_generator
from seeing.modelfile import write_model
from seeing.runtime import Runtime, to_uint8
from seeing.translate import Translator, input_view


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    cfg = tiny_config()
    path = tmp_path_factory.mktemp("tr") / "m.safetensors"
    write_model(path, cfg, tiny_degradation(cfg), *fold_generator(random_generator(cfg, 11)), "uint8", "tr")
    return path


def _frames(n, h=48, w=80):
    rng = np.random.default_rng(n)
    base = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return [np.asarray(Image.fromarray(np.roll(base, i, axis=1)).resize((w, h), Image.Resampling.BILINEAR))
            for i in range(n)]


def _clip(path, frames, rate, fmt=None, codec="libx264"):
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream(codec, rate=rate)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _read_video(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [f.to_ndarray(format="rgb24") for f in c.decode(s)], s.average_rate


def test_image_to_image_and_side_by_side(tmp_path, model_path):
    frame = _frames(1, 70, 50)[0]
    Image.fromarray(frame).save(tmp_path / "in.png")
    main(["translate", str(model_path), str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--brightness", "1.2"])
    out = np.asarray(Image.open(tmp_path / "out.png"))
    rt = Runtime(model_path)
    np.testing.assert_array_equal(out, rt(frame, brightness=1.2))
    assert not np.array_equal(out, rt(frame))  # the brightness reached the degradation
    main(["translate", str(model_path), str(tmp_path / "in.png"), str(tmp_path / "sbs.png"), "--side-by-side"])
    sbs = np.asarray(Image.open(tmp_path / "sbs.png"))
    assert sbs.shape == (64, 128, 3)
    np.testing.assert_array_equal(sbs[:, 64:], rt(frame))
    np.testing.assert_array_equal(sbs[:, :64], input_view(frame, 64))


def test_folder_to_folder(tmp_path, model_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    frames = _frames(3)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(tmp_path / "in" / ("sub" if i == 2 else "") / f"f{i}.png")
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    main(["translate", str(model_path), str(tmp_path / "in"), str(tmp_path / "out"), "--smooth", "0.9"])
    rt = Runtime(model_path)
    outs = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert outs == ["f0.png", "f1.png", "sub/f2.png"]
    for i, name in enumerate(["f0.png", "f1.png", "sub/f2.png"]):  # no smoothing across a folder's images
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / name)), rt(frames[i]))


def test_smoothing_is_exponential(model_path):
    frames = _frames(3)
    rt = Runtime(model_path)
    raw = [rt.run_degraded(rt.degrade(f))[0] for f in frames]
    tr = Translator(rt, smooth=0.75)
    outs = [tr(f) for f in frames]
    expect = raw[0]
    for f, out, r in zip(frames, outs, raw):
        if f is not frames[0]:
            expect = 0.75 * expect + 0.25 * r
        np.testing.assert_array_equal(out, to_uint8(expect))
    assert not np.array_equal(outs[2], to_uint8(raw[2]))


@pytest.mark.parametrize("ext,fmt,codec,rate,count", [(".y4m", "yuv4mpegpipe", "rawvideo", Fraction(30000, 1001), 9),
                                                      (".mp4", None, "libx264", Fraction(12), 40)])
def test_video_to_video_keeps_count_and_rate(tmp_path, model_path, ext, fmt, codec, rate, count):
    frames = _frames(count)
    src = tmp_path / f"in{ext}"
    _clip(src, frames, rate, fmt, codec)
    decoded, _ = _read_video(src)
    out = tmp_path / f"out{ext}"
    main(["translate", str(model_path), str(src), str(out), "--smooth", "0.5", "--side-by-side"])
    got, got_rate = _read_video(out)
    assert len(got) == count and got_rate == rate and got[0].shape == (64, 128, 3)
    tr = Translator(Runtime(model_path), smooth=0.5, side_by_side=True)
    expect = [tr(f) for f in decoded]
    plain = Translator(Runtime(model_path), side_by_side=True)
    unsmoothed = [plain(f) for f in decoded]

    def luma(img):  # yuv420p keeps luma at full resolution; chroma is subsampled
        return img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])

    tol = 1.5 if codec == "rawvideo" else 4
    for k, (g, e, u) in enumerate(zip(got, expect, unsmoothed)):
        err = np.abs(luma(g) - luma(e)).mean()
        assert err < tol, (k, err)
        if k > 0:  # smoothing took effect: the unsmoothed frames are further away
            assert np.abs(luma(g) - luma(u)).mean() > err
    assert not list(tmp_path.glob(".*"))  # no temp files left


def test_bad_inputs_exit_2_and_keep_outputs(tmp_path, model_path, capsys):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 garbage" * 10)
    (tmp_path / "keep.mp4").write_bytes(b"precious")
    cases = [[str(tmp_path / "missing.png"), str(tmp_path / "o.png")],
             [str(tmp_path / "bad.png"), str(tmp_path / "o.png")],
             [str(tmp_path / "bad.mp4"), str(tmp_path / "keep.mp4")],
             [str(tmp_path / "bad.png"), str(tmp_path / "o.mp4")]]
    for args in cases:
        with pytest.raises(SystemExit) as e:
            main(["translate", str(model_path), *args])
        assert e.value.code == 2, args
        err = capsys.readouterr().err
        assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert (tmp_path / "keep.mp4").read_bytes() == b"precious"
    assert not (tmp_path / "o.png").exists() and not list(tmp_path.glob(".*"))
    with pytest.raises(SystemExit) as e:
        main(["translate", str(tmp_path / "bad.png"), str(tmp_path / "bad.png"), str(tmp_path / "o.png")])
    assert e.value.code == 2
