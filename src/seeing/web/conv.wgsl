// conv.wgsl: one generator layer, 4x4 kernel, stride 2, pad 1: a Conv2d (KIND 0, "down") or a
// ConvTranspose2d (KIND 1, "up"), with bias and activation fused and the U-Net skip concatenation
// read from two buffers (channels [0, CA) from `a`, [CA, CIN) from `b`): nothing is copied.
//
// Layouts (T is f32, or f16 where the adapter has shader-f16; the engine rewrites the alias):
//   a, b, dst   activations, CHW, T
//   w           mat4x4<T> at ((c * 4 + ky) * COUT4 + og): column kx holds output channels
//               4og..4og+3 of input channel c at tap (ky, kx) (zero past COUT); dequantized at load
//   bias        vec4<f32> per output-channel group og; with QW, then qa and qb per group
//   wq          (QW) vec4<u32> at the same index as w: column kx packs 4 output channels' uint8
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
// Tried on SwiftShader and dropped (sum of per-dispatch minima over 15-20 runs, medium, back to
// back): f16 weight pairs in u32 via unpack2x16float, 118 vs 98 ms (half the weight loads, but the
// unpack costs more); the same pairs decoded with bit operations (shift, 2^112 rebias, sign), 138
// vs 100 ms; two output-channel groups per invocation (NC 2, since removed) with a 128-invocation
// slice target, 95 vs 99 ms but no gain per frame.
// What did pay (docs/BENCHMARKS.md): Chromium's SwiftShader (Subzero JIT) emulates every storage
// load lane by lane, and stubbing the weight loads out made small 36 % faster, the row loads 31 %.
// So lanes share loads through subgroups of 4 (SG), uint8 weights stay packed 4 to a u32 (QW,
// decoded with unpack4x8unorm: shifts and masks measured slower), and PY 2 loads the input rows
// that its two output rows share once.
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
override PX: u32 = 4u;      // output pixels per invocation in a row: 1, 2, 4, or 8 for wide layers
override PY: u32 = 1u;      // output rows per invocation: 1, or 2 (same weights, twice the use)
// SG: subgroups of 4 consecutive invocations (SwiftShader) share loads through subgroupBroadcast.
// 0 none; 1 the 4 lanes take adjacent pixel groups of one channel group and each loads one column
// of the weight matrix; 2 the 4 lanes take 4 channel groups of the same pixels and each loads a
// quarter of every input row. The engine's prelude defines sg_mat and sg4 (stubs without subgroups).
override SG: u32 = 0u;
override QW: u32 = 0u;      // 1: uint8 weights from `wq`, 4 output channels to a u32, dequantized as used
override SMOOTH: u32 = 1u;  // ACT 2: blend with the previous output (the engine picks 0 when smoothing is off)

struct Params { smoothing: f32, pad0: f32, pad1: f32, pad2: f32 }

@group(0) @binding(0) var<storage, read> a: array<T>;
@group(0) @binding(1) var<storage, read> b: array<T>;
@group(0) @binding(2) var<storage, read> w: array<mat4x4<T>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> dst: array<T>;
@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read_write> scratch: array<vec4f>;
@group(0) @binding(7) var<storage, read> wq: array<vec4u>;

// PX output pixels x four output channels (p4..p7 stay zero unless PX is 8).
struct Acc { p0: vec4f, p1: vec4f, p2: vec4f, p3: vec4f, p4: vec4f, p5: vec4f, p6: vec4f, p7: vec4f }

fn activate(v: vec4f) -> vec4f {
  if (ACT == 0u) { return select(v * SLOPE, v, v > vec4f(0.0)); }
  if (ACT == 1u) { return max(v, vec4f(0.0)); }
  return tanh_fast(v);
}

