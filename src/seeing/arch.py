"""The generator architecture as plain data (no torch): presets, config, layer shapes, MACs."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

# The paper's filter counts. The down list has log2(resolution) entries, the up list one fewer.
PRESETS: dict[str, dict[str, list[int]]] = {
    "small": {"down": [4, 8, 16, 32, 64, 128, 256, 512], "up": [256, 128, 64, 32, 16, 8, 4]},
    "medium": {"down": [8, 16, 32, 64, 128, 256, 512, 512], "up": [512, 256, 128, 64, 32, 16, 8]},
    "large": {"down": [64, 128, 256, 512, 512, 512, 512, 512], "up": [512, 512, 512, 512, 256, 128, 64]},
}
# Discriminator base width per preset: the 64-wide pix2pix PatchGAN dominates a small net's cost.
DISC_WIDTH = {"small": 16, "medium": 32, "large": 64}
# The generator's loss terms besides the GAN term (docs/TRAINING.md): pix2pix's L1, the L1 of the degraded output
# against the degraded target, the spectral term. Runs saved before a term existed resume with it at 0.
LOSS_WEIGHTS = {"l1_weight": 100.0, "lowpass_weight": 100.0, "spectral_weight": 5.0}


@dataclass
class GeneratorConfig:
    down: list[int] = field(default_factory=lambda: list(PRESETS["small"]["down"]))  # filters per down layer
    up: list[int] = field(default_factory=lambda: list(PRESETS["small"]["up"]))  # filters per up layer (before concat)
    resolution: int = 256  # input/output side; 2 ** len(down)
    in_channels: int = 1  # grey degraded input
    out_channels: int = 3  # RGB output in [-1, 1]
    leaky_slope: float = 0.2  # LeakyReLU slope of the down layers (Keras' default is 0.3)
    dropout: float = 0.5  # on the first `dropout_layers` up layers, training only
    dropout_layers: int = 3
    bn_eps: float = 1e-5  # BatchNorm epsilon (Keras uses 1e-3)

    def __post_init__(self):
        self.down, self.up = [int(x) for x in self.down], [int(x) for x in self.up]
        if not self.down or len(self.up) != len(self.down) - 1:
            raise ValueError(f"need n down and n-1 up filters, got {len(self.down)} down and {len(self.up)} up")
        if any(x < 1 for x in self.down + self.up):
            raise ValueError("filter counts must be positive")
        if self.resolution != 2 ** len(self.down):
            raise ValueError(
                f"resolution {self.resolution} needs {int(math.log2(max(self.resolution, 1)))} down layers, "
                f"got {len(self.down)}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GeneratorConfig:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})


MAX_RUN_SIZE = 4096


def check_run_size(cfg: GeneratorConfig, size: int) -> int:
    """`size` if the generator can run at size x size (fully convolutional: any multiple of
    2 ** down layers, e.g. 512 for a 256 model); else a ValueError that says which sizes can."""
    step = 2 ** len(cfg.down)
    if not isinstance(size, int) or size < step or size % step or size > MAX_RUN_SIZE:
        raise ValueError(
            f"size {size}: this model runs at multiples of {step} up to {MAX_RUN_SIZE} "
            f"(e.g. {cfg.resolution} or {2 * cfg.resolution})"
        )
    return size


def preset_config(name: str, **overrides) -> GeneratorConfig:
    """The GeneratorConfig of a named preset; an unknown name lists the valid ones."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return GeneratorConfig(down=list(PRESETS[name]["down"]), up=list(PRESETS[name]["up"]), **overrides)


def layer_shapes(cfg: GeneratorConfig) -> list[dict]:
    """Every conv layer of the generator in order: kind, in/out channels, input grid side."""
    layers, side = [], cfg.resolution
    d, u = cfg.down, cfg.up
    for i, cout in enumerate(d):
        layers.append({"kind": "down", "cin": cfg.in_channels if i == 0 else d[i - 1], "cout": cout, "in_side": side})
        side //= 2
    cin = d[-1]
    for i, cout in enumerate(u + [cfg.out_channels]):
        layers.append({"kind": "up", "cin": cin, "cout": cout, "in_side": side})
        side *= 2
        if i < len(u):
            cin = cout + d[-2 - i]
    return layers


def macs(cfg: GeneratorConfig) -> int:
    """Multiply-accumulates per frame; a transposed conv is counted on its input grid."""
    total = 0
    for layer in layer_shapes(cfg):
        out_side = layer["in_side"] // 2 if layer["kind"] == "down" else layer["in_side"]
        total += layer["cin"] * layer["cout"] * 16 * out_side * out_side
    return total


def param_counts(cfg: GeneratorConfig) -> dict:
    """{'params': Keras' Total params (trainable + BatchNorm running stats, the paper's count), 'trainable'}."""
    trainable = running = 0
    for i, layer in enumerate(layer_shapes(cfg)):
        trainable += layer["cin"] * layer["cout"] * 16
        last = i == len(layer_shapes(cfg)) - 1
        if last:
            trainable += layer["cout"]  # the final layer's bias
        elif not (layer["kind"] == "down" and i == 0):
            trainable += 2 * layer["cout"]  # BatchNorm gamma and beta
            running += 2 * layer["cout"]  # running mean and variance
    return {"params": trainable + running, "trainable": trainable}
