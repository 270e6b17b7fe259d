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
import { ExportUnsupportedError } from '../../src/export/tfjs-layers';
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

test('tfjs export: narrow MobileNetV2 (depthwise, ReLU6, inverted residuals), VGG-11 with the CIFAR head, and a graph with every exportable op', async () => {
  await useBackend('cpu');
  await check({ arch: 'mobilenetv2', width: 0.25, smallInput: true }, { height: 16, width: 16, channels: 3 }, 2);
  await check({ arch: 'vgg11', width: 0.125, smallInput: true }, { height: 32, width: 32, channels: 3 }, 2);
  await check({ graph: { nodes: [
    { id: 'c', op: 'conv2d', filters: 6, kernel: 3, dilation: 2 },
    { id: 'dw', op: 'conv2d', filters: 12, kernel: 3, groups: 6, stride: 2 },
    { id: 'dw2', op: 'depthwiseConv2d', kernel: 3, multiplier: 2, bias: false },
    { id: 'bn', op: 'batchNorm', epsilon: 0.001 },
    { id: 'r6', op: 'relu6' },
    { id: 'ap', op: 'avgPool', size: 2 },
    { id: 'mp', op: 'maxPool', size: 3, stride: 1, padding: 'same', inputs: ['r6'] },
    { id: 'mp2', op: 'maxPool', size: 2, inputs: ['mp'] },
    { id: 'cat', op: 'concat', inputs: ['ap', 'mp2'] },
    { id: 'sig', op: 'sigmoid' },
    { id: 'resh', op: 'reshape', shape: [-1, 16] },
    { id: 'ln', op: 'layerNorm' },
    { id: 'd1', op: 'dense', units: 8 },
    { id: 'g', op: 'gelu' },
    { id: 'drop', op: 'dropout', rate: 0.3 },
    { id: 'gmp', op: 'globalMaxPool' },
    { id: 't', op: 'tanh' },
    { id: 'head', op: 'dense', units: 'numClasses' },
  ] } }, { height: 12, width: 12, channels: 2 }, 3);
});

test('tfjs export: a model with self-attention (the ViT) is refused naming the op', async () => {
  await useBackend('cpu');
  const config = validateConfig({ model: { arch: 'vit', vit: { depth: 1, dim: 8, heads: 2, mlpDim: 8 } }, rpg: { dof: '20%' } });
  const r = resolveExperiment(config, { height: 8, width: 8, channels: 1, numClasses: 10 });
  const net = new Network(r.spec, materializePlan(r.plan!), 1);
  const weights = await fullWeights(net);
  assert.throws(() => buildLayersModel(r.spec, weights), (e: unknown) => e instanceof ExportUnsupportedError && /cls_token: class-token has no TensorFlow\.js Layers equivalent/.test(e.message));
  net.dispose();
});
