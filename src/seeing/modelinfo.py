"""Facts about a model file for `seeing info MODEL` (numpy only; the file is fully validated first)."""

from __future__ import annotations

from pathlib import Path

from .arch import macs, param_counts
from .modelfile import read_model


def model_facts(path: str) -> dict:
    """Name, precision, file size, params (the paper's count), MACs, architecture, degradation, training facts.

    A missing or malformed file raises ModelFileError (one line, exit status 2 in the CLI).
    """
    model = read_model(path)
    cfg = model.config
    counts = param_counts(cfg)
    facts = {
        "file": str(path),
        "name": model.name,
        "precision": model.precision,
        "size": Path(path).stat().st_size,
        "params": counts["params"],
        "trainable": counts["trainable"],
        "macs": macs(cfg),
        "resolution": cfg.resolution,
        "down": cfg.down,
        "up": cfg.up,
        "leaky_slope": cfg.leaky_slope,
        "degradation": model.degradation.to_dict(),
        "training": model.meta.get("training") or {},
        "format_version": model.meta.get("version"),
    }
    return facts
