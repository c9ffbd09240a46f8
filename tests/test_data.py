"""Datasets: every image mode loads as the right RGB, folders are searched recursively, junk is skipped
and counted, videos are read through PyAV, `data frames` skips dark frames (synth sets: test_synth.py)."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from seeing.data import load_dataset, read_image, split_heldout, video_frames
from seeing.errors import UserError

from conftest import run_cli


def test_grey_l(tmp_path):
    a = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (8, 1))
    Image.fromarray(a, "L").save(tmp_path / "g.png")
    rgb = read_image(tmp_path / "g.png")
    assert rgb.shape == (8, 64, 3) and rgb.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], a)


def test_grey_alpha_la_composited_on_black(tmp_path):
    la = np.zeros((4, 4, 2), np.uint8)
    la[..., 0], la[..., 1] = 200, 255
    la[0, 0] = (200, 0)  # fully transparent
    la[0, 1] = (200, 128)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    rgb = read_image(tmp_path / "la.png")
    assert tuple(rgb[1, 1]) == (200, 200, 200)
    assert tuple(rgb[0, 0]) == (0, 0, 0)
    assert tuple(rgb[0, 1]) == (100, 100, 100)  # 200 * 128 / 255 = 100.4


def test_rgba(tmp_path):
    a = np.zeros((4, 4, 4), np.uint8)
    a[...] = (10, 20, 30, 255)
    a[0, 0] = (255, 0, 0, 0)
    Image.fromarray(a, "RGBA").save(tmp_path / "a.png")
    rgb = read_image(tmp_path / "a.png")
    assert tuple(rgb[2, 2]) == (10, 20, 30)
    assert tuple(rgb[0, 0]) == (0, 0, 0)


def test_palette(tmp_path):
    img = Image.new("P", (6, 4))
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 9))
    img.putdata([0, 1, 2] * 8)
    img.save(tmp_path / "p.png")
    rgb = read_image(tmp_path / "p.png")
    assert tuple(rgb[0, 0]) == (255, 0, 0) and tuple(rgb[0, 1]) == (0, 255, 0) and tuple(rgb[0, 2]) == (0, 0, 255)


def test_cmyk_jpeg(tmp_path):
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)  # pure red in CMYK
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    rgb = read_image(tmp_path / "c.jpg").astype(int)
    assert rgb.shape == (16, 16, 3)
    assert rgb[..., 0].min() > 240 and rgb[..., 1].max() < 15 and rgb[..., 2].max() < 15


def test_16bit_png_scaled_to_8bit(tmp_path):
    a = np.array([[0, 257 * 10, 32768, 65535]], np.uint16)
    Image.fromarray(a).save(tmp_path / "d.png")
    assert Image.open(tmp_path / "d.png").mode.startswith("I")
    rgb = read_image(tmp_path / "d.png")
    np.testing.assert_array_equal(rgb[0, :, 0], [0, 10, 128, 255])
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])


def test_exif_orientation_applied(tmp_path):
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :20] = (255, 0, 0)  # left half red
    a[:, 20:] = (0, 0, 255)  # right half blue
    img = Image.fromarray(a)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    img.save(tmp_path / "r.jpg", exif=exif, quality=100)
    rgb = read_image(tmp_path / "r.jpg").astype(int)
    assert rgb.shape == (40, 20, 3)  # portrait once rotated
    top, bottom = rgb[:15].mean(axis=(0, 1)), rgb[25:].mean(axis=(0, 1))
    assert top[0] > 200 and top[2] < 50  # the left (red) half went to the top
    assert bottom[2] > 200 and bottom[0] < 50


@pytest.mark.parametrize(
    "ext,kw", [(".webp", {"lossless": True}), (".bmp", {}), (".tif", {}), (".tiff", {}), (".jpeg", {"quality": 100})]
)
def test_other_formats(tmp_path, ext, kw):
    a = np.zeros((8, 12, 3), np.uint8)
    a[...] = (30, 140, 220)
    Image.fromarray(a).save(tmp_path / f"x{ext}", **kw)
    rgb = read_image(tmp_path / f"x{ext}").astype(int)
    assert rgb.shape == (8, 12, 3)
    assert np.abs(rgb - a).max() <= 2


def test_folder_nested_junk_skipped_and_square(tmp_path):
    root = tmp_path / "set"
    (root / "a" / "b").mkdir(parents=True)
    Image.new("RGB", (40, 20), (255, 0, 0)).save(root / "one.png")
    Image.new("L", (30, 30), 128).save(root / "a" / "two.JPG")
    Image.new("RGB", (20, 50), (0, 0, 255)).save(root / "a" / "b" / "three.webp", lossless=True)
    (root / "notes.txt").write_text("not an image")
    (root / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (root / ".DS_Store").write_bytes(b"\0\0")  # hidden: not counted
    warnings = []
    ds = load_dataset([root], side=16, progress=False, warn=warnings.append)
    assert ds.images.shape == (3, 16, 16, 3)
    assert sorted(n.rsplit("/", 1)[1] for n in ds.names) == ["one.png", "three.webp", "two.JPG"]
    assert len(ds.skipped) == 2
    assert len(warnings) == 1 and "skipped 2" in warnings[0]
    assert "broken.jpg" in warnings[0] and "notes.txt" in warnings[0]
    blue = ds.images[[i for i, n in enumerate(ds.names) if n.endswith("three.webp")][0]]
    assert tuple(blue[8, 8]) == (0, 0, 255)
    assert sorted(ds.heldout + ds.train) == [0, 1, 2] and len(ds.heldout) == 1


def test_several_sources_and_empty(tmp_path):
    a, b, empty = tmp_path / "a", tmp_path / "b", tmp_path / "empty"
    for d in (a, b, empty):
        d.mkdir()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(a / "x.png")
    Image.new("RGB", (8, 8), (4, 5, 6)).save(b / "y.png")
    ds = load_dataset([a, b / "y.png"], side=8, progress=False)
    assert len(ds.names) == 2
    with pytest.raises(UserError, match="no usable images"):
        load_dataset([empty], side=8, progress=False, warn=lambda m: None)
    with pytest.raises(UserError, match="no such file"):
        load_dataset([tmp_path / "missing"], side=8, progress=False)


def test_heldout_split_is_about_five_percent_and_stable():
    names = [f"img_{i:04d}.png" for i in range(400)]
    held = split_heldout(names)
    assert len(held) == 20
    assert split_heldout(list(names)) == held
    # adding images leaves the old ones where they were, except the few displaced by lower hashes
    more = split_heldout(names + [f"new_{i}.png" for i in range(20)])
    assert len(set(held) & set(more)) >= 15


def write_grey_video(path, levels, size=(64, 48)):
    """A y4m clip whose frame i is flat grey at levels[i]."""
    c = av.open(str(path), "w", format="yuv4mpegpipe")
    s = c.add_stream("rawvideo", rate=10)
    s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
    for v in levels:
        frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), v, np.uint8), format="rgb24")
        for p in s.encode(frame):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()


def test_video_dataset(tmp_path):
    write_grey_video(tmp_path / "clip.y4m", [60 + 4 * i for i in range(12)])
    ds = load_dataset([tmp_path / "clip.y4m"], side=16, progress=False)
    assert ds.images.shape == (12, 16, 16, 3)
    means = ds.images.reshape(12, -1).mean(axis=1)
    np.testing.assert_allclose(means, [60 + 4 * i for i in range(12)], atol=2)
    assert ds.names[0].endswith("clip.y4m#00000")


def test_data_frames_skips_dark(tmp_path):
    # frames 0-9 and 20-29 black, 10-19 and 30-39 bright with level 40 + 5 * index
    levels = [0 if (i // 10) % 2 == 0 else 40 + 5 * i for i in range(40)]
    write_grey_video(tmp_path / "clip.y4m", levels)
    frames = video_frames(tmp_path / "clip.y4m", 4, side=32)
    # picks at 5, 15, 25, 35; the dark picks 5 and 25 move to the next bright frames, 10 and 30
    picked = [round((f.mean() - 40) / 5) for f in frames]
    assert picked == [10, 15, 30, 35]
    r = run_cli("data", "frames", tmp_path / "clip.y4m", tmp_path / "out", "-n", 4, "--size", 32)
    assert r.returncode == 0, r.stderr
    files = sorted((tmp_path / "out").iterdir())
    assert [f.name for f in files] == [f"frame_{k:05d}.png" for k in range(4)]
    imgs = [np.asarray(Image.open(f)) for f in files]
    assert all(i.shape == (32, 32, 3) for i in imgs)
    assert [round((i.mean() - 40) / 5) for i in imgs] == [10, 15, 30, 35]


def test_data_frames_all_dark_is_an_error(tmp_path):
    write_grey_video(tmp_path / "black.y4m", [0] * 8)
    r = run_cli("data", "frames", tmp_path / "black.y4m", tmp_path / "out", "-n", 3)
    assert r.returncode == 2
    assert "dark" in r.stderr and len(r.stderr.strip().splitlines()) == 1
