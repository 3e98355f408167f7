// SPDX-License-Identifier: GPL-3.0-or-later
// ONNX Runtime's CPU throughput on an ONNX file, for build-aux/bench-ort.sh (run by hand,
// not a test): node tests/bench-ort.mjs MODEL.onnx IMAGES BATCH THREADS
// Synthetic inputs uniform in [0, 1) shaped like the graph's input (NHWC float32 for
// Quantscope's exports), every graph optimization (QDQ -> QLinearConv fusion), one warm-up
// batch, then IMAGES images in batches of BATCH; best of two passes. Prints one JSON line:
// {"model": ..., "images": N, "batch": B, "threads": T, "images_per_s": R, "ort": version}.
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

const [model, imagesArg = '64', batchArg = '16', threadsArg = '2'] = process.argv.slice(2);
const images = parseInt(imagesArg, 10);
const batch = parseInt(batchArg, 10);
const threads = parseInt(threadsArg, 10);

const session = await ort.InferenceSession.create(model, {
  graphOptimizationLevel: 'all',
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
});
const name = session.inputNames[0];
// the input's shape from the graph metadata when onnxruntime-node exposes it, else 224x224x3 NHWC
let dims = [224, 224, 3];
try {
  const meta = session.inputMetadata?.[0] ?? session.inputMetadata?.[name];
  if (meta && Array.isArray(meta.shape) && meta.shape.length === 4)
    dims = meta.shape.slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : 224));
} catch (e) { /* older bindings: keep the default */ }
const perImage = dims.reduce((a, b) => a * b, 1);
let seed = 7;
function tensor(n) {
  const data = new Float32Array(n * perImage);
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    data[i] = (seed >>> 8) / (1 << 24);
  }
  return new ort.Tensor('float32', data, [n, ...dims]);
}
const full = tensor(batch);
const tail = images % batch ? tensor(images % batch) : null;
await session.run({ [name]: full });

let best = Infinity;
for (let pass = 0; pass < 2; pass++) {
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < images; done += batch)
    await session.run({ [name]: images - done >= batch ? full : tail });
  best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
}
console.log(JSON.stringify({
  model, images, batch, threads, images_per_s: images / best, ort: ort.env.versions?.common ?? null,
}));
