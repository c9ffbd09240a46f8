"""The README gallery: a strip per bundled world, degraded input | output, for a few ordinary photos.

    python scripts/gallery.py [--models src/seeing/models] [--out docs/img]

Each photo (scikit-image's bundled ones, as `seeing quality` uses) goes through the model's own live
degradation, as a camera frame would, then through the model (uint8 file, Python runtime). Rerun it
whenever the bundled models change; it writes docs/img/gallery-NAME.png per model.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from seeing.files import atomic_write
from seeing.quality import ordinary_photos
from seeing.runtime import Runtime, to_uint8

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = (0, 5, 3, 10)  # indices into seeing.quality.PHOTOS: astronaut, coins, chelsea, rocket
SIDE = 192  # px per tile in the strip


def strip(model: Path, photos: list[np.ndarray]) -> np.ndarray:
    """(SIDE, 2 * SIDE * len(photos), 3) uint8: degraded input | output per photo, 4 px gaps."""
    rt = Runtime(model)
    tiles = []
    for photo in photos:
        x = rt.degrade(photo)  # (R, R) on [-1, 1]
        out = rt.run_degraded(x[None, None])[0]
        for t in (np.repeat(to_uint8(x[None]), 3, axis=2), to_uint8(out)):
            tiles.append(np.asarray(Image.fromarray(t).resize((SIDE, SIDE), Image.LANCZOS)))
        tiles.append(np.full((SIDE, 4, 3), 24, np.uint8))
    return np.concatenate(tiles[:-1], axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=str(ROOT / "src" / "seeing" / "models"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    a = ap.parse_args()
    everything = ordinary_photos()
    if not everything:
        raise SystemExit("scikit-image is needed for the photos: pip install -e '.[dev]'")
    photos = [everything[i] for i in PHOTOS]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for model in sorted(Path(a.models).glob("*.safetensors")):
        buf = io.BytesIO()
        Image.fromarray(strip(model, photos)).save(buf, format="PNG", optimize=True)
        atomic_write(out / f"gallery-{model.stem}.png", [buf.getvalue()])
        print(f"wrote {out / f'gallery-{model.stem}.png'}")


if __name__ == "__main__":
    main()
