// degrade.wgsl: the live degradation on the GPU (DESIGN section 3), three entry points.
//   pool      one workgroup per grid cell: luma of the centre-cropped frame (already copied into
//             `frame`, side S) averaged over the cell's box [floor(g S / G), ceil((g+1) S / G)):
//             small = P X P^T, exactly the rows of the P matrix of degrade.py for this S.
//   mean      the mean of the upsampled image, (1/R^2) u^T small u with u the column sums of U.
//   upsample  x = U small U^T with U's four bicubic taps per row (indices clamped, as torch),
//             then brightness/contrast about the mean, clip to [0, 1], map to [-1, 1].
// params uniform (48 bytes): side, grid, res, pad (u32) | luma rgb + pad (vec4f) |
//                            brightness, contrast, pad, pad (f32)
alias T = f32;

struct Params { side: u32, grid: u32, res: u32, pad: u32, luma: vec4f, brightness: f32, contrast: f32, pad1: f32, pad2: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var frame: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> small: array<f32>;   // grid * grid, then the mean
@group(0) @binding(3) var<storage, read> tapIdx: array<vec4u>;     // per output row: 4 grid indices
@group(0) @binding(4) var<storage, read> tapW: array<vec4f>;       // per output row: 4 weights
@group(0) @binding(5) var<storage, read> colsum: array<f32>;       // grid: column sums of U
@group(0) @binding(6) var<storage, read_write> degraded: array<T>; // res * res in [-1, 1]

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn pool(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let G = params.grid;
  let S = params.side;
  let cell = wid.x;
  let g = cell / G;
  let h = cell % G;
  let y0 = g * S / G;
  let y1 = ((g + 1u) * S + G - 1u) / G;
  let x0 = h * S / G;
  let x1 = ((h + 1u) * S + G - 1u) / G;
  let wx = x1 - x0;
  let n = (y1 - y0) * wx;
  var sum = 0.0;
  for (var k = lid; k < n; k += 64u) {
    let rgb = textureLoad(frame, vec2u(x0 + k % wx, y0 + k / wx), 0).rgb;
    sum += dot(rgb, params.luma.rgb);
  }
  partial[lid] = sum;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { small[cell] = partial[0] / f32(n); }
}

@compute @workgroup_size(1)
fn mean() {
  let G = params.grid;
  var m = 0.0;
  for (var g = 0u; g < G; g++) {
    var row = 0.0;
    for (var h = 0u; h < G; h++) { row += small[g * G + h] * colsum[h]; }
    m += colsum[g] * row;
  }
  let r = f32(params.res);
  small[G * G] = m / (r * r);
}

@compute @workgroup_size(64)
fn upsample(@builtin(global_invocation_id) gid: vec3u) {
  let R = params.res;
  let G = params.grid;
  if (gid.x >= R * R) { return; }
  let r = gid.x / R;
  let c = gid.x % R;
  let ri = tapIdx[r];
  let rw = tapW[r];
  let ci = tapIdx[c];
  let cw = tapW[c];
  var x = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let base = ri[i] * G;
    let row = small[base + ci.x] * cw.x + small[base + ci.y] * cw.y + small[base + ci.z] * cw.z + small[base + ci.w] * cw.w;
    x += rw[i] * row;
  }
  let m = small[G * G];
  let y = clamp(params.brightness * ((x - m) * params.contrast + m), 0.0, 1.0);
  degraded[gid.x] = T(y * 2.0 - 1.0);
}
