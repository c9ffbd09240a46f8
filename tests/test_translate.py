"""`seeing translate`: image, folder and video; smoothing, brightness/contrast, side by side; bad input."""

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from seeing.cli import main
from seeing.export import fold_generator
from seeing.modelfile import write_model
from seeing.runtime import Runtime, to_uint8
from seeing.translate import Translator, input_view

from modelkit import random_generator, tiny_config, tiny_degradation


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    cfg = tiny_config()
    path = tmp_path_factory.mktemp("tr") / "m.safetensors"
    write_model(path, cfg, tiny_degradation(cfg), *fold_generator(random_generator(cfg, 11)), "uint8", "tr")
    return path


def _frames(n, h=48, w=80):
    rng = np.random.default_rng(n)
    base = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return [
        np.asarray(Image.fromarray(np.roll(base, i, axis=1)).resize((w, h), Image.Resampling.BILINEAR))
        for i in range(n)
    ]


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


@pytest.mark.parametrize(
    "ext,fmt,codec,rate,count",
    [(".y4m", "yuv4mpegpipe", "rawvideo", Fraction(30000, 1001), 9), (".mp4", None, "libx264", Fraction(12), 40)],
)
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
    cases = [
        [str(tmp_path / "missing.png"), str(tmp_path / "o.png")],
        [str(tmp_path / "bad.png"), str(tmp_path / "o.png")],
        [str(tmp_path / "bad.mp4"), str(tmp_path / "keep.mp4")],
        [str(tmp_path / "bad.png"), str(tmp_path / "o.mp4")],
    ]
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


# Real inputs written by real encoders: name -> (file name, muxer, encoder, pix_fmt, rate, frames, options, rotation)
INPUTS = {
    "h264-mp4": ("in.mp4", None, "libx264", "yuv420p", Fraction(25), 100, {}, 0),  # 83 frames broke PyAV 18 muxing
    "vp9-webm": ("in.webm", None, "libvpx-vp9", "yuv420p", Fraction(24), 7, {}, 0),
    "mjpeg-avi": ("in.avi", None, "mjpeg", "yuvj420p", Fraction(15), 6, {}, 0),
    "y4m": ("in.y4m", "yuv4mpegpipe", "rawvideo", "yuv420p", Fraction(30000, 1001), 5, {}, 0),
    "gif": ("in.gif", None, "gif", "rgb8", Fraction(10), 6, {}, 0),
    "bframes-mkv": ("in.mkv", None, "libx264", "yuv420p", Fraction(12), 10, {"bframes": "3", "b-pyramid": "normal"}, 0),
    "rotated-mp4": ("rot.mp4", None, "libx264", "yuv420p", Fraction(20), 6, {}, 90),
}


def _encode(path, frames, fmt, codec, pix_fmt, rate, options, rotation):
    """A clip as a camera, a phone or ffmpeg would write it; returns (pts, dts) of its packets."""
    order = []
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream(codec, rate=rate, options=options)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix_fmt
        if rotation:
            s.set_display_rotation(rotation)
        for f in [*frames, None]:
            for p in s.encode(None if f is None else av.VideoFrame.from_ndarray(f, format="rgb24")):
                order.append((p.pts, p.dts))
                c.mux(p)
    return order


@pytest.fixture(scope="module")
def real_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    made = {}
    for name, (file, fmt, codec, pix_fmt, rate, count, options, rotation) in INPUTS.items():
        path = folder / name / file
        path.parent.mkdir()
        order = _encode(path, _frames(count, 48, 80), fmt, codec, pix_fmt, rate, options, rotation)
        made[name] = path, order
    return made


