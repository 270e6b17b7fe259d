import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { validateConfig } from '../../src/core/config/load';
import { train } from '../helpers/train';
import { readCheckpoint, writeCheckpoint, CHECKPOINT_FILE } from '../../src/core/checkpoint/file';
import { RunRecord } from '../../src/core/runs/types';
import { TrainError } from '../../src/core/errors';
import { TrainRow } from '../../src/core/train/rows';
import { useBackend } from '../helpers/tf';

const tiny = (extra: Record<string, unknown> = {}) =>
  validateConfig({
    name: 'tiny',
    seed: 3,
    model: { arch: 'mlp', hidden: [32] },
    rpg: { dof: 500 },
    data: { dataset: 'mnist-embedded', trainSize: 256, testSize: 128 },
    train: { optimizer: 'adam', lr: 0.003, batchSize: 32, epochs: 1, backend: 'wasm' },
    ...extra,
  });

const tmp = () => mkdtempSync(path.join(tmpdir(), 'rpg-run-'));

async function losses(config = tiny(), runsDir = tmp(), extra: { signal?: AbortSignal; resumeFrom?: string } = {}) {
  const rows: TrainRow[] = [];
  const result = await train({ config, runsDir, ...extra }, { onTrainRow: (r) => rows.push(r) });
  return { rows, result };
}

test('same config + seed gives the same loss curve; another seed does not', async () => {
  const a = await losses();
  const b = await losses();
  assert.deepEqual(a.rows.map((r) => r.loss), b.rows.map((r) => r.loss));
  const c = await losses(tiny({ seed: 4 }));
  assert.notDeepEqual(a.rows.map((r) => r.loss), c.rows.map((r) => r.loss));
  assert.equal(a.rows.length, 8);
  const first = a.rows[0]!.loss;
  const last = a.rows[a.rows.length - 1]!.loss;
  assert.ok(last < first, `loss decreases: ${first} → ${last}`);
});

