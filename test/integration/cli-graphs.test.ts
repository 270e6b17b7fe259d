// `rpg plan` and `rpg import` on the new built-ins, graphs and imported Keras models, as a user
// runs them: a child process on dist/cli.js. Keras models are built here with tfjs-layers and
// saved as model.save() writes them; the printed totals must equal their countParams().
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { ensureBuilt } from '../helpers/build';
import { functionalMix, mnistCnn, saveModel } from '../fixtures/keras/generate';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/cli.js');

before(async () => {
  ensureBuilt('cli');
  await tf.setBackend('cpu');
});

function rpg(args: string[], cwd = root) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const tmp = () => mkdtempSync(path.join(tmpdir(), 'rpg-graphs-'));

function writeConfig(dir: string, config: object, name = 'model.rpg.json'): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

const num = (s: string) => Number(s.replace(/,/g, ''));
const totalOf = (out: string) => num(/total parameters\s+([\d,]+)/.exec(out)![1]!);

// Published counts: torchvision vgg11_bn / vgg16_bn / mobilenet_v2 (ImageNet, 1000 classes,
// checked against torchvision 0.14 here), torchvision resnet18/34, He et al.'s CIFAR ResNets.
const IMAGENET = { dataset: 'image-folder', imageSize: 224 };
const BUILT_INS: [string, object, object, number][] = [
  ['vgg11', { arch: 'vgg11', numClasses: 1000 }, IMAGENET, 132_868_840],
  ['vgg16', { arch: 'vgg16', numClasses: 1000 }, IMAGENET, 138_365_992],
  ['vgg11 without BatchNorm', { arch: 'vgg11', batchNorm: false, numClasses: 1000 }, IMAGENET, 132_863_336],
  ['mobilenetv2', { arch: 'mobilenetv2', numClasses: 1000 }, IMAGENET, 3_504_872],
  ['resnet18', { arch: 'resnet18', numClasses: 1000 }, IMAGENET, 11_689_512],
  ['resnet34', { arch: 'resnet34', numClasses: 1000 }, IMAGENET, 21_797_672],
  ['resnet20', { arch: 'resnet20' }, { dataset: 'cifar10' }, 269_722],
  ['resnet56', { arch: 'resnet56' }, { dataset: 'cifar10' }, 853_018],
  ['lenet5', { arch: 'lenet5', batchNorm: false }, { dataset: 'mnist-embedded' }, 44_426],
];

for (const [label, model, data, expected] of BUILT_INS) {
  test(`rpg plan on ${label} prints the published ${expected.toLocaleString('en-US')} parameters`, () => {
    const file = writeConfig(tmp(), { model, rpg: { dof: '10%' }, data });
    const r = rpg(['plan', file]);
    assert.equal(r.code, 0, r.err);
    assert.equal(totalOf(r.out), expected);
  });
}

test('rpg plan on the ViT (28×28 and 32×32) and VGG\'s CIFAR head prints their counts, with the per-kind split', () => {
  // ViT, dim 64, depth 4, 4×4 patches: patch 16·c·64+64, class token 64, positions (T+1)·64,
  // per block 2 LNs (256), attention 4·(64·64+64), MLP 64·128+128+128·64+64; final LN 128; head 64·10+10.
  const vit = (c: number, tokens: number) => 16 * c * 64 + 64 + 64 + (tokens + 1) * 64 + 4 * (256 + 4 * (64 * 64 + 64) + 64 * 128 + 128 + 128 * 64 + 64) + 128 + 650;
  const d = tmp();
  const small = rpg(['plan', writeConfig(d, { model: { arch: 'vit' }, data: { dataset: 'fashion-mnist' } })]);
  assert.equal(totalOf(small.out), vit(1, 49));
  assert.match(small.out, /attention\s+65,536\s+65,536\s+0/);
  assert.match(small.out, /position\s+3,200\s+0\s+3,200\s+position/);
  assert.equal(totalOf(rpg(['plan', writeConfig(d, { model: { arch: 'vit' }, data: { dataset: 'cifar10' } })]).out), vit(3, 64));
  // VGG-11, CIFAR head: the 8 convs with BN, then 512 → 10.
  const convs = [[3, 64], [64, 128], [128, 256], [256, 256], [256, 512], [512, 512], [512, 512], [512, 512]];
  const vgg11Cifar = convs.reduce((s, [a, b]) => s + 9 * a! * b! + b! + 2 * b!, 0) + 512 * 10 + 10;
  assert.equal(totalOf(rpg(['plan', writeConfig(d, { model: { arch: 'vgg11', smallInput: true }, data: { dataset: 'cifar10' } })]).out), vgg11Cifar);
});

