// modelfile.js: a strict parser of the seeing model file (format version 1), the JS twin of
// src/seeing/modelfile.py. Layout: 8-byte little-endian header length, header JSON
// ({"__metadata__": {"seeing": JSON}, tensor: {dtype, shape, data_offsets}}), raw tensors.
// Every length, offset, dtype and shape is checked before use; any fault throws an Error
// with a one-line message. Both parsers give the same verdict on every file of tests/modelfiles/,
// with the same limits (below; modelfile.py names them alike).

export const FORMAT = "seeing-model";
export const VERSION = 1;
export const PRECISIONS = ["float32", "float16", "uint8"];
const ITEMSIZE = { F32: 4, F16: 2, U8: 1 };
const WEIGHT_DTYPE = { float32: "F32", float16: "F16", uint8: "U8" };
const MAX_HEADER = 1 << 24; // bytes of header JSON
const MAX_DEPTH = 64; // nesting of JSON arrays and objects
export const MAX_RESOLUTION = 4096; // also the largest side a model runs at (atSize)
const MAX_FILTERS = 8192;
const MAX_CHANNELS = 64;
const FLIPS = ["horizontal", "vertical", "both", "none"];

function fail(where, what) {
  throw new Error(`${where}: ${what}`);
}

const isInt = (v) => typeof v === "number" && Number.isInteger(v);

/** Every conv layer in forward order, as arch.layer_shapes: {kind, cin, cout, inSide}. */
export function layerShapes(cfg) {
  const layers = [];
  let side = cfg.resolution;
  const d = cfg.down, u = cfg.up;
  d.forEach((cout, i) => {
    layers.push({ kind: "down", cin: i === 0 ? cfg.in_channels : d[i - 1], cout, inSide: side });
    side = Math.floor(side / 2);
  });
  let cin = d[d.length - 1];
  [...u, cfg.out_channels].forEach((cout, i) => {
    layers.push({ kind: "up", cin, cout, inSide: side });
    side *= 2;
    if (i < u.length) cin = cout + d[d.length - 2 - i];
  });
  return layers;
}

/** Tensor name prefixes in forward order (down.i, then up.j including the final layer). */
export function layerNames(cfg) {
  return [...cfg.down.map((_, i) => `down.${i}`), ...cfg.up.concat([0]).map((_, j) => `up.${j}`)];
}

const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
// obj[key], or dflt where the key is absent (a null stays null, as in Python's dict.get)
const get = (obj, key, dflt) => (Object.hasOwn(obj, key) ? obj[key] : dflt);

/** JSON.parse, with modelfile.py's rules: NaN, Infinity and -Infinity (Python's json writes them) read as
 * null, no nesting deeper than MAX_DEPTH (throws on a fault). */
