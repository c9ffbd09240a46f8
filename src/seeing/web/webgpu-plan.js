// webgpu-plan.js: how the WebGPU engine runs each generator layer, as plain data (no GPU calls, so
// node can test it): the layer plan (conv.wgsl's override constants, dispatch size, the buffers a layer
// reads) and the packing of a layer's weights and biases into conv.wgsl's layout.

import { layerWeightsF32 } from "./modelfile.js";

/**
 * The plan of every layer of a parsed model (modelfile.parseModel), in forward order.
 * env: {software} a software adapter (SwiftShader: few big workgroups), {subgroups} subgroups of 4,
 * {tuning} profiling and tests only: {px, py, invocations, sgMode, qw: 0} override the choices below.
 * Each entry: {up, hout, cout4, split, px, py, sg, qw, a, b, constants, label, groups, finishGroups};
 * a and b index the layers whose outputs it reads (-1: the degraded input); groups (and finishGroups,
 * SPLIT > 1) count workgroups of 64.
 */
export function layerPlan(model, { software = false, subgroups = false, tuning = {} } = {}) {
  const layers = model.layers, nDown = model.config.down.length;
  return layers.map((L, i) => {
    const up = L.kind === "up", hout = up ? L.inSide * 2 : L.inSide / 2;
    const px = Math.min(hout, tuning.px ?? 8);   // pixels per invocation in a row: 1, 2, 4 or 8
    // rows per invocation (up: two rows of the same parity, so 4 or more rows); each weight is
    // loaded once per invocation, so a 2x2 down output takes both rows in one
    const py = hout >= (up ? 4 : 2) ? tuning.py ?? 2 : 1;
    const xgroups = Math.ceil(hout / px);
    // subgroup sharing (conv.wgsl SG): an up layer whose rows hold a multiple of 4 pixel groups
    // shares the weights (1), other layers of 8 or more wide rows share the input rows (2)
    let sg = 0;
    if (subgroups && px === 8 && py === 2) {
      sg = up && xgroups % 4 === 0 ? 1 : L.cout >= 16 ? 2 : 0;   // SG 2 below 16 channels: slower
      if (tuning.sgMode === 2 || (tuning.sgMode === 1 && xgroups % 4 === 0)) sg = tuning.sgMode;
    }
    const ogs = sg === 2 ? 4 : 1;   // weights and bias padded to a multiple of ogs groups of 4 channels
    const cout4 = Math.ceil(L.cout / (4 * ogs)) * ogs;
    const base = cout4 * (hout / py) * xgroups;
    // invocations to aim for: a software adapter wants a few big workgroups (one per core), a GPU
    // thousands of invocations
    const target = tuning.invocations ?? (software ? 256 : 4096);
    let split = base >= target || L.cin < 32 ? 1 : Math.min(Math.ceil(target / base), Math.floor(L.cin / 16));
    const cps = Math.ceil(L.cin / split);
    split = Math.ceil(L.cin / cps);
    // uint8 files keep their bytes on the GPU (a quarter of the loads), others are unpacked at load
    const qw = !!L.scale && tuning.qw !== 0;
    // the skip: up layer j (j >= 1) reads the previous up output, then down layer nDown-1-j
    const a = i - 1;
    let b = i - 1, ca = L.cin;
    if (up && i > nDown) {
      b = 2 * nDown - 1 - i;
      ca = layers[i - 1].cout;
    }
    const constants = {
      KIND: up ? 1 : 0, ACT: L.activation === "leaky" ? 0 : L.activation === "relu" ? 1 : 2,
      SLOPE: L.slope || 0, CA: ca, CIN: L.cin, COUT: L.cout, HIN: L.inSide, WIN: L.inSide, HOUT: hout, WOUT: hout,
      SPLIT: split, CPS: cps, PX: px, PY: py, SG: sg, QW: qw ? 1 : 0,
    };
    const label = `${L.name} ${L.kind} ${L.cin}->${L.cout} @${hout}${sg ? ` sg${sg}` : ""}${qw ? " u8" : ""}`;
    return { up, hout, cout4, split, px, py, sg, qw, a, b, constants, label,
             groups: Math.ceil((base * split) / 64), finishGroups: split > 1 ? Math.ceil((cout4 * hout * hout) / 64) : 0 };
  });
}

/** float32 -> float16 bits, rounding half to even. */
export function floatToHalf(f) {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, f);
  const x = b.getUint32(0);
  const sign = (x >>> 16) & 0x8000, exp = (x >>> 23) & 0xff, mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = (mant | 0x800000) >> (1 - e);
    return sign | ((m + 0x1000 + ((m >> 13) & 1) - 1) >> 13);  // round half to even
  }
  const h = sign | (e << 10) | (mant >> 13);
  const rest = mant & 0x1fff;
  return rest > 0x1000 || (rest === 0x1000 && (h & 1)) ? h + 1 : h;
}

/**
 * A layer's weights and biases in conv.wgsl's layout: a mat4x4 per (c, ky, og), column kx, row o & 3
 * (qw: the file's uint8 bytes in the same order; else float32, or float16 bits with f16), zero past cout;
 * biases (cout4 groups of 4), then with qw w = qa * (q / 255) + qb per output channel: qa = 255 scale,
 * qb = -scale zero.
 */
export function packLayer(L, cout4, f16, qw) {
  const n = L.cin * 16 * cout4 * 4;
  const weights = qw ? new Uint8Array(n) : f16 ? new Uint16Array(n) : new Float32Array(n);
  const w = qw ? L.weight : layerWeightsF32(L);
  for (let o = 0; o < L.cout; o++)
    for (let c = 0; c < L.cin; c++)
      for (let k = 0; k < 16; k++) {
        const v = w[(o * L.cin + c) * 16 + k];
        weights[((((c * 4 + (k >> 2)) * cout4 + (o >> 2)) * 4 + (k & 3)) * 4) + (o & 3)] = f16 && !qw ? floatToHalf(v) : v;
      }
  const bias = new Float32Array(cout4 * 4 * (qw ? 3 : 1));
  bias.set(L.bias);
  if (qw) for (let o = 0; o < L.cout; o++) {
    bias[cout4 * 4 + o] = 255 * L.scale[o];
    bias[cout4 * 8 + o] = -L.scale[o] * L.zero[o];
  }
  return { weights, bias };
}
