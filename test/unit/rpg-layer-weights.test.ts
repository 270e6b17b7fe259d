// The ring mapping's layer weights, as the extension computes them (core/experiment/planning.ts
// in its worker thread): one layer generated on its own must equal the reference
// generation of the whole plan, from the initial ring and from a real checkpoint's ring; a
// checkpoint that does not fit the plan (or is corrupt) falls back with a note naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { parseConfigText } from '../../src/core/config/load';
import { resolveExperiment } from '../../src/core/experiment/resolve';
import type { RpgConfig } from '../../src/core/config/schema';
import { layerWeightsFor } from '../../src/core/experiment/planning';
import { generateWeights, initialRing, materializeLayer, materializePlan } from '../../src/core/rpg/materialize';
import type { RpgPlan } from '../../src/core/rpg/plan';
import { Rng } from '../../src/core/rpg/prng';
import { CHECKPOINT_FILE, CheckpointMeta, RING_TENSOR, writeCheckpoint } from '../../src/core/checkpoint/file';
import { ringToView } from '../../src/core/checkpoint/ring';

const MNIST = { height: 28, width: 28, channels: 1, numClasses: 10 };
const REPO = path.resolve(__dirname, '../..');

function configText(sampling: 'ring' | 'shuffled', extra: { seed?: number; ringInitStd?: number } = {}): string {
  return JSON.stringify({
    name: `lenet-${sampling}`,
    seed: extra.seed ?? 3,
    model: { arch: 'lenet5' },
    rpg: { dof: '7%', sampling, ...(extra.ringInitStd ? { ringInitStd: extra.ringInitStd } : {}) },
    data: { dataset: 'mnist-embedded' },
  });
}

function planOf(text: string): { config: RpgConfig; plan: RpgPlan } {
  const config = parseConfigText(text);
  return { config, plan: resolveExperiment(config, MNIST).plan! };
}

/** The whole plan generated the reference way, cut to one layer. */
function referenceLayer(plan: RpgPlan, ring: Float32Array, name: string): number[] {
  const layer = plan.layers.find((g) => g.param.name === name)!;
  return Array.from(generateWeights(materializePlan(plan), ring).subarray(layer.offset, layer.offset + layer.size));
}

/** A ring as training leaves it: not the initial one. */
function trainedRing(plan: RpgPlan): Float32Array {
  const rng = new Rng(99, 'test-trained-ring');
  return Float32Array.from(initialRing(plan), (v) => v * 1.5 + rng.nextNormal() * 0.01);
}

function writeRun(config: RpgConfig, plan: RpgPlan, ring: Float32Array, meta: Partial<CheckpointMeta> = {}): string {
  const runDir = mkdtempSync(path.join(tmpdir(), 'rpg-layer-weights-'));
  const full: CheckpointMeta = {
    formatVersion: 2, step: 40, epoch: 0, batchInEpoch: 40, seed: config.seed, planHash: plan.hash,
    planContentHash: materializePlan(plan).contentHash, ringSize: ring.length, backend: 'cpu', optimizerStep: 40,
    bestAcc: 0.5, lastAcc: 0.5, elapsedSec: 1, config, savedAt: new Date(0).toISOString(), ...meta,
  };
  // Other tensors around the ring, as a real checkpoint has (free parameters).
  writeCheckpoint(runDir, full, new Map([
    ['conv1.bias', { shape: [6], values: new Float32Array(6).fill(0.25) }],
    [RING_TENSOR, { shape: [ring.length], values: ring }],
  ]));
  return runDir;
}

test('Rng skip, skipPermutation and state resume a stream exactly', () => {
  const a = new Rng(5, 's');
  a.permutation(1000);
  a.nextUint32();
  const b = new Rng(5, 's');
  b.skipPermutation(1000);
  b.skip(1);
  assert.deepEqual([b.nextUint32(), b.nextUint32()], [a.nextUint32(), a.nextUint32()]);
  a.nextNormal(); // leaves a spare normal in the state
  const c = Rng.fromState(a.state());
  assert.deepEqual([c.nextNormal(), c.nextUint32()], [a.nextNormal(), a.nextUint32()]);
});

