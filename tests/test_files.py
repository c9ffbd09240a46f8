"""Atomic outputs: all or nothing, the old file kept on failure, ordinary permissions."""

import os

import pytest

from seeing.files import atomic_path, atomic_write


def test_replaces_whole_file_with_umask_mode(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    old = os.umask(0o022)
    try:
        atomic_write(target, [b"new ", b"bytes"])
    finally:
        os.umask(old)
    assert target.read_bytes() == b"new bytes"
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "video.mp4"
    target.write_bytes(b"precious")
    with pytest.raises(RuntimeError):
        with atomic_path(target, suffix=".mp4") as tmp:
            open(tmp, "wb").write(b"half")
            raise RuntimeError("encoder died")
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]
