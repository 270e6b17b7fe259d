// The TensorFlow.js Layers export reproduces our forward pass for every op kind: conv + bias,
// dense, BatchNorm (inference, running statistics), max-pool (valid and same), global average
// pool, add, the option-A shortcut and the 1×1 downsample.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { validateConfig } from '../../src/core/config/load';
import { resolveExperiment } from '../../src/core/experiment/resolve';
import { materializePlan } from '../../src/core/rpg/materialize';
import { Network } from '../../src/engines/tfjs/network';
import { buildLayersModel, fullWeights, loadSavedLayersModel, saveLayersModel } from '../../src/export';
import { relError, seededTensor, useBackend } from '../helpers/tf';

async function check(model: object, input: { height: number; width: number; channels: number }, batch: number) {
  const config = validateConfig({ seed: 7, model, rpg: { dof: '20%' } });
  const r = resolveExperiment(config, { ...input, numClasses: 10 });
  const net = new Network(r.spec, materializePlan(r.plan!), 7);
  // Non-trivial BN running statistics and free parameters.
  let k = 0;
  for (const [name, v] of net.state()) {
    if (name === 'ring') continue;
    const t = seededTensor([...v.shape], ++k);
    v.assign(name.endsWith('running_var') || name.endsWith('.gamma') ? tf.add(tf.abs(t), 0.5) : tf.mul(t, 0.2));
    t.dispose();
  }
  const x = seededTensor([batch, input.height, input.width, input.channels], 99) as tf.Tensor4D;
  const ours = net.forward(x, false).logits;
  const model1 = buildLayersModel(r.spec, await fullWeights(net));
  assert.ok(relError((model1.predict(x) as tf.Tensor).dataSync(), ours.dataSync()) < 1e-5);
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-tfjs-'));
  await saveLayersModel(model1, dir, {});
  const model2 = await loadSavedLayersModel(dir);
  const err = relError((model2.predict(x) as tf.Tensor).dataSync(), ours.dataSync());
  assert.ok(err < 1e-5, `relative error ${err}`);
  assert.equal(model2.countParams(), r.summary.totalParams + model2.layers.filter((l) => l.name.startsWith('shortcut')).reduce((s, l) => s + l.countParams(), 0) + 2 * [...net.bnRunning.values()].reduce((s, b) => s + b.mean.size, 0));
  model1.dispose();
  model2.dispose();
  tf.dispose([x, ours]);
  net.dispose();
}

test('tfjs export: MLP and LeNet-5', async () => {
  await useBackend('cpu');
  await check({ arch: 'mlp', hidden: [16, 8] }, { height: 6, width: 6, channels: 1 }, 3);
  await check({ arch: 'lenet5' }, { height: 28, width: 28, channels: 1 }, 2);
});

test('tfjs export: ResNet-20 (BatchNorm, option-A shortcuts) and a narrow ResNet-18 (ImageNet stem, downsample)', async () => {
  await useBackend('cpu');
  await check({ arch: 'resnet20', width: 0.25 }, { height: 16, width: 16, channels: 3 }, 2);
  await check({ arch: 'resnet18', width: 0.0625 }, { height: 32, width: 32, channels: 3 }, 2);
});