// tanh as an odd rational function of the clamped input (the minimax fit used by Eigen and XLA, and by
// the CPU engine): max |error| 4e-7, |result| <= 1, no NaN for huge inputs. A software adapter's
// tanh costs an exp and a division per lane; this is a dozen multiply-adds and one division.
fn tanh_fast(v: vec4f) -> vec4f {
  let x = clamp(v, vec4f(-7.90531110763549805), vec4f(7.90531110763549805));
  let x2 = x * x;
  var p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13;
  p = p * x2 + -8.60467152213735e-11;
  p = p * x2 + 5.12229709037114e-08;
  p = p * x2 + 1.48572235717979e-05;
  p = p * x2 + 6.37261928875436e-04;
  p = p * x2 + 4.89352455891786e-03;
  var q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04;
  q = q * x2 + 2.26843463243900e-03;
  q = q * x2 + 4.89352518554385e-03;
  return x * p / q;
}

// Down: output x = ox0 + p reads input columns 2 ox0 - 1 + 2p + kx, i.e. a row of 2 PX + 2
// values; m's columns are the 4 kx taps: one matrix-vector product a pixel.
struct Row { a: vec4f, b: vec4f, c: vec4f, d: vec4f, e: vec2f }

fn down_row(acc: ptr<function, Acc>, m: mat4x4f, r: Row) {
  (*acc).p0 += m * r.a;
  if (PX >= 2u) { (*acc).p1 += m * vec4f(r.a.zw, r.b.xy); }
  if (PX >= 4u) {
    (*acc).p2 += m * r.b;
    (*acc).p3 += m * vec4f(r.b.zw, r.c.xy);
  }
  if (PX == 8u) {
    (*acc).p4 += m * r.c;
    (*acc).p5 += m * vec4f(r.c.zw, r.d.xy);
    (*acc).p6 += m * r.d;
    (*acc).p7 += m * vec4f(r.d.zw, r.e);
  }
}

// Up (transposed): out(Y, X) gathers in(iy, ix) with X = 2 ix - 1 + kx; by parity, even X uses
// (X/2, kx 1) and (X/2 - 1, kx 3), odd X uses ((X+1)/2, kx 0) and ((X-1)/2, kx 2). r.a holds the
// input columns ox0/2 - 1 .. ox0/2 + 2, r.e.xy the next two.
fn up_row(acc: ptr<function, Acc>, m: mat4x4f, r: Row) {
  (*acc).p0 += m[1] * r.a.y + m[3] * r.a.x;
  if (PX >= 2u) { (*acc).p1 += m[0] * r.a.z + m[2] * r.a.y; }
  if (PX >= 4u) {
    (*acc).p2 += m[1] * r.a.z + m[3] * r.a.y;
    (*acc).p3 += m[0] * r.a.w + m[2] * r.a.z;
  }
  if (PX == 8u) {
    (*acc).p4 += m[1] * r.a.w + m[3] * r.a.z;
    (*acc).p5 += m[0] * r.e.x + m[2] * r.a.w;
    (*acc).p6 += m[1] * r.e.x + m[3] * r.a.w;
    (*acc).p7 += m[0] * r.e.y + m[2] * r.e.x;
  }
}

// Column offsets (clamped) and 0/1 padding masks of one invocation's input row.
struct Cols { ia: vec4u, ib: vec4u, ic: vec4u, id: vec4u, ie: vec2u, m: Row }

// A row from `a` (or `b`) at offset o, times the padding mask; only the columns used are loaded.
// The padding mask applied to a row; an up row holds only r.a and r.e (every multiply counts on a
// software adapter).
fn masked(r: Row, mask: Row) -> Row {
  if (KIND == 1u) { return Row(r.a * mask.a, r.b, r.c, r.d, r.e * mask.e); }
  return Row(r.a * mask.a, r.b * mask.b, r.c * mask.c, r.d * mask.d, r.e * mask.e);
}

