"""The Python runtime: a model file run with ONNX Runtime, numpy only (no torch at inference time).

    rt = Runtime("waves.safetensors")
    out = rt(frame)                 # uint8 (H, W, 3) of any size -> uint8 (R, R, 3)
    hd = Runtime("waves.safetensors", size=512)   # the same net at 512 x 512 (degradation.at_size)

The ONNX graph is built in memory from the file (`onnx_export.build_onnx`); frames get the live
degradation of DESIGN section 3 (`degrade.degrade_frame`: centre square crop, luma, area pool to the grid,
bicubic back up, brightness/contrast).
"""

from __future__ import annotations

import os

import numpy as np

from .degrade import at_size, degrade_frame
from .modelfile import Model, read_model


class Runtime:
    """A loaded generator: frames in, images out."""

    def __init__(self, model: Model | str | os.PathLike, threads: int | None = None, size: int | None = None):
        import onnxruntime as ort

        from .arch import check_run_size
        from .errors import UserError
        from .onnx_export import build_onnx

        self.model = model if isinstance(model, Model) else read_model(model)
        cfg = self.model.config
        try:
            self.resolution = check_run_size(cfg, size or cfg.resolution)
        except ValueError as e:
            raise UserError(str(e)) from None
        self.degradation = at_size(self.model.degradation, self.resolution)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # ORT's warnings about unused initializers are noise here
        self.session = ort.InferenceSession(
            build_onnx(self.model, self.resolution).SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )

    def run_degraded(self, x: np.ndarray) -> np.ndarray:
        """Degraded input (R, R), (1, R, R) or (N, 1, R, R) float32 in [-1, 1] -> (N, out, R, R) float32 in [-1, 1]."""
        r = self.resolution
        x = np.asarray(x, np.float32).reshape(-1, self.model.config.in_channels, r, r)
        return self.session.run(["output"], {"input": x})[0]

    def degrade(self, frame: np.ndarray, brightness: float = 1.0, contrast: float = 1.0) -> np.ndarray:
        """uint8 (H, W, 3) frame -> the (R, R) float32 degraded input the generator sees."""
        return degrade_frame(frame, self.degradation, brightness, contrast)

    def __call__(self, frame: np.ndarray, brightness: float = 1.0, contrast: float = 1.0) -> np.ndarray:
        """uint8 (H, W, 3) frame of any size -> uint8 (R, R, 3) output image."""
        return to_uint8(self.run_degraded(self.degrade(frame, brightness, contrast))[0])


def to_uint8(out: np.ndarray) -> np.ndarray:
    """(C, R, R) float in [-1, 1] -> (R, R, C) uint8, rounded."""
    return np.clip((np.asarray(out).transpose(1, 2, 0) + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)
