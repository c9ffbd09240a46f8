"""Shared test helpers: run the CLI in a subprocess, tiny synthetic data sets."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run_cli(*args, env=None, timeout=300, **kw) -> subprocess.CompletedProcess:
    """`python -m seeing ARGS` in a subprocess with one thread; returns the completed process (text)."""
    e = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "seeing", *map(str, args)], capture_output=True, text=True,
                          env=e, timeout=timeout, **kw)


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory):
    """A folder of 10 small nebula images (64x64), made once per session."""
    from seeing.synth import write_set
    out = tmp_path_factory.mktemp("synth") / "nebula"
    write_set(out, "nebula", 10, seed=7, size=64, progress=False)
    return out