function parseJson(text) {
  text = text.replace(/("[^"\\]*(?:\\.[^"\\]*)*")|-?Infinity|NaN/g, (m, str) => str ?? "null");
  const bare = text.replace(/"[^"\\]*(?:\\.[^"\\]*)*"/g, '""'); // strings out of the way
  let depth = 0;
  for (let i = 0; i < bare.length; i++) {
    const c = bare.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) { if (++depth > MAX_DEPTH) throw new SyntaxError("nested too deep"); }
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return { value: JSON.parse(text), bare };
}

/** The safetensors framing: {header (tensor entries), metaBlock, start, dataSize}. */
function readHeader(buffer, where) {
  if (!(buffer instanceof ArrayBuffer)) fail(where, "expected an ArrayBuffer");
  const size = buffer.byteLength;
  if (size < 8) fail(where, `too short to be a safetensors file (${size} bytes)`);
  const n = Number(new DataView(buffer).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > size) fail(where, `header length ${n} runs past the end of the file (${size} bytes)`);
  let header, bare;
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(new Uint8Array(buffer, 8, n));
    ({ value: header, bare } = parseJson(text));
  } catch (e) {
    fail(where, `header is not valid JSON (${e.name})`);
  }
  if (!isObject(header)) fail(where, "header is not a JSON object");
  // Shapes and offsets are integers: a literal like 4.0 or 4e0 (which JSON.parse makes 4) is not.
  if (/[0-9][.eE]/.test(bare)) fail(where, "header holds a number that is not an integer");
  const metaBlock = header.__metadata__;
  delete header.__metadata__;
  if (!isObject(metaBlock) || !Object.values(metaBlock).every((v) => typeof v === "string"))
    fail(where, "no __metadata__ block of strings (not a seeing model file)");
  return { header, metaBlock, start: 8 + n, dataSize: size - 8 - n };
}

/** Each entry's dtype, shape and offsets; the tensors tile the data exactly (no overlap, hole or tail). */
function checkEntries(header, dataSize, where) {
  const spans = [];
  for (const [key, e] of Object.entries(header)) {
    if (!isObject(e) || Object.keys(e).sort().join(",") !== "data_offsets,dtype,shape")
      fail(where, `tensor '${key}' entry must have exactly dtype, shape and data_offsets`);
    if (typeof e.dtype !== "string" || !Object.hasOwn(ITEMSIZE, e.dtype))
      fail(where, `tensor '${key}' has unsupported dtype '${e.dtype}'`);
    if (!Array.isArray(e.shape) || !e.shape.every((s) => isInt(s) && s >= 0 && s < 2 ** 31))
      fail(where, `tensor '${key}' has an invalid shape`);
    const o = e.data_offsets;
    if (!(Array.isArray(o) && o.length === 2 && isInt(o[0]) && isInt(o[1]) && 0 <= o[0] && o[0] <= o[1] && o[1] <= dataSize))
      fail(where, `tensor '${key}' has offsets outside the data (${dataSize} bytes)`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (count * ITEMSIZE[e.dtype] !== o[1] - o[0])
      fail(where, `tensor '${key}': ${o[1] - o[0]} bytes do not hold shape [${e.shape}] of ${e.dtype}`);
    spans.push([o[0], o[1], key]);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < spans.length; i++)
    if (spans[i][0] < spans[i - 1][1]) fail(where, `tensors '${spans[i - 1][2]}' and '${spans[i][2]}' overlap`);
  let covered = 0;
  for (const [b, e, key] of spans) {
    if (b !== covered) fail(where, `tensor '${key}' starts at ${b}, expected ${covered} (hole in the data)`);
    covered = e;
  }
  if (covered !== dataSize) fail(where, `${dataSize - covered} bytes after the last tensor`);
}

/** The `seeing` metadata: format, version, precision, and the architecture and degradation blocks. */
function readInfo(metaBlock, where) {
  if (!Object.hasOwn(metaBlock, "seeing")) fail(where, "metadata has no 'seeing' entry (not a seeing model file)");
  let info;
  try {
    info = parseJson(metaBlock.seeing).value;
  } catch {
    fail(where, "the 'seeing' metadata is not valid JSON");
  }
  if (!isObject(info) || info.format !== FORMAT) fail(where, "the 'seeing' metadata does not name the seeing-model format");
  if (info.version !== VERSION) fail(where, `unknown format version ${JSON.stringify(info.version)} (this page reads version ${VERSION})`);
  if (!PRECISIONS.includes(info.precision)) fail(where, `unknown precision ${JSON.stringify(info.precision)}`);
  if (!isObject(info.architecture) || !isObject(info.degradation)) fail(where, "metadata lacks architecture or degradation");
  return info;
}

function checkConfig(arch, where) {
  const cfg = {
    down: arch.down, up: arch.up, resolution: arch.resolution,
    in_channels: get(arch, "in_channels", 1), out_channels: get(arch, "out_channels", 3),
    leaky_slope: get(arch, "leaky_slope", 0.2),
  };
  const okList = (l) => Array.isArray(l) && l.every((x) => isInt(x) && x >= 1 && x <= MAX_FILTERS);
  if (!okList(cfg.down) || !okList(cfg.up) || cfg.down.length === 0)
    fail(where, `architecture needs positive integer down/up filter lists (up to ${MAX_FILTERS})`);
  if (cfg.up.length !== cfg.down.length - 1)
    fail(where, `need n down and n-1 up filters, got ${cfg.down.length} down and ${cfg.up.length} up`);
  if (!isInt(cfg.resolution) || cfg.resolution > MAX_RESOLUTION || cfg.resolution !== 2 ** cfg.down.length)
    fail(where, `resolution ${cfg.resolution} does not match ${cfg.down.length} down layers (up to ${MAX_RESOLUTION})`);
  for (const k of ["in_channels", "out_channels"])
    if (!isInt(cfg[k]) || cfg[k] < 1 || cfg[k] > MAX_CHANNELS) fail(where, `invalid ${k} ${cfg[k]}`);
  if (!isNum(cfg.leaky_slope) || !isNum(get(arch, "bn_eps", 1e-5))) fail(where, "invalid leaky_slope or bn_eps");
  return cfg;
}

function checkDegradation(deg, resolution, where) {
  const d = {
    resolution: deg.resolution, grid: get(deg, "grid", 11), bicubic_a: get(deg, "bicubic_a", -0.75),
    luma: get(deg, "luma", [0.299, 0.587, 0.114]),
  };
  if (!isInt(d.resolution) || d.resolution !== resolution)
    fail(where, `degradation resolution ${d.resolution} differs from the architecture's ${resolution}`);
  if (!isInt(d.grid) || d.grid < 1 || d.grid > d.resolution)
    fail(where, `grid ${d.grid} must be between 1 and the resolution ${d.resolution}`);
  if (!isNum(d.bicubic_a)) fail(where, "invalid bicubic_a");
  if (!Array.isArray(d.luma) || d.luma.length !== 3 || !d.luma.every(isNum)) fail(where, "luma must be three numbers");
  for (const k of ["scale_range", "brightness_range", "contrast_range"]) {
    const r = get(deg, k, [1, 1]);
    if (!Array.isArray(r) || r.length !== 2 || !r.every(isNum)) fail(where, `degradation ${k} must be two numbers`);
  }
  if (!FLIPS.includes(get(deg, "flip", "horizontal"))) fail(where, `flip must be ${FLIPS.join(", ")}`);
  return d;
}

/** A uint8 layer's dequantized weights (float32, as modelfile.py computes them) are all finite. */
function uint8Finite(q, scale, zero) {
  const per = q.length / scale.length;
  for (let o = 0; o < scale.length; o++) {
    let lo = 255, hi = 0;
    for (let k = o * per; k < (o + 1) * per; k++) { lo = Math.min(lo, q[k]); hi = Math.max(hi, q[k]); }
    for (const v of [lo, hi])
      if (!Number.isFinite(Math.fround(scale[o] * Math.fround(v - zero[o])))) return false;
  }
  return true;
}

/** The layers' tensors, checked against the architecture: {name, kind, cin, cout, inSide, activation, slope,
 * weight, scale, zero, bias} in forward order. */
function readLayers(buffer, { header, start }, config, precision, where) {
  const expected = new Set();
  const tensor = (key, dtype, shape) => {
    const e = header[key];
    if (!Object.hasOwn(header, key)) fail(where, `missing tensor '${key}'`);
    if (e.dtype !== dtype || e.shape.length !== shape.length || e.shape.some((s, i) => s !== shape[i]))
      fail(where, `tensor '${key}' is ${e.dtype}[${e.shape}], expected ${dtype}[${shape}]`);
    expected.add(key);
    const count = shape.reduce((a, b) => a * b, 1);
    // copy out: the tensors need not be aligned to their item size inside the file
    const bytes = new Uint8Array(buffer, start + e.data_offsets[0], count * ITEMSIZE[dtype]).slice();
    if (dtype === "F32") return new Float32Array(bytes.buffer);
    if (dtype === "F16") return new Uint16Array(bytes.buffer);
    return bytes;
  };
  const shapes = layerShapes(config), names = layerNames(config), nDown = config.down.length;
  const layers = shapes.map((s, i) => {
    const name = names[i];
    const weight = tensor(`${name}.weight`, WEIGHT_DTYPE[precision], [s.cout, s.cin, 4, 4]);
    let scale = null, zero = null;
    if (precision === "uint8") {
      scale = tensor(`${name}.scale`, "F32", [s.cout]);
      zero = tensor(`${name}.zero`, "F32", [s.cout]);
      if (!uint8Finite(weight, scale, zero)) fail(where, `layer ${name} has NaN or infinite weights`);
    } else if (precision === "float32" && !weight.every(Number.isFinite)) {
      fail(where, `layer ${name} has NaN or infinite weights`);
    } else if (precision === "float16" && weight.some((h) => (h & 0x7c00) === 0x7c00)) {
      fail(where, `layer ${name} has NaN or infinite weights`);
    }
    const bias = tensor(`${name}.bias`, "F32", [s.cout]);
    if (!bias.every(Number.isFinite)) fail(where, `layer ${name} has NaN or infinite biases`);
    const activation = i < nDown ? "leaky" : i === shapes.length - 1 ? "tanh" : "relu";
    return { name, kind: s.kind, cin: s.cin, cout: s.cout, inSide: s.inSide, activation,
             slope: activation === "leaky" ? config.leaky_slope : 0, weight, scale, zero, bias };
  });
  const extra = Object.keys(header).filter((k) => !expected.has(k));
  if (extra.length) fail(where, `unexpected tensors ${extra.slice(0, 3).join(", ")}`);
  return layers;
}

/**
 * Parse and fully validate a model file.
 * @param {ArrayBuffer} buffer the file's bytes
 * @param {string} [where] name used in error messages
 * @returns {{meta, config, degradation, precision, name, layers, params, macs, size}}
 */
export function parseModel(buffer, where = "model file") {
  const framing = readHeader(buffer, where);
  checkEntries(framing.header, framing.dataSize, where);
  const info = readInfo(framing.metaBlock, where);
  const config = checkConfig(info.architecture, where);
  const degradation = checkDegradation(info.degradation, config.resolution, where);
  const layers = readLayers(buffer, framing, config, info.precision, where);
  return { meta: info, config, degradation, precision: info.precision, name: String(info.name ?? "model"), layers,
           params: info.params ?? null, macs: info.macs ?? null, size: buffer.byteLength };
}

/**
 * The model run at size x size (e.g. 512 for a 256 model: HD). The generator is fully convolutional,
 * so any multiple of 2^(down layers) works; the degradation grid scales with the side, so a cell keeps
 * its size in pixels (degrade.at_size). Returns a model the engines take as they take the file's
 * (the same weights), or the model itself at its own size. Throws on a size the net cannot run.
 */
export function atSize(model, size) {
  const cfg = model.config, R = cfg.resolution, step = 2 ** cfg.down.length;
  if (!size || size === R) return model;
  if (!isInt(size) || size < step || size % step || size > MAX_RESOLUTION)
    throw new Error(`${model.name} runs at multiples of ${step} up to ${MAX_RESOLUTION}, not ${size}`);
  const k = size / R, deg = model.degradation;
  return { ...model, config: { ...cfg, resolution: size },
           degradation: { ...deg, resolution: size, grid: Math.max(1, Math.round((deg.grid * size) / deg.resolution)) },
           layers: model.layers.map((L) => ({ ...L, inSide: L.inSide * k })),
           macs: model.macs == null ? null : model.macs * k * k };
}

/** float16 bits -> float32 value (for dequantizing once at load on adapters without shader-f16). */
export function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** A layer's weights as float32 (cout, cin, 4, 4), dequantized from any precision. */
export function layerWeightsF32(layer) {
  const w = layer.weight, out = new Float32Array(w.length);
  if (w instanceof Float32Array) out.set(w);
  else if (w instanceof Uint16Array) for (let i = 0; i < w.length; i++) out[i] = halfToFloat(w[i]);
  else {
    const per = w.length / layer.cout;
    for (let o = 0; o < layer.cout; o++) {
      const s = layer.scale[o], z = layer.zero[o];
      for (let k = o * per; k < (o + 1) * per; k++) out[k] = s * (w[k] - z);
    }
  }
  return out;
}
