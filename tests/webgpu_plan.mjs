// The WebGPU engine's layer plan and weight packing (src/seeing/web/webgpu-plan.js) under node, for
// test_webgpu_plan.py:  node tests/webgpu_plan.mjs MODEL ENV_JSON  prints {plan, packed} as JSON, where
// packed holds every layer's packing in float32 (and, for uint8 files, as bytes), flattened to arrays.
import { readFileSync } from "node:fs";
import { parseModel } from "../src/seeing/web/modelfile.js";
import { layerPlan, packLayer } from "../src/seeing/web/webgpu-plan.js";

const [path, envJson] = process.argv.slice(2);
const bytes = readFileSync(path);
const model = parseModel(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), path);
const plan = layerPlan(model, JSON.parse(envJson));
const packed = model.layers.map((L, i) => {
  const f32 = packLayer(L, plan[i].cout4, false, false), f16 = packLayer(L, plan[i].cout4, true, false);
  const q = L.scale ? packLayer(L, plan[i].cout4, false, true) : null;
  return { weights: Array.from(f32.weights), bias: Array.from(f32.bias), halves: Array.from(f16.weights),
           qweights: q && Array.from(q.weights), qbias: q && Array.from(q.bias) };
});
console.log(JSON.stringify({ plan, packed }));