fn row_a(o: u32, k: Cols, mask: Row) -> Row {
  var r = Row(vec4f(f32(a[o + k.ia.x]), f32(a[o + k.ia.y]), f32(a[o + k.ia.z]), f32(a[o + k.ia.w])),
              vec4f(0.0), vec4f(0.0), vec4f(0.0), vec2f(0.0));
  if (KIND == 0u) {
    if (PX >= 4u) {  // PX 1, 2: the row's 4 or 6 values are in r.a, r.b.xy
      r.b = vec4f(f32(a[o + k.ib.x]), f32(a[o + k.ib.y]), f32(a[o + k.ib.z]), f32(a[o + k.ib.w]));
      r.c = vec4f(f32(a[o + k.ic.x]), f32(a[o + k.ic.y]), 0.0, 0.0);
    } else if (PX == 2u) {
      r.b = vec4f(f32(a[o + k.ib.x]), f32(a[o + k.ib.y]), 0.0, 0.0);
    }
    if (PX == 8u) {
      r.c = vec4f(r.c.xy, f32(a[o + k.ic.z]), f32(a[o + k.ic.w]));
      r.d = vec4f(f32(a[o + k.id.x]), f32(a[o + k.id.y]), f32(a[o + k.id.z]), f32(a[o + k.id.w]));
    }
  }
  if (PX == 8u) { r.e = vec2f(f32(a[o + k.ie.x]), f32(a[o + k.ie.y])); }
  return masked(r, mask);
}

fn row_b(o: u32, k: Cols, mask: Row) -> Row {
  var r = Row(vec4f(f32(b[o + k.ia.x]), f32(b[o + k.ia.y]), f32(b[o + k.ia.z]), f32(b[o + k.ia.w])),
              vec4f(0.0), vec4f(0.0), vec4f(0.0), vec2f(0.0));
  if (KIND == 0u) {
    if (PX >= 4u) {
      r.b = vec4f(f32(b[o + k.ib.x]), f32(b[o + k.ib.y]), f32(b[o + k.ib.z]), f32(b[o + k.ib.w]));
      r.c = vec4f(f32(b[o + k.ic.x]), f32(b[o + k.ic.y]), 0.0, 0.0);
    } else if (PX == 2u) {
      r.b = vec4f(f32(b[o + k.ib.x]), f32(b[o + k.ib.y]), 0.0, 0.0);
    }
    if (PX == 8u) {
      r.c = vec4f(r.c.xy, f32(b[o + k.ic.z]), f32(b[o + k.ic.w]));
      r.d = vec4f(f32(b[o + k.id.x]), f32(b[o + k.id.y]), f32(b[o + k.id.z]), f32(b[o + k.id.w]));
    }
  }
  if (PX == 8u) { r.e = vec2f(f32(b[o + k.ie.x]), f32(b[o + k.ie.y])); }
  return masked(r, mask);
}

// SG 2: the same row, each lane loading every 4th value and the subgroup broadcasting them.
fn row_a_sg(o: u32, k: Cols, mask: Row, lane: u32) -> Row {
  var r = Row(sg4(f32(a[o + k.ia[lane]])), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec2f(0.0));
  if (KIND == 0u) {
    r.b = sg4(f32(a[o + k.ib[lane]]));
    r.c = sg4(f32(a[o + k.ic[lane]]));
    r.d = sg4(f32(a[o + k.id[lane]]));
  }
  r.e = sg4(f32(a[o + k.ie[lane & 1u]])).xy;
  return masked(r, mask);
}

fn row_b_sg(o: u32, k: Cols, mask: Row, lane: u32) -> Row {
  var r = Row(sg4(f32(b[o + k.ia[lane]])), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec2f(0.0));
  if (KIND == 0u) {
    r.b = sg4(f32(b[o + k.ib[lane]]));
    r.c = sg4(f32(b[o + k.ic[lane]]));
    r.d = sg4(f32(b[o + k.id[lane]]));
  }
  r.e = sg4(f32(b[o + k.ie[lane & 1u]])).xy;
  return masked(r, mask);
}

// The weights of one (input channel, kernel row, channel group); SG 1: a column per lane, shared.
// QW: column kx is one u32 of 4 bytes q (output channels 4og..4og+3), w = qa * q / 255 + qb
// (unpack4x8unorm measured cheaper on SwiftShader than shifts, masks and a conversion).
fn wmat(wi: u32, lane: u32, qa: vec4f, qb: vec4f) -> mat4x4f {
  if (QW == 1u) {
    var q: vec4u;
    if (SG == 1u) { q = sg_u4(wq[wi][lane]); } else { q = wq[wi]; }
    return mat4x4f(unpack4x8unorm(q.x) * qa + qb, unpack4x8unorm(q.y) * qa + qb,
                   unpack4x8unorm(q.z) * qa + qb, unpack4x8unorm(q.w) * qa + qb);
  }
  if (SG == 1u) { return sg_mat(vec4f(w[wi][lane])); }
  return mat4x4f(w[wi]);
}