/** Saves `model`, plans a config importing it; returns the plan output. */
async function planImported(model: tfl.LayersModel, dataset = 'mnist-embedded') {
  const dir = tmp();
  await saveModel(model, path.join(dir, 'keras'), false);
  const r = rpg(['plan', writeConfig(dir, { model: { import: 'keras/model.json' }, data: { dataset } })]);
  assert.equal(r.code, 0, r.err);
  return { dir, out: r.out, err: r.err };
}

test('rpg plan on an imported Sequential Keras model prints count_params (the BatchNorm moving statistics on their own line)', async () => {
  const model = mnistCnn();
  const { out, err } = await planImported(model);
  const moving = 2 * 16; // bn1: moving mean and variance of 16 channels
  assert.equal(totalOf(out), model.countParams() - moving);
  assert.equal(num(/Keras count_params\s+([\d,]+)/.exec(out)![1]!), model.countParams());
  assert.match(out, /architecture\s+keras:keras_cnn_mnist/);
  assert.match(err, /final softmax .*predictions.* is left out/);
});

test('rpg plan on imported Functional models equals count_params: branches, depthwise/separable convs, concat, layer norm; and an MLP', async () => {
  const mix = functionalMix();
  assert.equal(totalOf((await planImported(mix)).out), mix.countParams());
  const input = tfl.input({ shape: [32, 32, 3] });
  let x = tfl.layers.conv2d({ filters: 8, kernelSize: 5, strides: 2, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
  const y = tfl.layers.conv2d({ filters: 8, kernelSize: 3, dilationRate: 2, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.add().apply([x, y]) as tfl.SymbolicTensor;
  x = tfl.layers.globalMaxPooling2d({}).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reshape({ targetShape: [2, 4] }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 6, activation: 'tanh' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 10 }).apply(x) as tfl.SymbolicTensor;
  const functional = tfl.model({ inputs: input, outputs: out });
  assert.equal(totalOf((await planImported(functional, 'cifar10')).out), functional.countParams());
  const mlp = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [28, 28, 1] }), tfl.layers.dense({ units: 100, activation: 'relu' }), tfl.layers.dense({ units: 10, activation: 'softmax' })] });
  assert.equal(totalOf((await planImported(mlp)).out), mlp.countParams());
});

