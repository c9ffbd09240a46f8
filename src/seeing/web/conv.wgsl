// conv.wgsl: one generator layer, 4x4 kernel, stride 2, pad 1: a Conv2d (KIND 0, "down") or a
// ConvTranspose2d (KIND 1, "up"), with bias and activation fused and the U-Net skip concatenation
// read from two buffers (channels [0, CA) from `a`, [CA, CIN) from `b`): nothing is copied.
//
// Layouts (T is f32, or f16 where the adapter has shader-f16; the engine rewrites the alias):
//   a, b, dst   activations, CHW, T
//   w           vec4<T> at ((c * 16 + ky * 4 + kx) * COUT4 + og): output channels 4og..4og+3
//               of input channel c (zero-padded past COUT); dequantized once at load
//   bias        vec4<f32> per output-channel group og
//   params      uniform, 16 bytes: smoothing (f32) then 12 bytes of padding
// Each invocation computes 4 output channels (one vec4) x 4 horizontally adjacent pixels:
// each weight load feeds 4 pixels and each input load several taps. Invocations are laid out
// pixel-group fastest, so neighbours share their weights (uniform loads, cache hits).
// ACT 2 is the output layer: tanh, then blended with the previous frame's output (temporal
// smoothing) in place in `dst`, which the present pass draws.
alias T = f32;

override KIND: u32 = 0u;    // 0 down (conv), 1 up (transposed conv)
override ACT: u32 = 0u;     // 0 leaky ReLU, 1 ReLU, 2 tanh + smoothing
override SLOPE: f32 = 0.2;
override CA: u32 = 1u;      // input channels read from `a`
override CIN: u32 = 1u;     // all input channels
override COUT: u32 = 1u;
override HIN: u32 = 2u;
override WIN: u32 = 2u;
override HOUT: u32 = 1u;
override WOUT: u32 = 1u;

struct Params { smoothing: f32, pad0: f32, pad1: f32, pad2: f32 }

@group(0) @binding(0) var<storage, read> a: array<T>;
@group(0) @binding(1) var<storage, read> b: array<T>;
@group(0) @binding(2) var<storage, read> w: array<vec4<T>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> dst: array<T>;
@group(0) @binding(5) var<uniform> params: Params;

// Input value at (c, y, x), zero outside the image (the padding).
fn load(c: u32, y: i32, x: i32) -> f32 {
  let inside = y >= 0 && y < i32(HIN) && x >= 0 && x < i32(WIN);
  let yy = u32(clamp(y, 0, i32(HIN) - 1));
  let xx = u32(clamp(x, 0, i32(WIN) - 1));
  var v: f32;
  if (c < CA) {
    v = f32(a[(c * HIN + yy) * WIN + xx]);
  } else {
    v = f32(b[((c - CA) * HIN + yy) * WIN + xx]);
  }
  return select(0.0, v, inside);
}

fn weight(c: u32, k: u32, og: u32) -> vec4f {
  return vec4f(w[(c * 16u + k) * ((COUT + 3u) / 4u) + og]);
}

fn activate(v: vec4f) -> vec4f {
  if (ACT == 0u) { return select(v * SLOPE, v, v > vec4f(0.0)); }
  if (ACT == 1u) { return max(v, vec4f(0.0)); }
  return tanh(clamp(v, vec4f(-12.0), vec4f(12.0)));  // clamped: tanh of a huge value may be NaN
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let xgroups = (WOUT + 3u) / 4u;
  let cout4 = (COUT + 3u) / 4u;
  let idx = gid.x + gid.y * nwg.x * 64u;
  let xg = idx % xgroups;
  let rest = idx / xgroups;
  let oy = rest % HOUT;
  let og = rest / HOUT;
  if (og >= cout4) { return; }
  let ox0 = xg * 4u;
  let b0 = bias[og];
  var acc = array<vec4f, 4>(b0, b0, b0, b0);

  if (KIND == 0u) {
    // out(y, x) = sum w[ky, kx] * in(2y - 1 + ky, 2x - 1 + kx): 4 pixels read 10 input columns
    let x0 = i32(ox0 * 2u) - 1;
    for (var c = 0u; c < CIN; c++) {
      for (var ky = 0u; ky < 4u; ky++) {
        let iy = i32(oy * 2u + ky) - 1;
        if (iy < 0 || iy >= i32(HIN)) { continue; }
        var row: array<f32, 10>;
        for (var j = 0; j < 10; j++) { row[j] = load(c, iy, x0 + j); }
        for (var kx = 0u; kx < 4u; kx++) {
          let wv = weight(c, ky * 4u + kx, og);
          acc[0] += wv * row[kx];
          acc[1] += wv * row[kx + 2u];
          acc[2] += wv * row[kx + 4u];
          acc[3] += wv * row[kx + 6u];
        }
      }
    }
  } else {
    // transposed: out(Y, X) gathers in(iy, ix) with Y = 2 iy - 1 + ky; by parity, even Y uses
    // (iy, ky) = (Y/2, 1), (Y/2 - 1, 3) and odd Y uses ((Y+1)/2, 0), ((Y-1)/2, 2); same for X.
    let my = i32(oy >> 1u);
    let odd = (oy & 1u) == 1u;
    let m0 = i32(ox0 >> 1u);
    for (var c = 0u; c < CIN; c++) {
      for (var t = 0u; t < 2u; t++) {
        var iy: i32;
        var ky: u32;
        if (odd) { iy = my + 1 - i32(t); ky = t * 2u; } else { iy = my - i32(t); ky = 1u + t * 2u; }
        if (iy < 0 || iy >= i32(HIN)) { continue; }
        let c0 = load(c, iy, m0 - 1);
        let c1 = load(c, iy, m0);
        let c2 = load(c, iy, m0 + 1);
        let c3 = load(c, iy, m0 + 2);
        let w0 = weight(c, ky * 4u, og);
        let w1 = weight(c, ky * 4u + 1u, og);
        let w2 = weight(c, ky * 4u + 2u, og);
        let w3 = weight(c, ky * 4u + 3u, og);
        acc[0] += w1 * c1 + w3 * c0;
        acc[1] += w0 * c2 + w2 * c1;
        acc[2] += w1 * c2 + w3 * c1;
        acc[3] += w0 * c3 + w2 * c2;
      }
    }
  }

  for (var p = 0u; p < 4u; p++) {
    let ox = ox0 + p;
    if (ox >= WOUT) { break; }
    let v = activate(acc[p]);
    for (var k = 0u; k < 4u; k++) {
      let ch = og * 4u + k;
      if (ch >= COUT) { break; }
      let i = (ch * HOUT + oy) * WOUT + ox;
      var o = v[k];
      if (ACT == 2u) { o = mix(o, f32(dst[i]), params.smoothing); }
      dst[i] = T(o);
    }
  }
}
