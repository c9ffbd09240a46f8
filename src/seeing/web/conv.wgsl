// conv.wgsl: one generator layer, 4x4 kernel, stride 2, pad 1: a Conv2d (KIND 0, "down") or a
// ConvTranspose2d (KIND 1, "up"), with bias and activation fused and the U-Net skip concatenation
// read from two buffers (channels [0, CA) from `a`, [CA, CIN) from `b`): nothing is copied.
//
// Layouts (T is f32, or f16 where the adapter has shader-f16; the engine rewrites the alias):
//   a, b, dst   activations, CHW, T
//   w           mat4x4<T> at ((c * 4 + ky) * COUT4 + og): column kx holds output channels
//               4og..4og+3 of input channel c at tap (ky, kx) (zero past COUT); dequantized at load
//   bias        vec4<f32> per output-channel group og
//   params      uniform, 16 bytes: smoothing (f32) then 12 bytes of padding
//   scratch     vec4<f32> partial sums ((s * COUT4 + og) * HOUT + y) * WOUT + x (SPLIT > 1 only)
//
// Each invocation computes 4 output channels (one vec4) x PX (4 or 8) horizontally adjacent
// pixels, so each weight load feeds PX pixels and each input load several taps. Software adapters (SwiftShader)
// run 4 invocations per SIMD op and load storage per lane, so the kernel keeps loads few and
// everything else branch-free: column indices and padding masks are computed once per
// invocation, the input loop runs once over `a` and once over `b` (no per-load branch), and the
// accumulators live in registers (constant indices only).
// Deep layers with few output pixels split the input channels into SPLIT slices (more
// invocations, so every core has work): `main` writes each slice's partial sums to `scratch`,
// and `finish` adds them up with the bias and the activation.
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
override SPLIT: u32 = 1u;   // input-channel slices (1: no scratch, bias and activation here)
override CPS: u32 = 1u;     // input channels per slice, ceil(CIN / SPLIT)
override PX: u32 = 4u;      // output pixels per invocation: 4, or 8 for wide layers

struct Params { smoothing: f32, pad0: f32, pad1: f32, pad2: f32 }

@group(0) @binding(0) var<storage, read> a: array<T>;
@group(0) @binding(1) var<storage, read> b: array<T>;
@group(0) @binding(2) var<storage, read> w: array<mat4x4<T>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> dst: array<T>;
@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read_write> scratch: array<vec4f>;

// PX output pixels x four output channels (p4..p7 stay zero unless PX is 8).
struct Acc { p0: vec4f, p1: vec4f, p2: vec4f, p3: vec4f, p4: vec4f, p5: vec4f, p6: vec4f, p7: vec4f }

fn activate(v: vec4f) -> vec4f {
  if (ACT == 0u) { return select(v * SLOPE, v, v > vec4f(0.0)); }
  if (ACT == 1u) { return max(v, vec4f(0.0)); }
  return tanh(clamp(v, vec4f(-12.0), vec4f(12.0)));  // clamped: tanh of a huge value may be NaN
}

// Down: output x = ox0 + p reads input columns 2 ox0 - 1 + 2p + kx, i.e. a row of 2 PX + 2
// values (ra, rb, rc, rd, re); m's columns are the 4 kx taps: one matrix-vector product a pixel.
fn down_row(acc: ptr<function, Acc>, m: mat4x4f, ra: vec4f, rb: vec4f, rc: vec4f, rd: vec4f, re: vec2f) {
  (*acc).p0 += m * ra;
  (*acc).p1 += m * vec4f(ra.zw, rb.xy);
  (*acc).p2 += m * rb;
  (*acc).p3 += m * vec4f(rb.zw, rc.xy);
  if (PX == 8u) {
    (*acc).p4 += m * rc;
    (*acc).p5 += m * vec4f(rc.zw, rd.xy);
    (*acc).p6 += m * rd;
    (*acc).p7 += m * vec4f(rd.zw, re);
  }
}

// Up (transposed): out(Y, X) gathers in(iy, ix) with X = 2 ix - 1 + kx; by parity, even X uses
// (X/2, kx 1) and (X/2 - 1, kx 3), odd X uses ((X+1)/2, kx 0) and ((X-1)/2, kx 2). r holds the
// input columns ox0/2 - 1 .. ox0/2 + 2, s the next two.
fn up_row(acc: ptr<function, Acc>, m: mat4x4f, r: vec4f, s: vec2f) {
  (*acc).p0 += m[1] * r.y + m[3] * r.x;
  (*acc).p1 += m[0] * r.z + m[2] * r.y;
  (*acc).p2 += m[1] * r.z + m[3] * r.y;
  (*acc).p3 += m[0] * r.w + m[2] * r.z;
  if (PX == 8u) {
    (*acc).p4 += m[1] * r.w + m[3] * r.z;
    (*acc).p5 += m[0] * s.x + m[2] * r.w;
    (*acc).p6 += m[1] * s.x + m[3] * r.w;
    (*acc).p7 += m[0] * s.y + m[2] * s.x;
  }
}