test('rpg import writes a graph config that plans to the same total; a model the dataset does not fit is a clean error', async () => {
  const model = functionalMix();
  const dir = tmp();
  await saveModel(model, path.join(dir, 'k'), false);
  const out = path.join(dir, 'imported.rpg.json');
  const r = rpg(['import', path.join(dir, 'k', 'model.json'), '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.match(readFileSync(out, 'utf8'), /"graph": \{/);
  assert.match(r.err, /15 nodes, 1,558 parameters/);
  assert.equal(totalOf(rpg(['plan', out]).out), model.countParams());
  const wrong = rpg(['plan', writeConfig(dir, { model: { import: 'k/model.json' }, data: { dataset: 'cifar10' } }, 'wrong.rpg.json')]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /(^|\n)rpg: error: .*wrong\.rpg\.json: model\.import: model\.json expects 28×28×1 inputs, the dataset gives 32×32×3\n$/, JSON.stringify(wrong.err));
});

test('an import with unsupported layers names each (layer, class, file) and never crashes', () => {
  const file = path.join(root, 'test', 'fixtures', 'keras', 'unsupported', 'model.json');
  const r = rpg(['import', file]);
  assert.equal(r.code, 1);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 2, r.err);
  assert.match(lines[0]!, /unsupported\/model\.json: layer `leaky` \(LeakyReLU\) is not supported/);
  assert.match(lines[1]!, /layer `up` \(Conv2DTranspose\) is not supported/);
  assert.doesNotMatch(r.err, /\n\s+at /);
  const dir = tmp();
  const plan = rpg(['plan', writeConfig(dir, { model: { import: file }, data: { dataset: 'mnist-embedded' } })]);
  assert.equal(plan.code, 1);
  assert.match(plan.err, /model\.import: .*layer `leaky` \(LeakyReLU\)/);
  const broken = path.join(dir, 'broken.json');
  writeFileSync(broken, '{"modelTopology": {"class_name": "Sequential", "config": {"layers": [');
  const b = rpg(['plan', writeConfig(dir, { model: { import: 'broken.json' } }, 'b.rpg.json')]);
  assert.equal(b.code, 1);
  assert.match(b.err, /model\.import: .*broken\.json: not valid JSON/);
});

test('a graph with a shape mismatch: one clean error naming the node and its JSON path', () => {
  const dir = tmp();
  const file = writeConfig(dir, {
    model: { graph: {
      blocks: { res: { nodes: [{ id: 'conv', op: 'conv2d', filters: 64, kernel: 3 }, { id: 'add', op: 'add', inputs: ['conv', 'input'] }] } },
      nodes: [{ id: 'stem', op: 'conv2d', filters: 32, kernel: 3, stride: 2 }, { id: 'block2', op: 'block', block: 'res' }, { id: 'pool', op: 'globalAvgPool' }, { id: 'head', op: 'dense', units: 10 }],
    } },
    data: { dataset: 'mnist-embedded' },
  });
  const r = rpg(['plan', file]);
  assert.equal(r.code, 1);
  assert.equal(r.err, `rpg: error: ${file}: model.graph.blocks.res.nodes.1.inputs: node \`block2.add\`: inputs 14×14×64 and 14×14×32 differ\n`);
  const t = rpg(['train', file, '--runs', path.join(dir, 'runs'), '--backend', 'wasm']);
  assert.equal(t.code, 1);
  const errors = t.err.split('\n').filter((l) => l.startsWith('rpg: error'));
  assert.equal(errors.length, 1, t.err);
  assert.match(errors[0]!, /node `block2\.add`: inputs 14×14×64 and 14×14×32 differ/);
  assert.doesNotMatch(t.err, /\n\s+at /);
});

test('the committed examples plan: the residual CNN graph and the imported Keras CNN', () => {
  const g = rpg(['plan', 'examples/residual-cnn-graph-fashion-mnist.rpg.json']);
  assert.equal(g.code, 0, g.err);
  assert.match(g.out, /stage3\.1\.conv2\.kernel\s+conv\s+3×3×128×128\s+147,456\s+ring/);
  assert.match(g.out, /stem\.kernel\s+conv\s+3×3×1×32\s+288\s+free \(stem\)/);
  const k = rpg(['plan', 'examples/keras-cnn-mnist.rpg.json']);
  assert.equal(k.code, 0, k.err);
  assert.match(k.out, /Keras count_params 56,778/);
});

test('rpg train and rpg eval on a tiny ViT and an imported Keras model: runs finish, checkpoints carry the new parameters, eval matches', () => {
  const dir = tmp();
  for (const [name, model] of [
    ['vit-tiny', { arch: 'vit', vit: { patch: 7, dim: 16, depth: 1, heads: 2, mlpDim: 16, dropout: 0.1 } }],
    ['keras-tiny', { import: path.join(root, 'examples', 'keras-cnn-mnist', 'model.json') }],
  ] as const) {
    const file = writeConfig(dir, { name, model, rpg: { dof: '10%' }, data: { dataset: 'mnist-embedded', trainSize: 192, testSize: 128 }, train: { batchSize: 64, epochs: 1, backend: 'wasm' } }, `${name}.rpg.json`);
    const r = rpg(['train', file, '--runs', path.join(dir, 'runs')]);
    assert.equal(r.code, 0, r.err);
    const acc = /finished after \d+ steps: test accuracy ([\d.]+)%/.exec(r.out + r.err)?.[1];
    assert.ok(acc !== undefined, r.out + r.err);
    const runDir = /checkpoint (\S+)\/checkpoint\.bin/.exec(r.out)![1]!;
    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { status: string };
    assert.equal(record.status, 'finished');
    const e = rpg(['eval', runDir]);
    assert.equal(e.code, 0, e.err);
    assert.match(e.out, new RegExp(`test accuracy: ${acc!.replace('.', '\\.')}%`));
  }
});
