"""Build the CPU engine's .wasm variants from kernels.c with the `ziglang` package (deterministic).

Four variants, chosen by the page at run time:
    seeing-relaxed-mt.wasm  relaxed SIMD (fused multiply-add), shared memory for worker threads
    seeing-simd-mt.wasm     plain SIMD128, shared memory
    seeing-relaxed.wasm     relaxed SIMD, ordinary memory (page not cross-origin isolated)
    seeing-simd.wasm        plain SIMD128, ordinary memory
Usage: python -m tools.wasm.build [OUT_DIR]   (default: src/seeing/web)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "kernels.c"
WEB = HERE.parents[1] / "src" / "seeing" / "web"
MAX_MEMORY = 1 << 30  # 1 GiB: the large preset's float32 weights plus activations fit with room to spare
VARIANTS = {
    "seeing-relaxed-mt.wasm": (True, True),
    "seeing-simd-mt.wasm": (False, True),
    "seeing-relaxed.wasm": (True, False),
    "seeing-simd.wasm": (False, False),
}


def flags(relaxed: bool, threads: bool) -> list[str]:
    f = [
        "--target=wasm32-freestanding",
        "-O3",
        "-msimd128",
        "-mbulk-memory",
        "-nostdlib",
        "-ffp-contract=off",
        "-Wl,--no-entry",
        "-Wl,--import-memory",
        f"-Wl,--max-memory={MAX_MEMORY}",
        "-Wl,-z,stack-size=65536",
        "-Wl,--strip-debug",
    ]
    if relaxed:
        f += ["-mrelaxed-simd", "-DRELAXED"]
    if threads:
        # shared imported memory: atomics for the barrier, passive data segments initialised once
        f += ["-matomics", "-DTHREADS", "-Wl,--shared-memory"]
    return f


def build(out_dir: Path = WEB) -> list[Path]:
    """Compile every variant into out_dir; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (relaxed, threads) in VARIANTS.items():
        out = out_dir / name
        cmd = [sys.executable, "-m", "ziglang", "cc", *flags(relaxed, threads), "-o", str(out), str(SOURCE)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"building {name} failed:\n{res.stderr}")
        paths.append(out)
    return paths


if __name__ == "__main__":
    for p in build(Path(sys.argv[1]) if len(sys.argv) > 1 else WEB):
        print(f"{p} ({p.stat().st_size} bytes)")
