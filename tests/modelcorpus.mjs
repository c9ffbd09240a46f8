// The page's parser (src/seeing/web/modelfile.js) on model files: prints {file name: verdict} as JSON.
// A verdict is "ok", "error" (one Error line naming the file, as parseModel throws), or "crash: ..." for
// anything else. Used by test_modelfile_corpus.py:  node tests/modelcorpus.mjs FILE...
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseModel } from "../src/seeing/web/modelfile.js";

const verdicts = {};
for (const path of process.argv.slice(2)) {
  const bytes = readFileSync(path);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  let verdict = "ok";
  try {
    parseModel(buffer, "model file");
  } catch (e) {
    const line = e instanceof Error && e.constructor === Error && e.message.startsWith("model file: ") && !e.message.includes("\n");
    verdict = line ? "error" : `crash: ${e}`;
  }
  verdicts[basename(path)] = verdict;
}
console.log(JSON.stringify(verdicts));