fn store(acc: vec4f, og: u32, oy: u32, ox: u32) {
  let v = activate(acc);
  for (var k = 0u; k < 4u; k++) {
    let ch = og * 4u + k;
    if (ch >= COUT) { break; }
    let i = (ch * HOUT + oy) * WOUT + ox;
    var o = v[k];
    if (ACT == 2u) { o = mix(o, f32(dst[i]), params.smoothing); }
    dst[i] = T(o);
  }
}

fn put(acc: vec4f, s: u32, og: u32, oy: u32, ox: u32, b0: vec4f) {
  if (ox >= WOUT) { return; }
  if (SPLIT == 1u) {
    store(acc + b0, og, oy, ox);
  } else {
    scratch[((s * ((COUT + 3u) / 4u) + og) * HOUT + oy) * WOUT + ox] = acc;
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let xgroups = (WOUT + PX - 1u) / PX;
  let cout4 = (COUT + 3u) / 4u;
  let idx = gid.x + gid.y * nwg.x * 64u;
  let xg = idx % xgroups;
  var rest = idx / xgroups;
  let oy = rest % HOUT;
  rest = rest / HOUT;
  let og = rest % cout4;
  let s = rest / cout4;
  if (s >= SPLIT) { return; }
  let c0 = s * CPS;
  let c1 = min(c0 + CPS, CIN);
  let ox0 = xg * PX;
  let plane = HIN * WIN;
  let z = vec4f(0.0);
  var acc = Acc(z, z, z, z, z, z, z, z);

  if (KIND == 0u) {
    // the 2 PX + 2 input columns of this invocation, clamped, and 0/1 masks for the padding
    let x0 = i32(ox0 * 2u) - 1;
    let wmax = vec4i(i32(WIN) - 1);
    let xa = vec4i(x0) + vec4i(0, 1, 2, 3);
    let xb = xa + vec4i(4);
    let xc = xa + vec4i(8);
    let xd = xa + vec4i(12);
    let xe = xa.xy + vec2i(16);
    let ia = vec4u(clamp(xa, vec4i(0), wmax));
    let ib = vec4u(clamp(xb, vec4i(0), wmax));
    let ic = vec4u(clamp(xc, vec4i(0), wmax));
    let id = vec4u(clamp(xd, vec4i(0), wmax));
    let ie = vec2u(clamp(xe, vec2i(0), wmax.xy));
    let ma = select(vec4f(0.0), vec4f(1.0), vec4i(ia) == xa);
    let mb = select(vec4f(0.0), vec4f(1.0), vec4i(ib) == xb);
    let mc = select(vec4f(0.0), vec4f(1.0), vec4i(ic) == xc);
    let md = select(vec4f(0.0), vec4f(1.0), vec4i(id) == xd);
    let me = select(vec2f(0.0), vec2f(1.0), vec2i(ie) == xe);
    for (var ky = 0u; ky < 4u; ky++) {
      let iy = i32(oy * 2u + ky) - 1;
      if (iy < 0 || iy >= i32(HIN)) { continue; }
      let row = u32(iy) * WIN;
      for (var c = c0; c < min(c1, CA); c++) {
        let o = c * plane + row;
        let ra = vec4f(f32(a[o + ia.x]), f32(a[o + ia.y]), f32(a[o + ia.z]), f32(a[o + ia.w])) * ma;
        let rb = vec4f(f32(a[o + ib.x]), f32(a[o + ib.y]), f32(a[o + ib.z]), f32(a[o + ib.w])) * mb;
        var rc = vec4f(f32(a[o + ic.x]), f32(a[o + ic.y]), 0.0, 0.0);
        var rd = vec4f(0.0);
        var re = vec2f(0.0);
        if (PX == 8u) {
          rc = vec4f(rc.xy, f32(a[o + ic.z]), f32(a[o + ic.w]));
          rd = vec4f(f32(a[o + id.x]), f32(a[o + id.y]), f32(a[o + id.z]), f32(a[o + id.w])) * md;
          re = vec2f(f32(a[o + ie.x]), f32(a[o + ie.y])) * me;
        }
        down_row(&acc, mat4x4f(w[(c * 4u + ky) * cout4 + og]), ra, rb, rc * mc, rd, re);
      }
      for (var c = max(c0, CA); c < c1; c++) {
        let o = (c - CA) * plane + row;
        let ra = vec4f(f32(b[o + ia.x]), f32(b[o + ia.y]), f32(b[o + ia.z]), f32(b[o + ia.w])) * ma;
        let rb = vec4f(f32(b[o + ib.x]), f32(b[o + ib.y]), f32(b[o + ib.z]), f32(b[o + ib.w])) * mb;
        var rc = vec4f(f32(b[o + ic.x]), f32(b[o + ic.y]), 0.0, 0.0);
        var rd = vec4f(0.0);
        var re = vec2f(0.0);
        if (PX == 8u) {
          rc = vec4f(rc.xy, f32(b[o + ic.z]), f32(b[o + ic.w]));
          rd = vec4f(f32(b[o + id.x]), f32(b[o + id.y]), f32(b[o + id.z]), f32(b[o + id.w])) * md;
          re = vec2f(f32(b[o + ie.x]), f32(b[o + ie.y])) * me;
        }
        down_row(&acc, mat4x4f(w[(c * 4u + ky) * cout4 + og]), ra, rb, rc * mc, rd, re);
      }
    }
  } else {
    // rows: even Y uses (iy, ky) = (Y/2, 1), (Y/2 - 1, 3); odd Y ((Y+1)/2, 0), ((Y-1)/2, 2)
    let my = i32(oy >> 1u);
    let odd = (oy & 1u) == 1u;
    let xr = vec4i(i32(ox0 >> 1u) - 1) + vec4i(0, 1, 2, 3);
    let xs = xr.zw + vec2i(2);
    let wmax = i32(WIN) - 1;
    let ir = vec4u(clamp(xr, vec4i(0), vec4i(wmax)));
    let iq = vec2u(clamp(xs, vec2i(0), vec2i(wmax)));
    let mr = select(vec4f(0.0), vec4f(1.0), vec4i(ir) == xr);
    let ms = select(vec2f(0.0), vec2f(1.0), vec2i(iq) == xs);
    for (var t = 0u; t < 2u; t++) {
      let iy = select(my - i32(t), my + 1 - i32(t), odd);
      let ky = select(1u + t * 2u, t * 2u, odd);
      if (iy < 0 || iy >= i32(HIN)) { continue; }
      let row = u32(iy) * WIN;
      for (var c = c0; c < min(c1, CA); c++) {
        let o = c * plane + row;
        let r = vec4f(f32(a[o + ir.x]), f32(a[o + ir.y]), f32(a[o + ir.z]), f32(a[o + ir.w])) * mr;
        var q = vec2f(0.0);
        if (PX == 8u) { q = vec2f(f32(a[o + iq.x]), f32(a[o + iq.y])) * ms; }
        up_row(&acc, mat4x4f(w[(c * 4u + ky) * cout4 + og]), r, q);
      }
      for (var c = max(c0, CA); c < c1; c++) {
        let o = (c - CA) * plane + row;
        let r = vec4f(f32(b[o + ir.x]), f32(b[o + ir.y]), f32(b[o + ir.z]), f32(b[o + ir.w])) * mr;
        var q = vec2f(0.0);
        if (PX == 8u) { q = vec2f(f32(b[o + iq.x]), f32(b[o + iq.y])) * ms; }
        up_row(&acc, mat4x4f(w[(c * 4u + ky) * cout4 + og]), r, q);
      }
    }
  }

  let b0 = bias[og];
  put(acc.p0, s, og, oy, ox0, b0);
  put(acc.p1, s, og, oy, ox0 + 1u, b0);
  put(acc.p2, s, og, oy, ox0 + 2u, b0);
  put(acc.p3, s, og, oy, ox0 + 3u, b0);
  if (PX == 8u) {
    put(acc.p4, s, og, oy, ox0 + 4u, b0);
    put(acc.p5, s, og, oy, ox0 + 5u, b0);
    put(acc.p6, s, og, oy, ox0 + 6u, b0);
    put(acc.p7, s, og, oy, ox0 + 7u, b0);
  }
}

// SPLIT > 1: one invocation per (output-channel group, pixel) sums the slices' partial sums.
@compute @workgroup_size(64)
fn finish(@builtin(global_invocation_id) gid: vec3u) {
  let cout4 = (COUT + 3u) / 4u;
  let n = HOUT * WOUT;
  if (gid.x >= cout4 * n) { return; }
  let og = gid.x / n;
  let p = gid.x % n;
  var v = bias[og];
  for (var s = 0u; s < SPLIT; s++) { v += scratch[(s * cout4 + og) * n + p]; }
  store(v, og, p / WOUT, p % WOUT);
}