// The padding mask of input row iy (all zero outside the image).
fn rowmask(k: Cols, iy: i32) -> Row {
  let f = select(0.0, 1.0, iy >= 0 && iy <= i32(HIN) - 1);
  return Row(k.m.a * f, k.m.b * f, k.m.c * f, k.m.d * f, k.m.e * f);
}

// A row of channel data from `a` (or `b`) at offset o, shared across the subgroup in SG 2.
fn row_a_any(o: u32, k: Cols, mask: Row, lane: u32) -> Row {
  if (SG == 2u) { return row_a_sg(o, k, mask, lane); }
  return row_a(o, k, mask);
}

fn row_b_any(o: u32, k: Cols, mask: Row, lane: u32) -> Row {
  if (SG == 2u) { return row_b_sg(o, k, mask, lane); }
  return row_b(o, k, mask);
}

// PY 2: the distinct input rows of one channel (down: 6, up: 3).
struct Rows6 { x0: Row, x1: Row, x2: Row, x3: Row, x4: Row, x5: Row }

// One channel's kernel rows against its distinct input rows, for the two output rows.
fn taps_rows(acc: ptr<function, Acc>, acc2: ptr<function, Acc>, c: u32, cout4: u32, og: u32, ky0: u32, x: Rows6, lane: u32, qa: vec4f, qb: vec4f) {
  if (KIND == 0u) {
    taps(acc, acc2, (c * 4u) * cout4 + og, x.x0, x.x2, lane, qa, qb);
    taps(acc, acc2, (c * 4u + 1u) * cout4 + og, x.x1, x.x3, lane, qa, qb);
    taps(acc, acc2, (c * 4u + 2u) * cout4 + og, x.x2, x.x4, lane, qa, qb);
    taps(acc, acc2, (c * 4u + 3u) * cout4 + og, x.x3, x.x5, lane, qa, qb);
  } else {
    taps(acc, acc2, (c * 4u + ky0) * cout4 + og, x.x1, x.x2, lane, qa, qb);
    taps(acc, acc2, (c * 4u + ky0 + 2u) * cout4 + og, x.x0, x.x1, lane, qa, qb);
  }
}

fn tap(acc: ptr<function, Acc>, m: mat4x4f, r: Row) {
  if (KIND == 0u) { down_row(acc, m, r); } else { up_row(acc, m, r); }
}

fn cols(x0: i32) -> Cols {
  let wmax = vec4i(i32(WIN) - 1);
  let xa = vec4i(x0) + vec4i(0, 1, 2, 3);
  let xb = xa + vec4i(4);
  let xc = xa + vec4i(8);
  let xd = xa + vec4i(12);
  // down: columns 16, 17 of the row; up: the two after xa
  let xe = select(xa.zw + vec2i(2), xa.xy + vec2i(16), KIND == 0u);
  let ia = clamp(xa, vec4i(0), wmax);
  let ib = clamp(xb, vec4i(0), wmax);
  let ic = clamp(xc, vec4i(0), wmax);
  let id = clamp(xd, vec4i(0), wmax);
  let ie = clamp(xe, vec2i(0), wmax.xy);
  let one = vec4f(1.0);
  let zero = vec4f(0.0);
  return Cols(vec4u(ia), vec4u(ib), vec4u(ic), vec4u(id), vec2u(ie),
              Row(select(zero, one, ia == xa), select(zero, one, ib == xb), select(zero, one, ic == xc),
                  select(zero, one, id == xd), select(zero.xy, one.xy, ie == xe)));
}

fn emit(i: u32, v: f32) {
  var o = v;
  if (ACT == 2u && SMOOTH == 1u) { o = mix(o, f32(dst[i]), params.smoothing); }
  dst[i] = T(o);
}

// Channels 4og..4og+3 of pixel (oy, ox), unrolled (no dynamic vector index, no loop).
fn store(acc: vec4f, og: u32, oy: u32, ox: u32) {
  let v = activate(acc);
  let n = HOUT * WOUT;
  let ch = og * 4u;
  if (ch >= COUT) { return; }
  let i = (ch * HOUT + oy) * WOUT + ox;
  emit(i, v.x);
  if (ch + 1u < COUT) { emit(i + n, v.y); }
  if (ch + 2u < COUT) { emit(i + 2u * n, v.z); }
  if (ch + 3u < COUT) { emit(i + 3u * n, v.w); }
}