@pytest.mark.parametrize("out_ext", [".mp4", ".webm", ".mkv"])
@pytest.mark.parametrize("name", list(INPUTS))
def test_real_inputs_to_every_output(tmp_path, model_path, real_inputs, name, out_ext):
    src, order = real_inputs[name]
    *_, rate, count, _, rotation = INPUTS[name]
    if name == "bframes-mkv":  # the clip does hold B-frames: packets arrive out of presentation order
        assert any(pts != dts for pts, dts in order)
    out = tmp_path / f"out{out_ext}"
    main(["translate", str(model_path), str(src), str(out), "--side-by-side"])  # the input view shows rotation
    got, got_rate = _read_video(out)
    assert len(got) == count and got[0].shape == (64, 128, 3)
    assert got_rate == rate
    with av.open(str(src)) as c:  # the frames the model saw: upright, as a player shows them
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
        assert len(decoded) == count
    tr = Translator(Runtime(model_path), side_by_side=True)

    def luma_err(img, frame):
        d = img.astype(np.float64) - tr(frame).astype(np.float64)
        return np.abs(d @ np.array([0.299, 0.587, 0.114])).mean()

    upright = [np.rot90(f, rotation // 90) for f in decoded]
    errs = [luma_err(g, f) for g, f in zip(got, upright)]
    assert max(errs) < 6, errs
    if rotation:  # the rotation tag was applied: the frames as stored are further away
        assert min(luma_err(g, f) for g, f in zip(got, decoded)) > max(errs)
    assert not list(tmp_path.glob(".*"))


def test_gif_is_a_video_everywhere(tmp_path, model_path, real_inputs):
    from seeing.data import find_files
    from seeing.translate import IMAGE_EXTS, VIDEO_EXTS

    src, _ = real_inputs["gif"]
    assert ".gif" in VIDEO_EXTS and ".gif" not in IMAGE_EXTS
    assert find_files([src.parent]) == ([], [src], [])
    main(["translate", str(model_path), str(src), str(tmp_path / "out.gif")])
    got, got_rate = _read_video(tmp_path / "out.gif")
    assert len(got) == 6 and got_rate == 10
    Image.fromarray(_frames(1)[0]).save(tmp_path / "still.png")
    with pytest.raises(SystemExit) as e:  # one image does not make an animation
        main(["translate", str(model_path), str(tmp_path / "still.png"), str(tmp_path / "still.gif")])
    assert e.value.code == 2


@pytest.mark.parametrize(
    "codecs",
    [
        {".mp4": ("libtheora", "yuv420p")},  # no such encoder in this build
        {".webm": ("libx264", "yuv420p")},
    ],  # the WebM muxer refuses H.264
    ids=["encoder", "muxer"],
)
def test_encoder_and_muxer_failures_exit_2(tmp_path, model_path, real_inputs, monkeypatch, capsys, codecs):
    import seeing.translate

    monkeypatch.setattr(seeing.translate, "_VIDEO_CODECS", {**seeing.translate._VIDEO_CODECS, **codecs})
    out = tmp_path / f"keep{next(iter(codecs))}"
    out.write_bytes(b"precious")
    with pytest.raises(SystemExit) as e:
        main(["translate", str(model_path), str(real_inputs["h264-mp4"][0]), str(out)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {out}") and err.count("\n") == 1, err
    assert out.read_bytes() == b"precious" and not list(tmp_path.glob(".*"))


def test_size_512_runs_the_model_in_hd(tmp_path, model_path, capsys):
    """--size (here 128 for a 64 model, as 512 is for 256): the output at that size, the grid scaled."""
    frame = _frames(1, 150, 200)[0]
    Image.fromarray(frame).save(tmp_path / "in.png")
    main(
        [
            "translate",
            str(model_path),
            str(tmp_path / "in.png"),
            str(tmp_path / "hd.png"),
            "--size",
            "128",
            "--side-by-side",
        ]
    )
    hd = np.asarray(Image.open(tmp_path / "hd.png"))
    assert hd.shape == (128, 256, 3)
    np.testing.assert_array_equal(hd[:, 128:], Runtime(model_path, size=128)(frame))
    np.testing.assert_array_equal(hd[:, :128], input_view(frame, 128))
    with pytest.raises(SystemExit) as e:
        main(["translate", str(model_path), str(tmp_path / "in.png"), str(tmp_path / "bad.png"), "--size", "100"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "size 100" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad.png").exists()