test('metrics.jsonl holds every step and every evaluation; run.json says finished', async () => {
  const { result } = await losses(tiny({ train: { optimizer: 'adam', lr: 0.003, batchSize: 32, epochs: 2, backend: 'wasm', evalEvery: 4 } }));
  const rows = readFileSync(path.join(result.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.filter((r) => r.type === 'train').map((r) => r.step), Array.from({ length: 16 }, (_, i) => i + 1));
  assert.deepEqual(rows.filter((r) => r.type === 'eval').map((r) => r.step), [4, 8, 12, 16]);
  const run = JSON.parse(readFileSync(path.join(result.runDir, 'run.json'), 'utf8'));
  assert.equal(run.status, 'finished');
  assert.equal(run.step, 16);
  assert.equal(run.ringSize, 500);
});

test('stop + resume continues bit-exactly: same steps, same losses as an uninterrupted run', async () => {
  const config = tiny({ train: { optimizer: 'sgd', lr: 0.05, momentum: 0.9, batchSize: 32, epochs: 2, backend: 'wasm' } });
  const whole = await losses(config);
  const runsDir = tmp();
  const controller = new AbortController();
  const rows: TrainRow[] = [];
  const first = await train({ config, runsDir, signal: controller.signal }, {
    onTrainRow: (r) => {
      rows.push(r);
      if (r.step === 5) controller.abort();
    },
  });
  assert.equal(first.status, 'stopped');
  assert.equal(first.steps, 5);
  assert.equal(readCheckpoint(first.runDir).meta.step, 5);
  const resumed = await losses(config, runsDir, { resumeFrom: first.runDir });
  assert.equal(resumed.result.status, 'finished');
  assert.deepEqual([...rows, ...resumed.rows].map((r) => [r.step, r.loss]), whole.rows.map((r) => [r.step, r.loss]));
  const metricSteps = readFileSync(path.join(first.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'train').map((r) => r.step);
  assert.deepEqual(metricSteps, Array.from({ length: 16 }, (_, i) => i + 1));
});

test('live tensor count is constant across training steps (no leaks)', async () => {
  await useBackend('wasm');
  const counts: number[] = [];
  await train({ config: tiny({ model: { arch: 'lenet5' }, rpg: { dof: '5%' }, train: { batchSize: 16, epochs: 1, maxSteps: 12, backend: 'wasm' } }), runsDir: tmp() }, { onTrainRow: () => counts.push(tf.memory().numTensors) });
  assert.equal(counts.length, 12);
  assert.ok(counts.slice(2).every((c) => c === counts[2]), `tensor counts ${counts.join(',')}`);
});

test('a diverging run stops with a clear NaN/Inf error naming train.lr', async () => {
  const config = tiny({ rpg: { dof: 500, lrNormalization: 'official' }, train: { optimizer: 'sgd', lr: 1e6, momentum: 0.9, batchSize: 32, epochs: 1, backend: 'wasm' } });
  const runsDir = tmp();
  await assert.rejects(losses(config, runsDir), (e: unknown) => e instanceof TrainError && e.code === 'nan' && e.field === 'train.lr' && /diverged/.test(e.message));
  // The record keeps the loss that diverged and, like any run that ended, no owner process.
  const [name] = readdirSync(runsDir);
  const [runId] = readdirSync(path.join(runsDir, name!));
  const record = JSON.parse(readFileSync(path.join(runsDir, name!, runId!, 'run.json'), 'utf8')) as RunRecord;
  assert.equal(record.status, 'failed');
  assert.equal(record.error?.code, 'nan');
  assert.match(record.error?.message ?? '', /diverged: the loss became/);
  assert.equal(record.error?.field, 'train.lr');
  assert.equal(record.pid, undefined);
  assert.equal(typeof record.endedAt, 'string');
});

test('a missing dataset path fails with the file and field, and creates no run folder', async () => {
  const runsDir = tmp();
  const config = tiny({ data: { dataset: 'fashion-mnist', path: '/nonexistent/fmnist' } });
  await assert.rejects(losses(config, runsDir), (e: unknown) => e instanceof TrainError && e.code === 'dataset' && e.field === 'data.path' && /nonexistent/.test(e.message));
  assert.deepEqual(readdirSync(runsDir), []);
});

test('numClasses that does not match the dataset fails on model.numClasses', async () => {
  const runsDir = tmp();
  await assert.rejects(losses(tiny({ model: { arch: 'mlp', hidden: [8], numClasses: 7 } }), runsDir), (e: unknown) => e instanceof TrainError && e.field === 'model.numClasses');
  assert.deepEqual(readdirSync(runsDir), []);
});

test('checkpoints are replaced atomically; a torn or corrupt file is detected with a clear error', async () => {
  const { result } = await losses();
  const before = readCheckpoint(result.runDir);
  // A writer killed before its rename leaves only a temp file: the checkpoint is the old one.
  writeFileSync(path.join(result.runDir, `${CHECKPOINT_FILE}.tmp-999999`), Buffer.alloc(100));
  assert.equal(readCheckpoint(result.runDir).meta.step, before.meta.step);
  // A new checkpoint replaces the old one whole.
  writeCheckpoint(result.runDir, { ...before.meta, step: 99 }, before.tensors);
  assert.equal(readCheckpoint(result.runDir).meta.step, 99);
  const file = path.join(result.runDir, CHECKPOINT_FILE);
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, bytes.length - 10));
  assert.throws(() => readCheckpoint(result.runDir), (e: unknown) => e instanceof TrainError && /checkpoint .* is corrupted/.test(e.message));
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 3] ^= 0xff;
  writeFileSync(file, flipped);
  assert.throws(() => readCheckpoint(result.runDir), /is corrupted \(its SHA-256 does not match/);
  assert.ok(existsSync(file));
});

test('checkpoints hold the seed and plan hash, never the index arrays', async () => {
  const { result } = await losses();
  const ckpt = readCheckpoint(result.runDir);
  assert.equal(ckpt.meta.seed, 3);
  assert.match(ckpt.meta.planHash!, /^[0-9a-f]{16}$/);
  assert.ok(ckpt.tensors.has('ring'));
  assert.equal(ckpt.tensors.get('ring')!.values.length, 500);
  const floats = [...ckpt.tensors.values()].reduce((s, t) => s + t.values.length, 0);
  // ring + free + Adam m and v for each: 3 × (500 + free); far below the 25,408 generated weights.
  assert.ok(floats < 3 * (500 + 32 + 10 + 10) + 10, `stored ${floats} floats`);
});

test('building and disposing a run leaves no tensors behind', async () => {
  await useBackend('wasm');
  const before = tf.memory().numTensors;
  await train({ config: tiny({ train: { optimizer: 'adam', batchSize: 32, epochs: 1, maxSteps: 2, backend: 'wasm' } }), runsDir: tmp() });
  assert.equal(tf.memory().numTensors, before);
});
