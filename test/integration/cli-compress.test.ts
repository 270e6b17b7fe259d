// `rpg compress`, `rpg eval FILE.rpgz` and `rpg export --format tfjs` on a tiny trained LeNet-5.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt } from '../helpers/build';
import * as tf from '@tensorflow/tfjs-core';
import { evalBatches } from '../../src/core/data';
import { loadSavedLayersModel, openTrained } from '../../src/export';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/cli.js');
const dir = mkdtempSync(path.join(tmpdir(), 'rpg-compress-'));
let runDir = '';

const rpg = (args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

before(() => {
  ensureBuilt('cli');
  const config = path.join(dir, 'tiny.rpg.json');
  writeFileSync(config, JSON.stringify({ name: 'tiny', seed: 2, model: { arch: 'lenet5' }, rpg: { dof: 2000 }, data: { dataset: 'mnist-embedded', trainSize: 256, testSize: 200 }, train: { lr: 0.003, batchSize: 64, epochs: 1, backend: 'wasm' } }));
  const r = rpg(['train', config, '--runs', path.join(dir, 'runs'), '--plain']);
  assert.equal(r.code, 0, r.err);
  const [id] = readdirSync(path.join(dir, 'runs', 'tiny'));
  runDir = path.join(dir, 'runs', 'tiny', id!);
});

test('compress → .rpgz; `rpg eval x.rpgz` prints the compressed accuracy; export tfjs reproduces the predictions', async () => {
  const file = path.join(dir, 'x.rpgz');
  const c = rpg(['compress', runDir, '--prune', '0.5', '--bits', '4', '--block', '256', '--finetune', '4', '--out', file]);
  assert.equal(c.code, 0, c.err + c.out);
  const compressed = /compressed test accuracy: (\d+\.\d+)%/.exec(c.out)![1];
  assert.match(c.out, /pruned 1,000 of 2,000 ring entries \(50\.0%\), 4-bit codes, one scale per 256 entries/);
  assert.match(c.out, /information carried \(bits·kept\/8 \+ free\): /);
  const e = rpg(['eval', file]);
  assert.equal(e.code, 0, e.err);
  assert.equal(/test accuracy: (\d+\.\d+)%/.exec(e.out)![1], compressed);

  const out = path.join(dir, 'tfjs');
  const x = rpg(['export', file, '--out', out]);
  assert.equal(x.code, 0, x.err + x.out);
  assert.match(x.out, /same prediction on 100\.0%/);
  for (const f of ['model.json', 'weights.bin', 'rpg-export.json']) assert.ok(existsSync(path.join(out, f)), f);
  assert.equal(JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8')).format, 'layers-model');

  // The saved model, loaded in this process, against our network regenerated from the .rpgz.
  const session = await openTrained(file, 'cpu');
  const model = await loadSavedLayersModel(out);
  const b = evalBatches('test', session.dataset, 32).next().value!;
  const xT = tf.tensor4d(b.x, [b.size, 28, 28, 1]);
  const ours = session.net.forward(xT, false).logits.dataSync();
  const theirs = (model.predict(xT) as tf.Tensor).dataSync();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ours.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i]! - theirs[i]!));
    scale = Math.max(scale, Math.abs(ours[i]!));
  }
  assert.ok(diff / scale < 1e-5, `relative difference ${diff / scale}`);
  model.dispose();
  session.net.dispose();
});

test('export straight from a run folder; errors are one clear line: corrupt or truncated .rpgz, onnx, bad --bits', () => {
  const x = rpg(['export', runDir, '--out', path.join(dir, 'tfjs-run')]);
  assert.equal(x.code, 0, x.err + x.out);
  const file = path.join(dir, 'y.rpgz');
  assert.equal(rpg(['compress', runDir, '--bits', '8', '--out', file]).code, 0);
  const bytes = readFileSync(file);
  bytes[bytes.length - 10]! ^= 1;
  writeFileSync(path.join(dir, 'bad.rpgz'), bytes);
  const bad = rpg(['eval', path.join(dir, 'bad.rpgz')]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /bad\.rpgz: is corrupted \(checksum mismatch/);
  assert.doesNotMatch(bad.err, /\n\s+at /);
  writeFileSync(path.join(dir, 'short.rpgz'), bytes.subarray(0, 100));
  assert.match(rpg(['eval', path.join(dir, 'short.rpgz')]).err, /short\.rpgz: is corrupted/);
  const onnx = rpg(['export', runDir, '--format', 'onnx']);
  assert.equal(onnx.code, 1);
  assert.match(onnx.err, /ONNX export is not implemented/);
  const q = rpg(['compress', runDir, '--bits', '9']);
  assert.equal(q.code, 2);
  assert.match(q.err, /--bits must be an integer from 2 to 8/);
});
