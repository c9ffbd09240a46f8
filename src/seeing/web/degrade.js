// degrade.js: the bicubic matrix of src/seeing/degrade.py, same formula (DESIGN section 3). For a grey
// S x S image X the blurred image is M X M^T with M = U P: P holds adaptive_avg_pool2d weights (grid x S,
// computed in the kernels: degrade.wgsl, kernels.c), U torch's bicubic weights (R x grid, built here:
// A = -0.75, align_corners=False, edge indices clamped), row-major Float64Array.

function cubic(x, a) {
  x = Math.abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/** (dst x src) weights of torch bicubic interpolation, align_corners=False, indices clamped. */
export function bicubicMatrix(src, dst, a = -0.75) {
  const m = new Float64Array(dst * src);
  const scale = src / dst;
  for (let i = 0; i < dst; i++) {
    const x = scale * (i + 0.5) - 0.5;
    const x0 = Math.floor(x), t = x - x0;
    const ws = [cubic(t + 1, a), cubic(t, a), cubic(1 - t, a), cubic(2 - t, a)];
    for (let k = -1; k < 3; k++) {
      const j = Math.min(Math.max(x0 + k, 0), src - 1);
      m[i * src + j] += ws[k + 1];
    }
  }
  return m;
}
