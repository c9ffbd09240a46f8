"""The live training preview: a run folder's latest model, as `seeing serve --watch RUN` serves it.

Training with `--live` writes RUN/live.safetensors (uint8, atomically) after every epoch
(train.write_live_model). The server answers two fixed routes from that one file and nothing else
of the folder: `live.json` (NOT_WATCHING without --watch; else the model's version, epoch, step and held-out measures; ETag = version)
and `live/model.safetensors` (its bytes). The page (web/watch.js) polls `live.json` and swaps
models when the version changes. No path from a request reaches the file system.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LIVE_MODEL = "live.safetensors"
STATUS_ROUTE = "live.json"
MODEL_ROUTE = "live/model.safetensors"
NOT_WATCHING = {"run": None, "model": None}  # live.json of a server (or static site) that watches no run


def read_live(run: Path) -> tuple[str, bytes] | None:
    """(version, bytes) of RUN/live.safetensors, read through one descriptor (a file replaced meanwhile
    cannot mix two versions), or None while there is none."""
    path = run / LIVE_MODEL
    if path.is_symlink() or not run.resolve().is_dir():  # training writes a plain file; nothing else is served
        return None
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    return f"{st.st_mtime_ns:x}-{st.st_size:x}", data


def live_status(run: Path) -> tuple[str, bytes]:
    """(ETag, JSON body) of `live.json`: the live model's version, the time it landed (ms since the epoch),
    and its training facts (epoch, step, held-out metrics), or "model": null while training has none."""
    from .modelfile import ModelFileError, parse_header

    status: dict = {"run": run.name, "model": None}
    got = read_live(run)
    if got is not None:
        version, data = got
        try:
            _, meta, _ = parse_header(data, LIVE_MODEL)
            info = json.loads(meta.get("seeing", "{}"))
            facts = (info.get("training") or {}) if isinstance(info, dict) else {}
        except (ModelFileError, ValueError):
            facts = {}
        landed_ms = int(version.split("-")[0], 16) // 1_000_000
        status.update(
            {
                "model": MODEL_ROUTE,
                "version": version,
                "landed_ms": landed_ms,
                "epoch": facts.get("epoch"),
                "step": facts.get("step"),
                "metrics": facts.get("metrics") or {},
            }
        )
    body = json.dumps(status).encode()
    return f'"{status.get("version", "none")}"', body


def start_server(run: Path, host: str, port: int) -> tuple[subprocess.Popen, str]:
    """`seeing serve --watch RUN` in a child process (its own interpreter: serving never slows a training
    step's threads); returns (process, URL) once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "seeing", "serve", "--watch", str(run), "--host", host, "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if not line.startswith("serving"):
        proc.wait()
        from .errors import UserError

        raise UserError(f"the live page could not start ({line.strip() or f'exit status {proc.returncode}'})")
    return proc, line.split()[-1]
