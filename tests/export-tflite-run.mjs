// SPDX-License-Identifier: GPL-3.0-or-later
// Runs .tflite files in LiteRT.js (WASM, XNNPACK) for test-export-tflite.
// Usage: node export-tflite-run.mjs NODE_MODULES INPUTS.f32 N_IMAGES MODEL OUT.f32 [MODEL OUT.f32 ...]
// INPUTS.f32: N_IMAGES images of float32 in the model's input layout; each OUT.f32 gets the
// model's float32 output for every image, one after another.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [nodeModules, inputsPath, nImagesArg, ...pairs] = process.argv.slice(2);
const nImages = Number (nImagesArg);
const require = createRequire (join (nodeModules, 'x.js'));
const coreDir = join (nodeModules, '@litertjs', 'core');

// LiteRT.js loads its wasm glue as a browser worker would: give it self and importScripts.
globalThis.self = globalThis;
// The glue file sits in a "type": "module" package, so require () would not take it as
// CommonJS: evaluate it as such by hand.
globalThis.importScripts = (url) => {
  const file = url.toString ().replace (/^file:\/\//, '');
  const module = { exports: {} };
  const body = readFileSync (file, 'utf8');

  new Function ('module', 'exports', 'require', '__filename', '__dirname', body) (
    module, module.exports, require, file, dirname (file));
  globalThis.ModuleFactory = module.exports;
};

const litert = await import (pathToFileURL (join (coreDir, 'dist', 'index.js')).href);
await litert.loadLiteRt (join (coreDir, 'wasm') + '/');

const buf = readFileSync (inputsPath);
const inputs = new Float32Array (buf.buffer, buf.byteOffset, buf.byteLength / 4);
const inSize = inputs.length / nImages;

for (let p = 0; p < pairs.length; p += 2)
  {
    const model = await litert.loadAndCompile (new Uint8Array (readFileSync (pairs[p])),
                                               { accelerator: 'wasm' });
    const details = model.getInputDetails ? model.getInputDetails () : null;
    const shape = details ? details[0].shape : [1, inSize];
    let outputs = null, outSize = 0;

    for (let i = 0; i < nImages; i++)
      {
        const x = new litert.Tensor (inputs.slice (i * inSize, (i + 1) * inSize), shape);
        const results = await model.run (x);
        const y = results[0].toTypedArray ();

        if (outputs === null)
          {
            outSize = y.length;
            outputs = new Float32Array (outSize * nImages);
          }
        outputs.set (y, i * outSize);
        x.delete ();
        for (const r of results)
          r.delete ();
      }
    writeFileSync (pairs[p + 1], Buffer.from (outputs.buffer));
    console.log (`${pairs[p]}: ${nImages} images, ${outSize} outputs each, input shape [${shape}]`);
    model.delete ();
  }
