// degrade.js: the degradation matrices of src/seeing/degrade.py, same formulas (DESIGN section 3).
// For a grey S x S image X the blurred image is M X M^T with M = U P (R x S): P holds
// adaptive_avg_pool2d weights (grid x S), U torch's bicubic weights (R x grid, A = -0.75,
// align_corners=False, edge indices clamped). Matrices are row-major Float64Array.

/** (dst x src) adaptive-average weights: row i averages [floor(i*src/dst), ceil((i+1)*src/dst)). */
export function poolMatrix(src, dst) {
  const m = new Float64Array(dst * src);
  for (let i = 0; i < dst; i++) {
    const start = Math.floor((i * src) / dst), end = Math.ceil(((i + 1) * src) / dst);
    for (let j = start; j < end; j++) m[i * src + j] = 1 / (end - start);
  }
  return m;
}

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

/** M = U P, (R x S) row-major, so that the blurred grey image is M X M^T. */
export function blurMatrix(src, deg) {
  const R = deg.resolution, G = deg.grid;
  const U = bicubicMatrix(G, R, deg.bicubic_a), P = poolMatrix(src, G);
  const M = new Float64Array(R * src);
  for (let r = 0; r < R; r++)
    for (let g = 0; g < G; g++) {
      const u = U[r * G + g];
      if (u === 0) continue;
      for (let s = 0; s < src; s++) M[r * src + s] += u * P[g * src + s];
    }
  return M;
}

/** (top, left, side) of the centred square crop of a frame. */
export function centerCropBox(height, width) {
  const side = Math.min(height, width);
  return { top: Math.floor((height - side) / 2), left: Math.floor((width - side) / 2), side };
}

/**
 * Reference degradation on the CPU (used for checks and by engines without a GPU path):
 * RGBA uint8 (height x width) -> Float32Array (R*R) in [-1, 1].
 */
export function degradeFrame(rgba, width, height, deg, brightness = 1, contrast = 1) {
  const { top, left, side } = centerCropBox(height, width);
  const [lr, lg, lb] = deg.luma;
  const R = deg.resolution, G = deg.grid;
  // P X P^T first (grid x grid), then U (.) U^T: the same product, far fewer operations.
  const P = poolMatrix(side, G), U = bicubicMatrix(G, R, deg.bicubic_a);
  const rows = new Float64Array(G * side); // P X
  for (let y = 0; y < side; y++) {
    const rowOff = ((top + y) * width + left) * 4;
    for (let g = 0; g < G; g++) {
      const p = P[g * side + y];
      if (p === 0) continue;
      for (let x = 0; x < side; x++) {
        const o = rowOff + x * 4;
        rows[g * side + x] += p * ((lr * rgba[o] + lg * rgba[o + 1] + lb * rgba[o + 2]) / 255);
      }
    }
  }
  const small = new Float64Array(G * G); // P X P^T
  for (let g = 0; g < G; g++)
    for (let h = 0; h < G; h++) {
      let s = 0;
      for (let x = 0; x < side; x++) s += rows[g * side + x] * P[h * side + x];
      small[g * G + h] = s;
    }
  const tmp = new Float64Array(R * G); // U S
  for (let r = 0; r < R; r++)
    for (let h = 0; h < G; h++) {
      let s = 0;
      for (let g = 0; g < G; g++) s += U[r * G + g] * small[g * G + h];
      tmp[r * G + h] = s;
    }
  const x = new Float64Array(R * R);
  let mean = 0;
  for (let r = 0; r < R; r++)
    for (let c = 0; c < R; c++) {
      let s = 0;
      for (let h = 0; h < G; h++) s += tmp[r * G + h] * U[c * G + h];
      x[r * R + c] = s;
      mean += s;
    }
  mean /= R * R;
  const out = new Float32Array(R * R);
  for (let i = 0; i < R * R; i++) {
    const y = Math.min(Math.max(brightness * ((x[i] - mean) * contrast + mean), 0), 1);
    out[i] = y * 2 - 1;
  }
  return out;
}
