// A ViT and graph models train in the tfjs engine: on cpu and wasm, a few steps on a fixed
// batch of real digits lower the loss with every variable moving (the ring included), no tensor
// leaks, and two runs with the same seed — dropout masks included — give the same losses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../helpers/tf';
import { useWebGpuBackend, webgpuOrSkip } from '../helpers/webgpu';
import { validateConfig } from '../../src/core/config/load';
import { resolveExperiment } from '../../src/core/experiment/resolve';
import { materializePlan } from '../../src/core/rpg/materialize';
import { loadDataset, batches } from '../../src/core/data';
import { Network } from '../../src/engines/tfjs/network';
import { Optimizer } from '../../src/engines/tfjs/optimizer';
import { trainStep } from '../../src/engines/tfjs/step';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { train } from '../helpers/train';
import { readCheckpoint } from '../../src/core/checkpoint/file';
import type { TrainRow } from '../../src/core/train/rows';

const VIT = { arch: 'vit', vit: { patch: 7, dim: 16, depth: 2, heads: 2, mlpDim: 32, dropout: 0.1 } };
const GRAPH = {
  graph: {
    blocks: { inverted: { nodes: [
      { id: 'expand', op: 'conv2d', filters: 16, kernel: 1, bias: false },
      { id: 'bn', op: 'batchNorm' },
      { id: 'act', op: 'relu6' },
      { id: 'dw', op: 'depthwiseConv2d', kernel: 3 },
      { id: 'project', op: 'conv2d', filters: 8, kernel: 1 },
      { id: 'sum', op: 'add', inputs: ['project', 'input'] },
    ] } },
    nodes: [
      { id: 'stem', op: 'conv2d', filters: 8, kernel: 3, stride: 2 },
      { id: 'blocks', op: 'block', block: 'inverted', repeat: 2 },
      { id: 'wide', op: 'conv2d', filters: 8, kernel: 3, dilation: 2, groups: 2 },
      { id: 'avg', op: 'avgPool', size: 2 },
      { id: 'cat', op: 'concat', inputs: ['avg', 'avg2'] },
      { id: 'avg2', op: 'maxPool', size: 2, inputs: ['wide'] },
      { id: 'tokens', op: 'reshape', shape: [-1, 16], inputs: ['cat'] },
      { id: 'ln', op: 'layerNorm' },
      { id: 'attn', op: 'attention', heads: 2 },
      { id: 'pool', op: 'globalAvgPool' },
      { id: 'drop', op: 'dropout', rate: 0.2 },
      { id: 'hidden', op: 'dense', units: 16 },
      { id: 'g', op: 'gelu' },
      { id: 'head', op: 'dense', units: 'numClasses' },
    ],
  },
};

