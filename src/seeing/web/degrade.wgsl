// degrade.wgsl: the live degradation on the GPU (DESIGN section 3), five entry points, in order.
//   poolrows  one invocation per (frame row y, grid column h): the luma of the centre-cropped
//             frame (already copied into `frame`, side S) summed over the column box
//             [floor(h S / G), ceil((h+1) S / G)) into rowsum[y G + h].
//   poolcells one invocation per grid cell: rowsum summed over the row box, over the box's area:
//             small = P X P^T, exactly the rows of the P matrix of degrade.py for this S.
//   mean      the mean of the upsampled image, (1/R^2) u^T small u with u the column sums of U.
//   upcols    tmp = small U^T (grid x res), U's four bicubic taps per row (indices clamped, as torch).
//   upsample  x = U tmp, four pixels of a row per invocation, then brightness/contrast about the
//             mean, clip to [0, 1], map to [-1, 1].
// Separable passes without workgroup barriers: software adapters run barriers slowly.
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
@group(0) @binding(7) var<storage, read_write> rowsum: array<f32>; // side * grid
@group(0) @binding(8) var<storage, read_write> tmp: array<f32>;    // grid * res

@compute @workgroup_size(64)
fn poolrows(@builtin(global_invocation_id) gid: vec3u) {
  let G = params.grid;
  let S = params.side;
  if (gid.x >= S * G) { return; }
  let y = gid.x / G;
  let h = gid.x % G;
  let x0 = h * S / G;
  let x1 = ((h + 1u) * S + G - 1u) / G;
  var sum = 0.0;
  for (var x = x0; x < x1; x++) { sum += dot(textureLoad(frame, vec2u(x, y), 0).rgb, params.luma.rgb); }
  rowsum[gid.x] = sum;
}

@compute @workgroup_size(64)
fn poolcells(@builtin(global_invocation_id) gid: vec3u) {
  let G = params.grid;
  let S = params.side;
  if (gid.x >= G * G) { return; }
  let g = gid.x / G;
  let h = gid.x % G;
  let y0 = g * S / G;
  let y1 = ((g + 1u) * S + G - 1u) / G;
  let x0 = h * S / G;
  let x1 = ((h + 1u) * S + G - 1u) / G;
  var sum = 0.0;
  for (var y = y0; y < y1; y++) { sum += rowsum[y * G + h]; }
  small[gid.x] = sum / f32((y1 - y0) * (x1 - x0));
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
fn upcols(@builtin(global_invocation_id) gid: vec3u) {
  let R = params.res;
  let G = params.grid;
  if (gid.x >= G * R) { return; }
  let g = gid.x / R;
  let c = gid.x % R;
  let ci = tapIdx[c] + vec4u(g * G);
  tmp[gid.x] = dot(vec4f(small[ci.x], small[ci.y], small[ci.z], small[ci.w]), tapW[c]);
}

@compute @workgroup_size(64)
fn upsample(@builtin(global_invocation_id) gid: vec3u) {
  let R = params.res;
  let R4 = (R + 3u) / 4u;
  if (gid.x >= R * R4) { return; }
  let r = gid.x / R4;
  let c0 = (gid.x % R4) * 4u;
  let ri = tapIdx[r] * R;
  let rw = tapW[r];
  let m = small[params.grid * params.grid];
  for (var k = 0u; k < 4u; k++) {
    let c = c0 + k;
    if (c >= R) { break; }
    let x = dot(vec4f(tmp[ri.x + c], tmp[ri.y + c], tmp[ri.z + c], tmp[ri.w + c]), rw);
    let y = clamp(params.brightness * ((x - m) * params.contrast + m), 0.0, 1.0);
    degraded[r * R + c] = T(y * 2.0 - 1.0);
  }
}