// Output-channel groups of 4; SG 2 takes them 4 at a time (weights and bias are padded so).
fn ogs() -> u32 { return select(1u, 4u, SG == 2u); }
fn cout4p() -> u32 { return (COUT + 4u * ogs() - 1u) / (4u * ogs()) * ogs(); }

fn put(acc: vec4f, s: u32, og: u32, oy: u32, ox: u32, b0: vec4f) {
  if (ox >= WOUT) { return; }
  if (SPLIT == 1u) {
    store(acc + b0, og, oy, ox);
  } else {
    scratch[((s * cout4p() + og) * HOUT + oy) * WOUT + ox] = acc;
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let xgroups = (WOUT + PX - 1u) / PX;
  let cout4 = cout4p();
  var idx = gid.x + gid.y * nwg.x * 64u;
  let lane = idx & 3u;   // the invocation's lane in its subgroup of 4 (SG 1, 2)
  if (SG == 2u) { idx = idx >> 2u; }
  let xg = idx % xgroups;
  var rest = idx / xgroups;
  let yb = rest % (HOUT / PY);
  rest = rest / (HOUT / PY);
  var og = rest % cout4;
  var s = rest / cout4;
  if (SG == 2u) {
    og = (rest % (cout4 / 4u)) * 4u + lane;
    s = rest / (cout4 / 4u);
  }
  if (s >= SPLIT) { return; }
  // PY == 2: down does rows oy, oy + 1; up rows oy, oy + 2 (same parity: the same taps)
  var oy = yb * PY;
  if (KIND == 1u && PY == 2u) { oy = (yb >> 1u) * 4u + (yb & 1u); }
  let c0 = s * CPS;
  let c1 = min(c0 + CPS, CIN);
  let ox0 = xg * PX;
  let plane = HIN * WIN;
  let z = vec4f(0.0);
  var acc = Acc(z, z, z, z, z, z, z, z);
  var acc2 = Acc(z, z, z, z, z, z, z, z);
  let k = cols(select(i32(ox0 >> 1u) - 1, i32(ox0 * 2u) - 1, KIND == 0u));
  // QW: the dequantization of this channel group, after the biases in the same buffer
  var qa = vec4f(0.0);
  var qb = vec4f(0.0);
  if (QW == 1u) {
    qa = bias[cout4 + og];
    qb = bias[2u * cout4 + og];
  }
  let hmax = i32(HIN) - 1;
  // down: 4 kernel rows ky, input row 2 oy - 1 + ky; up: 2 taps t by parity, even Y uses
  // (iy, ky) = (Y/2, 1), (Y/2 - 1, 3); odd Y ((Y+1)/2, 0), ((Y-1)/2, 2)
  let odd = (oy & 1u) == 1u;
  if (PY == 2u) {
    // Two output rows share input rows: down reads rows 2 oy - 1 + j (j < 6) for kernel rows j
    // (row oy) and j - 2 (row oy + 1); up reads rows b - 1 + j (j < 3, b = (oy + 1) / 2) with
    // tap t at j = 1 - t (row oy) and j = 2 - t (row oy + 2). Each is loaded once per channel:
    // 6 loads instead of 8 (down), 3 instead of 4 (up).
    let j0 = select(i32(oy * 2u) - 1, i32((oy + 1u) >> 1u) - 1, KIND == 1u);
    let m0 = rowmask(k, j0);
    let m1 = rowmask(k, j0 + 1);
    let m2 = rowmask(k, j0 + 2);
    let m3 = rowmask(k, j0 + 3);
    let m4 = rowmask(k, j0 + 4);
    let m5 = rowmask(k, j0 + 5);
    let r0 = u32(clamp(j0, 0, hmax)) * WIN;
    let r1 = u32(clamp(j0 + 1, 0, hmax)) * WIN;
    let r2 = u32(clamp(j0 + 2, 0, hmax)) * WIN;
    let r3 = u32(clamp(j0 + 3, 0, hmax)) * WIN;
    let r4 = u32(clamp(j0 + 4, 0, hmax)) * WIN;
    let r5 = u32(clamp(j0 + 5, 0, hmax)) * WIN;
    let ky0 = select(1u, 0u, odd);   // up: the kernel row of tap 0 (tap 1: ky0 + 2)
    // the channels from `a`, then those from `b` (two loops: a branch per load would run both sides)
    for (var c = c0; c < min(c1, CA); c++) {
      let o = c * plane;
      var x = Rows6(row_a_any(o + r0, k, m0, lane), row_a_any(o + r1, k, m1, lane), row_a_any(o + r2, k, m2, lane),
                    Row(), Row(), Row());
      if (KIND == 0u) {
        x.x3 = row_a_any(o + r3, k, m3, lane);
        x.x4 = row_a_any(o + r4, k, m4, lane);
        x.x5 = row_a_any(o + r5, k, m5, lane);
      }
      taps_rows(&acc, &acc2, c, cout4, og, ky0, x, lane, qa, qb);
    }
    for (var c = max(c0, CA); c < c1; c++) {
      let o = (c - CA) * plane;
      var x = Rows6(row_b_any(o + r0, k, m0, lane), row_b_any(o + r1, k, m1, lane), row_b_any(o + r2, k, m2, lane),
                    Row(), Row(), Row());
      if (KIND == 0u) {
        x.x3 = row_b_any(o + r3, k, m3, lane);
        x.x4 = row_b_any(o + r4, k, m4, lane);
        x.x5 = row_b_any(o + r5, k, m5, lane);
      }
      taps_rows(&acc, &acc2, c, cout4, og, ky0, x, lane, qa, qb);
    }
  }
  // PY 1 (output rows too few to pair): one output row, kernel row by kernel row; SG needs PY 2
  for (var t = 0u; t < select(4u - 2u * KIND, 0u, PY == 2u); t++) {
    var iy = i32(oy * 2u + t) - 1;
    var ky = t;
    if (KIND == 1u) {
      iy = select(i32(oy >> 1u) - i32(t), i32(oy >> 1u) + 1 - i32(t), odd);
      ky = select(1u + t * 2u, t * 2u, odd);
    }
    if (iy < 0 || iy > hmax) { continue; }
    let r = u32(iy) * WIN;
    for (var c = c0; c < min(c1, CA); c++) {
      let x = row_a(c * plane + r, k, k.m);
      taps(&acc, &acc2, (c * 4u + ky) * cout4 + og, x, x, lane, qa, qb);
    }
    for (var c = max(c0, CA); c < c1; c++) {
      let x = row_b((c - CA) * plane + r, k, k.m);
      taps(&acc, &acc2, (c * 4u + ky) * cout4 + og, x, x, lane, qa, qb);
    }
  }

  let oy2 = oy + select(1u, 2u, KIND == 1u);
  let b0 = bias[og];
  put_row(acc, s, og, oy, ox0, b0);
  if (PY == 2u) { put_row(acc2, s, og, oy2, ox0, b0); }
}

// One input channel's kernel row against one or two rows of input, for one channel group.
fn taps(acc: ptr<function, Acc>, acc2: ptr<function, Acc>, wi: u32, x1: Row, x2: Row, lane: u32, qa: vec4f, qb: vec4f) {
  let m = wmat(wi, lane, qa, qb);
  tap(acc, m, x1);
  if (PY == 2u) { tap(acc2, m, x2); }
}

fn put_row(acc: Acc, s: u32, og: u32, oy: u32, ox0: u32, b0: vec4f) {
  put(acc.p0, s, og, oy, ox0, b0);
  if (PX >= 2u) { put(acc.p1, s, og, oy, ox0 + 1u, b0); }
  if (PX >= 4u) {
    put(acc.p2, s, og, oy, ox0 + 2u, b0);
    put(acc.p3, s, og, oy, ox0 + 3u, b0);
  }
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
  for (var s = 0u; s < SPLIT; s++) { v += scratch[(s * cout4p() + og) * n + p]; }
  store(v, og, p / WOUT, p % WOUT);
}
