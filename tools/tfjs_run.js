// Run a TF.js graph model in Node (pure-JS CPU backend) on tensors read from files.
//
//   node tools/tfjs_run.js NODE_DIR REQUEST.json
//
// NODE_DIR holds node_modules with @tensorflow/tfjs-core, -converter and
// -backend-cpu (tools/verify_conversion.py installs them in a cache folder).
// REQUEST.json:
//   {"model": "/path/model.json",
//    "runs": [{"inputs": {"input": {"dtype": "int32", "shape": [1, 256, 256, 3], "file": "/path/in.bin"}},
//              "outputs": ["Identity:0"], "prefix": "/path/out_0_"}]}
// Tensors are raw little-endian float32 / int32. For each run, output k is
// written to PREFIX + k + ".bin"; a JSON list of [[shape, dtype], ...] per run
// is printed on stdout.
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

async function main() {
  const [nodeDir, requestPath] = process.argv.slice(2);
  if (!nodeDir || !requestPath) throw new Error('usage: node tfjs_run.js NODE_DIR REQUEST.json');
  const req = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
  const tf = req('@tensorflow/tfjs-core');
  req('@tensorflow/tfjs-backend-cpu');
  const tfconv = req('@tensorflow/tfjs-converter');
  await tf.setBackend('cpu');
  await tf.ready();

  const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'));
  const json = JSON.parse(fs.readFileSync(request.model, 'utf8'));
  const dir = path.dirname(request.model);
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const artifacts = {
    modelTopology: json.modelTopology, weightSpecs, weightData, format: json.format,
    generatedBy: json.generatedBy, convertedBy: json.convertedBy, signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
  };
  const model = await tfconv.loadGraphModel({ load: async () => artifacts });

  const results = [];
  for (const run of request.runs) {
    const feeds = {};
    for (const [name, spec] of Object.entries(run.inputs)) {
      const raw = fs.readFileSync(spec.file);
      const ab = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
      const data = spec.dtype === 'int32' ? new Int32Array(ab) : new Float32Array(ab);
      feeds[name] = tf.tensor(data, spec.shape, spec.dtype);
    }
    let outs = await model.executeAsync(feeds, run.outputs);
    if (!Array.isArray(outs)) outs = [outs];
    const meta = [];
    for (let k = 0; k < outs.length; k++) {
      const values = await outs[k].data();
      fs.writeFileSync(`${run.prefix}${k}.bin`, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
      meta.push([outs[k].shape, outs[k].dtype]);
    }
    tf.dispose([...Object.values(feeds), ...outs]);
    results.push(meta);
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
