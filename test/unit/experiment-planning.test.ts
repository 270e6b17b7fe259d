// The plan as the Layers view, CodeLens and ring mapping read it (core/experiment/planning):
// every example against the DoF accounting, unsaved text, errors naming their field, and one
// layer's weights against the reference generation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { loadConfigFile, parseConfigText } from '../../src/core/config/load';
import { DatasetError, describeDataset } from '../../src/core/data/index';
import { nominalDatasetInfo } from '../../src/core/data/standard-shapes';
import { describeFailure, Failure } from '../../src/core/errors';
import { layerWeightsFor, planFor } from '../../src/core/experiment/planning';
import { resolveExperiment } from '../../src/core/experiment/resolve';
import { generateWeights, initialRing, materializePlan } from '../../src/core/rpg/materialize';

const REPO = path.resolve(__dirname, '../..');
const EXAMPLES = path.join(REPO, 'examples');
const exampleFiles = readdirSync(EXAMPLES).filter((f) => f.endsWith('.rpg.json'));

const tinyConfig = (train: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name: 'tiny-mlp', seed: 7, model: { arch: 'mlp', hidden: [32] }, rpg: { dof: '10%' }, data: { dataset: 'mnist-embedded', trainSize: 512, testSize: 128 }, train: { optimizer: 'adam', lr: 0.003, batchSize: 32, epochs: 1, backend: 'cpu', ...train }, ...extra });

/** What a call threw, as every process reports it (code, message, field, file). */
function failure(call: () => unknown): Failure & { data: Failure } {
  try {
    call();
  } catch (err) {
    const f = describeFailure(err);
    return { ...f, data: f };
  }
  return assert.fail('the call should have failed');
}

test('plan of every example matches the in-process DoF accounting', () => {
  assert.ok(exampleFiles.length > 0, 'examples/ has configs');
  let planned = 0;
  for (const file of exampleFiles) {
    const configPath = path.join(EXAMPLES, file);
    const config = loadConfigFile(configPath);
    let info;
    let missingData = false;
    try {
      info = describeDataset(config.data, EXAMPLES);
    } catch (err) {
      // A dataset that is not on this machine: planned with its standard shape, and said so.
      assert.ok(err instanceof DatasetError, String(err));
      info = nominalDatasetInfo(config.data, config.model.numClasses);
      missingData = true;
    }
    const expected = resolveExperiment(config, info, { baseDir: EXAMPLES }); // the folder a relative model.import resolves against
    const plan = planFor({ configPath });
    assert.equal(plan.inputNote !== undefined, missingData, `${file}: inputNote only when the data is missing`);
    if (missingData) assert.match(plan.inputNote!, /planned with the standard/);
    assert.deepEqual(plan.summary, JSON.parse(JSON.stringify(expected.summary)), file);
    assert.equal(plan.ringSize, expected.summary.ringSize, file);
    assert.equal(plan.configPath, configPath);
    const generated = expected.summary.rows.filter((r) => r.generated);
    assert.deepEqual(plan.layers.map((l) => [l.name, l.params, l.offset]), generated.map((r) => [r.name, r.params, r.offset]), file);
    assert.equal(plan.free.reduce((s, p) => s + p.params, 0), expected.summary.freeParams, file);
    if (plan.mode === 'ring') {
      for (const l of plan.layers) {
        const fetched = l.spans.reduce((s, sp) => s + sp.end - sp.start, 0) + l.fullWraps * plan.ringSize;
        assert.equal(fetched, l.params, `${file} ${l.name}: spans cover the layer`);
      }
    }
    planned++;
  }
  assert.ok(planned >= 3, `${planned} examples planned`);
});

test('unsaved text wins over the file it names', () => {
  const configPath = path.join(EXAMPLES, exampleFiles[0]!);
  const plan = planFor({ configPath, text: tinyConfig({}, { rpg: { dof: 1000 } }) });
  assert.equal(plan.name, 'tiny-mlp');
  assert.equal(plan.ringSize, 1000);
  assert.equal(plan.summary.arch, 'mlp');
});

test('config errors name the field', () => {
  const bad = failure(() => planFor({ text: tinyConfig({ lr: -1 }) }));
  assert.equal(bad.data.code, 'config');
  assert.equal(bad.data.field, 'train.lr');
  const tooBig = failure(() => planFor({ text: tinyConfig({}, { rpg: { dof: 10_000_000 } }) }));
  assert.equal(tooBig.data.code, 'plan');
  assert.equal(tooBig.data.field, 'rpg.dof');
  const syntax = failure(() => planFor({ text: '{ "model": ' }));
  assert.equal(syntax.data.code, 'config');
  assert.match(syntax.message, /syntax error at 1:/);
  const missing = failure(() => planFor({ configPath: path.join(EXAMPLES, 'no-such.rpg.json') }));
  assert.equal(missing.data.file, path.join(EXAMPLES, 'no-such.rpg.json'));
  const nothing = failure(() => planFor({}));
  assert.equal(nothing.data.code, 'protocol');
});

test('layer weights of the initial ring equal the reference generation', () => {
  const text = tinyConfig();
  const plan = planFor({ text });
  const layer = plan.layers[0]!;
  const full = layerWeightsFor({ text, layer: layer.name, maxValues: 1e9 });
  const resolved = resolveExperiment(parseConfigText(text), { height: 28, width: 28, channels: 1, numClasses: 10 });
  const reference = generateWeights(materializePlan(resolved.plan!), initialRing(resolved.plan!)).subarray(layer.offset, layer.offset + layer.params);
  assert.equal(full.source, 'initial');
  assert.deepEqual([full.rows, full.cols], [784, 32]);
  assert.deepEqual(full.values, Array.from(reference));
  assert.equal(full.histogram.counts.reduce((a, b) => a + b, 0), layer.params);
  assert.equal(full.histogram.edges.length, full.histogram.counts.length + 1);
  assert.ok(full.signBalance > 0.45 && full.signBalance < 0.55, `sign balance ${full.signBalance}`);

  const sample = layerWeightsFor({ text, layer: layer.name, maxValues: 500 });
  assert.ok(sample.values.length <= 500 && sample.values.length === sample.rows * sample.cols, `${sample.rows}×${sample.cols}`);
  assert.deepEqual(sample.histogram, full.histogram, 'the histogram covers every weight, not the sample');
  const again = layerWeightsFor({ text, layer: layer.name, maxValues: 500 });
  assert.deepEqual(again.values, sample.values, 'the sample is deterministic');

  const unknown = failure(() => layerWeightsFor({ text, layer: 'conv9' }));
  assert.equal(unknown.data.field, 'layer');
});

