"""A contact sheet of `seeing data synth` worlds: one row of thumbnails per kind, its name on the left.

.venv/bin/python scripts/synth_sheet.py [docs/img/synth-worlds.png] [--kinds waves,clouds] [-n 8]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from seeing.files import atomic_write
from seeing.synth import make_image, png_bytes

ROOT = Path(__file__).resolve().parents[1]


def sheet(kinds, n: int, thumb: int, seed: int) -> np.ndarray:
    """(rows * thumb, label + n * thumb, 3) uint8: image i of each kind, drawn at 256 px and shrunk."""
    label, gap = 90, 4
    out = Image.new("RGB", (label + n * (thumb + gap), len(kinds) * (thumb + gap)), (24, 24, 24))
    draw = ImageDraw.Draw(out)
    for r, kind in enumerate(kinds):
        y = r * (thumb + gap)
        draw.text((8, y + thumb // 2 - 6), kind, fill=(230, 230, 230))
        for i in range(n):
            img = Image.fromarray(make_image(kind, seed, i)).resize((thumb, thumb), Image.LANCZOS)
            out.paste(img, (label + i * (thumb + gap), y))
    return np.asarray(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", default=str(ROOT / "docs/img/synth-worlds.png"))
    p.add_argument("--kinds", default="waves,clouds,flowers,nebula,aurora,marble", help="comma-separated kinds")
    p.add_argument("-n", type=int, default=8, help="thumbnails per kind")
    p.add_argument("--thumb", type=int, default=128, help="thumbnail side in pixels")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    atomic_write(Path(a.out), [png_bytes(sheet(a.kinds.split(","), a.n, a.thumb, a.seed))])
    print(a.out)


if __name__ == "__main__":
    main()