test('materializeLayer equals materializePlan over the layer, in any order and across plans', () => {
  for (const sampling of ['ring', 'shuffled'] as const) {
    for (const seed of [3, 4]) {
      const { plan } = planOf(configText(sampling, { seed }));
      const m = materializePlan(plan);
      // Last layer first, then the rest: the stream cache must extend and restart correctly.
      for (const layer of [...plan.layers].reverse().concat(plan.layers)) {
        const one = materializeLayer(plan, layer);
        assert.deepEqual(one.index, m.index.subarray(layer.offset, layer.offset + layer.size), `${sampling} seed ${seed} ${layer.param.name} index`);
        assert.deepEqual(one.signScale, m.signScale.subarray(layer.offset, layer.offset + layer.size), `${sampling} seed ${seed} ${layer.param.name} signScale`);
      }
    }
  }
});

for (const sampling of ['ring', 'shuffled'] as const) {
  test(`${sampling}: every layer from the initial ring equals the reference generation`, () => {
    const text = configText(sampling);
    const { plan } = planOf(text);
    for (const layer of plan.layers) {
      const r = layerWeightsFor({ text, layer: layer.param.name, maxValues: 1e9 });
      assert.equal(r.source, 'initial');
      assert.equal(r.note, undefined);
      assert.equal(r.layer, layer.param.name);
      assert.deepEqual(r.shape, layer.param.shape);
      assert.equal(r.rows * r.cols, layer.size);
      assert.deepEqual(r.values, referenceLayer(plan, initialRing(plan), layer.param.name));
      assert.equal(r.histogram.counts.reduce((s, c) => s + c, 0), layer.size);
    }
  });

  test(`${sampling}: a checkpoint written by checkpoint.ts gives its trained ring's weights`, () => {
    const text = configText(sampling);
    const { config, plan } = planOf(text);
    const ring = trainedRing(plan);
    const runDir = writeRun(config, plan, ring);
    try {
      for (const layer of plan.layers) {
        const r = layerWeightsFor({ text, layer: layer.param.name, runDir, maxValues: 1e9 });
        assert.equal(r.source, 'checkpoint', r.note);
        assert.equal(r.note, undefined);
        const expected = referenceLayer(plan, ring, layer.param.name);
        assert.deepEqual(r.values, expected);
        assert.notDeepEqual(r.values, referenceLayer(plan, initialRing(plan), layer.param.name));
      }
      // By layer name too ("conv2" for "conv2.kernel").
      assert.equal(layerWeightsFor({ text, layer: 'conv2', runDir }).layer, 'conv2.kernel');
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });
}

test('a checkpoint of another plan is passed over with a note naming the file and both hashes', () => {
  const trained = planOf(configText('ring', { seed: 3 }));
  const runDir = writeRun(trained.config, trained.plan, trainedRing(trained.plan));
  try {
    const text = configText('ring', { seed: 4 }); // same architecture and ring size, other seed
    const now = planOf(text).plan;
    assert.notEqual(now.hash, trained.plan.hash);
    const r = layerWeightsFor({ text, layer: 'fc1.kernel', runDir, maxValues: 1e9 });
    assert.equal(r.source, 'initial');
    const note = r.note ?? '';
    assert.ok(note.startsWith(`${path.join(runDir, CHECKPOINT_FILE)}: `), note);
    assert.ok(note.includes(trained.plan.hash) && note.includes(now.hash), note);
    assert.match(note, /initial ring/);
    assert.deepEqual(r.values, referenceLayer(now, initialRing(now), 'fc1.kernel'));
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('a checkpoint trained with another ringInitStd (same plan hash) is passed over', () => {
  const text = configText('ring');
  const { config, plan } = planOf(text);
  const other = planOf(configText('ring', { ringInitStd: 0.05 }));
  assert.equal(other.plan.hash, plan.hash, 'the hash leaves ringInitStd out');
  const runDir = writeRun(other.config, other.plan, trainedRing(other.plan));
  try {
    const r = layerWeightsFor({ text, layer: 'conv1.kernel', runDir });
    assert.equal(r.source, 'initial');
    assert.match(r.note ?? '', /ringInitStd 0\.05/);
    // The config it was trained with shows it.
    assert.equal(layerWeightsFor({ text: configText('ring', { ringInitStd: 0.05 }), layer: 'conv1.kernel', runDir }).source, 'checkpoint');
    assert.equal(config.rpg.ringInitStd, plan.ringInitStd);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('corrupt, truncated, missing and ring-less checkpoints fall back with what was wrong', () => {
  const text = configText('ring');
  const { config, plan } = planOf(text);
  const initial = referenceLayer(plan, initialRing(plan), 'conv2.kernel');
  const cases: [string, (file: string) => void, RegExp][] = [
    ['flipped payload byte', (f) => {
      const b = readFileSync(f);
      b[b.length - 3] = b[b.length - 3]! ^ 0xff;
      writeFileSync(f, b);
    }, /is corrupted \(its SHA-256 does not match/],
    ['truncated', (f) => writeFileSync(f, readFileSync(f).subarray(0, 200)), /is corrupted/],
    ['not a checkpoint', (f) => writeFileSync(f, 'hello'), /is corrupted \(only 5 bytes\)/],
    ['not a checkpoint, longer', (f) => writeFileSync(f, 'hello, this is not a checkpoint'), /not an RPG Studio checkpoint/],
    ['header without tensor list', (f) => {
      const header = Buffer.from('{"meta":{}}');
      const head = Buffer.alloc(12);
      head.write('RPGCKPT1', 0, 'ascii');
      head.writeUInt32LE(header.length, 8);
      writeFileSync(f, Buffer.concat([head, header]));
    }, /is corrupted \(truncated payload\)/],
    ['missing', (f) => rmSync(f), /no checkpoint found/],
  ];
  for (const [what, damage, why] of cases) {
    const runDir = writeRun(config, plan, trainedRing(plan));
    try {
      const file = path.join(runDir, CHECKPOINT_FILE);
      damage(file);
      const r = layerWeightsFor({ text, layer: 'conv2.kernel', runDir, maxValues: 1e9 });
      assert.equal(r.source, 'initial', what);
      const note = r.note ?? '';
      assert.ok(note.includes(file), `${what}: ${note}`);
      assert.match(note, why, what);
      assert.deepEqual(r.values, initial, what);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  }
  // A plain-model checkpoint of the same name has no ring at all.
  const runDir = mkdtempSync(path.join(tmpdir(), 'rpg-layer-weights-'));
  try {
    writeCheckpoint(runDir, { formatVersion: 2, step: 1, epoch: 0, batchInEpoch: 1, seed: config.seed, planHash: null, planContentHash: null, ringSize: 0, backend: 'cpu', optimizerStep: 1, bestAcc: 0, lastAcc: 0, elapsedSec: 1, config, savedAt: new Date(0).toISOString() }, new Map([['conv1.kernel', { shape: [1], values: new Float32Array(1) }]]));
    const r = layerWeightsFor({ text, layer: 'conv2.kernel', runDir });
    assert.equal(r.source, 'initial');
    assert.match(r.note ?? '', /no ring tensor/);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});

test('the initial ring a view shares is the one of the plan and ringInitStd asked about', () => {
  // Same plan hash, other ringInitStd (the hash leaves it out): another ring, then the first again.
  const a = planOf(configText('ring')).plan;
  const b = planOf(configText('ring', { ringInitStd: 0.05 })).plan;
  const c = planOf(configText('ring', { seed: 4 })).plan;
  assert.equal(a.hash, b.hash);
  for (const plan of [a, b, b, c, a]) {
    const view = ringToView(plan);
    assert.equal(view.source, 'initial');
    assert.deepEqual(view.ring, initialRing(plan));
  }
  assert.equal(ringToView(a).ring, ringToView(a).ring, 'drawn once for repeated views');
});

test('the heatmap is a deterministic strided sample; the histogram covers every weight', () => {
  const text = configText('ring');
  const full = layerWeightsFor({ text, layer: 'fc1.kernel', maxValues: 1e9 });
  const sample = layerWeightsFor({ text, layer: 'fc1.kernel', maxValues: 500 });
  assert.ok(sample.values.length <= 500 && sample.values.length === sample.rows * sample.cols, `${sample.rows}×${sample.cols}`);
  // Every sampled value is the full grid's value at its strided position.
  const rowStride = Math.ceil(full.rows / sample.rows);
  const colStride = Math.ceil(full.cols / sample.cols);
  for (let r = 0; r < sample.rows; r += 7) {
    for (let c = 0; c < sample.cols; c += 3) assert.equal(sample.values[r * sample.cols + c], full.values[r * rowStride * full.cols + c * colStride]);
  }
  assert.deepEqual(sample.histogram, full.histogram);
  assert.equal(sample.signBalance, full.signBalance);
  assert.deepEqual(layerWeightsFor({ text, layer: 'fc1.kernel', maxValues: 500 }).values, sample.values);
});

test('an unknown layer and a plain model are input errors naming the field', () => {
  const text = configText('ring');
  assert.throws(() => layerWeightsFor({ text, layer: 'conv9' }), (e: Error & { field?: string }) => e.field === 'layer' && /conv1\.kernel/.test(e.message));
  const plain = JSON.stringify({ name: 'p', model: { arch: 'lenet5' }, rpg: { enabled: false }, data: { dataset: 'mnist-embedded' } });
  assert.throws(() => layerWeightsFor({ text: plain, layer: 'conv1.kernel' }), (e: Error & { field?: string }) => e.field === 'rpg.enabled');
});

test('the extension and its layer weights worker compute layer weights without tfjs', async () => {
  // esbuild.mjs's options for Node bundles, in memory, to list what each entry pulls in.
  const imports = async (entry: string) => {
    const r = await build({ absWorkingDir: REPO, entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', external: ['vscode', '@tensorflow/*'], mainFields: ['module', 'main'], write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(r.metafile.inputs);
    const external = Object.values(r.metafile.inputs).flatMap((i) => i.imports.filter((x) => x.external).map((x) => x.path));
    return { inputs, external };
  };
  const extension = await imports('src/extension/main.ts');
  assert.deepEqual(extension.external.filter((p) => p.startsWith('@tensorflow')), []);
  // The worker thread (dist/layer-weights-worker.js) loads neither tfjs nor vscode.
  const worker = await imports('src/extension/layer-weights/worker.ts');
  assert.ok(worker.inputs.includes('src/core/rpg/layer-weights.ts') && worker.inputs.includes('src/core/checkpoint/ring.ts'), 'the worker bundles the computation');
  assert.deepEqual(worker.external.filter((p) => p === 'vscode' || p.startsWith('@tensorflow')), []);
  // The check can fail: the trainer does load tfjs.
  assert.ok((await imports('src/trainer/main.ts')).external.some((p) => p.startsWith('@tensorflow')));
});

test('a run checkpoint is read once while unchanged and again when training replaces it', () => {
  const { config, plan } = planOf(configText('ring'));
  const first = trainedRing(plan);
  const runDir = writeRun(config, plan, first);
  try {
    const a = ringToView(plan, runDir);
    assert.equal(a.source, 'checkpoint');
    assert.deepEqual(a.ring, first);
    assert.equal(ringToView(plan, runDir).ring, a.ring, 'the unchanged file is not read again');
    // A newer checkpoint (atomic replace, as training writes it): the view follows it.
    const later = Float32Array.from(first, (v) => v + 1);
    const meta = { formatVersion: 1, step: 80, epoch: 0, batchInEpoch: 80, seed: config.seed, planHash: plan.hash, planContentHash: materializePlan(plan).contentHash, ringSize: later.length, backend: 'cpu', optimizerStep: 80, bestAcc: 0.6, lastAcc: 0.6, elapsedSec: 2, config, savedAt: new Date(1).toISOString() } as CheckpointMeta;
    writeCheckpoint(runDir, meta, new Map([[RING_TENSOR, { shape: [later.length], values: later }]]));
    assert.deepEqual(ringToView(plan, runDir).ring, later);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});
