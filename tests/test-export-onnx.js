// SPDX-License-Identifier: GPL-3.0-or-later
// Runs an ONNX model in ONNX Runtime (onnxruntime-node, found through NODE_PATH) for
// test-export-onnx: node test-export-onnx.js MODEL INPUT.f32 DIMS_JSON OUT_DIR
// Reads the float32 input, runs it with every graph optimization (the optimized model goes
// to OUT_DIR/optimized.onnx), writes output i to OUT_DIR/out<i>.bin in graph output order
// and prints the output names as JSON.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

(async () => {
  const [model, inputPath, dimsJson, outDir] = process.argv.slice(2);
  const dims = JSON.parse(dimsJson);
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: outDir + '/optimized.onnx',
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
  });
  const raw = fs.readFileSync(inputPath);
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
  session.outputNames.forEach((name, i) => {
    const t = result[name].data;
    fs.writeFileSync(`${outDir}/out${i}.bin`, Buffer.from(t.buffer, t.byteOffset, t.byteLength));
  });
  console.log(JSON.stringify({ outputs: session.outputNames, version: ort.env.versions }));
})().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