async function run(model: object, backend: 'cpu' | 'wasm', steps: number) {
  await useBackend(backend);
  const config = validateConfig({ seed: 3, model, rpg: { dof: '20%' }, data: { dataset: 'mnist-embedded', trainSize: 64 }, train: { optimizer: 'adam', lr: 0.003 } });
  const data = await loadDataset(config.data, process.cwd());
  const r = resolveExperiment(config, data);
  const m = materializePlan(r.plan!);
  const net = new Network(r.spec, m, config.seed);
  const opt = new Optimizer({ name: 'adam', momentum: 0.9, weightDecay: 0, normalization: 'projected' }, net.variables, m);
  const b = batches('train', data, 64, { seed: 1, epoch: 0, shuffle: false, augment: false }).next().value!;
  const x = tf.tensor4d(b.x, [b.size, data.height, data.width, data.channels]);
  const y = tf.tensor1d(b.y, 'int32');
  const before = new Map(net.variables.map((v) => [v.name, v.variable.dataSync().slice()]));
  const losses: number[] = [];
  await trainStep(net, opt, x, y, 0.003, 0);
  const live = tf.memory().numTensors;
  for (let s = 1; s < steps; s++) losses.push((await trainStep(net, opt, x, y, 0.003, s)).loss);
  const leaked = tf.memory().numTensors - live;
  const moved = net.variables.filter((v) => v.variable.dataSync().some((value, i) => value !== before.get(v.name)![i])).map((v) => v.name);
  const unmoved = net.variables.map((v) => v.name).filter((n) => !moved.includes(n));
  const { acc } = tf.tidy(() => {
    const logits = net.forward(x, false).logits;
    return { acc: tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')).dataSync()[0]! };
  });
  tf.dispose([x, y]);
  opt.dispose();
  net.dispose();
  return { losses, leaked, unmoved, acc, ring: r.plan!.ringSize, kinds: new Set(r.plan!.layers.map((l) => l.param.kind)) };
}

for (const [label, model] of [['ViT', VIT], ['graph (inverted residuals, grouped dilated conv, concat, attention, dropout)', GRAPH]] as const) {
  for (const backend of ['cpu', 'wasm'] as const) {
    test(`${label} trains on ${backend}: the loss falls on a fixed batch, every variable moves, no tensor leaks, same seed same losses`, async () => {
      const a = await run(model, backend, 20);
      assert.ok(a.losses.every(Number.isFinite), a.losses.join(' '));
      assert.ok(a.losses[a.losses.length - 1]! < 0.9 * a.losses[0]!, `loss ${a.losses[0]} → ${a.losses[a.losses.length - 1]}`);
      assert.deepEqual(a.unmoved, []);
      assert.equal(a.leaked, 0);
      assert.ok(a.kinds.has('attention') && a.kinds.has('dense'));
      const b = await run(model, backend, 20);
      assert.deepEqual(b.losses, a.losses);
    });
  }
}

test('a ViT with dropout stops and resumes bit-exactly: the masks follow the step, the checkpoint holds tokens and position embeddings', async () => {
  const config = validateConfig({
    name: 'vit-resume', seed: 5, model: { arch: 'vit', vit: { patch: 7, dim: 16, depth: 1, heads: 2, mlpDim: 16, dropout: 0.2 } }, rpg: { dof: '20%' },
    data: { dataset: 'mnist-embedded', trainSize: 192, testSize: 64 }, train: { optimizer: 'adam', lr: 0.003, batchSize: 32, epochs: 2, backend: 'wasm' },
  });
  const rowsOf = async (runsDir: string, extra: { signal?: AbortSignal; resumeFrom?: string } = {}, stopAt?: number, controller?: AbortController) => {
    const rows: TrainRow[] = [];
    const result = await train({ config, runsDir, ...extra }, { onTrainRow: (r) => { rows.push(r); if (r.step === stopAt) controller!.abort(); } });
    return { rows, result };
  };
  const whole = await rowsOf(mkdtempSync(path.join(tmpdir(), 'rpg-vit-')));
  const runsDir = mkdtempSync(path.join(tmpdir(), 'rpg-vit-'));
  const controller = new AbortController();
  const first = await rowsOf(runsDir, { signal: controller.signal }, 4, controller);
  assert.equal(first.result.status, 'stopped');
  const names = [...readCheckpoint(first.result.runDir).tensors.keys()];
  for (const n of ['ring', 'cls_token.token', 'pos_embed.embeddings', 'blocks.0.norm1.gamma', 'blocks.0.attn.query.bias']) assert.ok(names.includes(n), `${n} in the checkpoint`);
  const resumed = await rowsOf(runsDir, { resumeFrom: first.result.runDir });
  assert.deepEqual([...first.rows, ...resumed.rows].map((r) => [r.step, r.loss]), whole.rows.map((r) => [r.step, r.loss]));
});

test('the ViT and the graph model train on webgpu (when an adapter exists): the loss falls as on wasm', async (t) => {
  if (!(await webgpuOrSkip(t))) return;
  for (const model of [VIT, GRAPH]) {
    await useWebGpuBackend();
    const config = validateConfig({ seed: 3, model, rpg: { dof: '20%' }, data: { dataset: 'mnist-embedded', trainSize: 64 }, train: { optimizer: 'adam', lr: 0.003 } });
    const data = await loadDataset(config.data, process.cwd());
    const r = resolveExperiment(config, data);
    const m = materializePlan(r.plan!);
    const net = new Network(r.spec, m, config.seed);
    const opt = new Optimizer({ name: 'adam', momentum: 0.9, weightDecay: 0, normalization: 'projected' }, net.variables, m);
    const b = batches('train', data, 64, { seed: 1, epoch: 0, shuffle: false, augment: false }).next().value!;
    const x = tf.tensor4d(b.x, [b.size, data.height, data.width, data.channels]);
    const y = tf.tensor1d(b.y, 'int32');
    const losses: number[] = [];
    for (let s = 0; s < 20; s++) losses.push((await trainStep(net, opt, x, y, 0.003, s)).loss);
    assert.ok(losses.every(Number.isFinite) && losses[losses.length - 1]! < 0.9 * losses[0]!, losses.join(' '));
    const wasm = await run(model, 'wasm', 20);
    // Same maths, different float rounding: the curves agree closely, not bit for bit.
    assert.ok(Math.abs(losses[losses.length - 1]! - wasm.losses[wasm.losses.length - 1]!) < 0.05 * wasm.losses[0]!, `webgpu ${losses.at(-1)} vs wasm ${wasm.losses.at(-1)}`);
    tf.dispose([x, y]);
    opt.dispose();
    net.dispose();
  }
});
