// The `rpg` CLI as a user runs it: a real child process on the bundled dist/cli.js.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { ensureBuilt } from '../helpers/build';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/cli.js');

before(() => ensureBuilt('cli'));

function rpg(args: string[], cwd = root) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function writeConfig(dir: string, config: object, name = 'tiny.rpg.json'): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

const tinyConfig = (extra: object = {}) => ({
  name: 'tiny',
  model: { arch: 'mlp', hidden: [16] },
  rpg: { dof: 300 },
  data: { dataset: 'mnist-embedded', trainSize: 256, testSize: 128 },
  train: { batchSize: 32, epochs: 1, backend: 'wasm' },
  ...extra,
});

test('rpg plan prints ResNet-18\'s published total and the per-layer table', () => {
  const r = rpg(['plan', 'examples/resnet18-imagenet-18pct.rpg.json']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /total parameters\s+11,689,512/);
  assert.match(r.out, /layer4\.1\.conv2\.kernel\s+conv\s+3×3×512×512\s+2,359,296\s+ring/);
  assert.match(r.out, /fc\.kernel\s+dense\s+512×1000\s+512,000\s+free/);
  const json = JSON.parse(rpg(['plan', 'examples/resnet18-imagenet-18pct.rpg.json', '--json']).out);
  assert.equal(json.summary.totalParams, 11_689_512);
  assert.equal(json.summary.dof, json.summary.ringSize + json.summary.freeParams);
});

test('rpg train prints test accuracy, writes a run folder, and rpg eval reproduces the accuracy', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-cli-'));
  const config = writeConfig(dir, tinyConfig());
  const r = rpg(['train', config, '--plain']);
  assert.equal(r.code, 0, r.err);
  const acc = /test accuracy: (\d+\.\d)%/.exec(r.out);
  assert.ok(acc, r.out);
  const runs = readdirSync(path.join(dir, 'runs', 'tiny'));
  assert.equal(runs.length, 1);
  const runDir = path.join(dir, 'runs', 'tiny', runs[0]!);
  for (const f of ['run.json', 'metrics.jsonl', 'checkpoint.bin', 'config.rpg.json']) assert.ok(existsSync(path.join(runDir, f)), f);
  const e = rpg(['eval', runDir]);
  assert.equal(e.code, 0, e.err);
  const evalAcc = /test accuracy: (\d+\.\d+)%/.exec(e.out)!;
  assert.equal(Number(evalAcc[1]).toFixed(1), acc[1]);
});

test('bad input is one clear line naming the file and field, never a stack trace', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-cli-'));
  const cases: [object | string, RegExp][] = [
    [tinyConfig({ rpg: { dof: 999999 } }), /rpg\.dof: a ring of 999,999 entries is larger than the 12,704 generated parameters/],
    [tinyConfig({ train: { lr: 'fast' } }), /tiny\.rpg\.json: train\.lr: expected a number, got the string "fast"/],
    [tinyConfig({ modle: {} }), /unknown field "modle"/],
    ['{ "model": { "arch": "mlp" ', /JSON syntax error at 1:\d+/],
    [tinyConfig({ data: { dataset: 'cifar10', path: 'nowhere' } }), /nowhere: folder not found/],
  ];
  for (const [config, expected] of cases) {
    const file = typeof config === 'string' ? path.join(dir, 'broken.rpg.json') : writeConfig(dir, config);
    if (typeof config === 'string') writeFileSync(file, config);
    const r = rpg(['train', file]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.err, expected);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  assert.ok(!existsSync(path.join(dir, 'runs')), 'nothing half-created');
});

test('Ctrl-C stops after the step, saves a checkpoint, and --resume finishes the run', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-cli-'));
  const config = writeConfig(dir, tinyConfig({ data: { dataset: 'mnist-embedded', trainSize: 2000, testSize: 128 }, train: { batchSize: 16, epochs: 2, backend: 'wasm' } }));
  // The interrupt comes from inside the CLI the moment it reports training started (see the
  // preload): never a timer against training speed.
  const child = spawn(process.execPath, ['--require', path.join(root, 'test/helpers/sigint-on-start.cjs'), cli, 'train', config, '--plain'], { cwd: dir });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, out);
  assert.match(out, /stopping after this step/);
  const stoppedAt = Number(/stopped after (\d+) steps/.exec(out)?.[1]);
  assert.ok(stoppedAt < 250, `stopped before the end (${out})`);
  const runDir = path.join(dir, 'runs', 'tiny', readdirSync(path.join(dir, 'runs', 'tiny'))[0]!);
  const run = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
  assert.equal(run.status, 'stopped');
  assert.equal(run.step, stoppedAt);
  assert.ok(existsSync(path.join(runDir, 'checkpoint.bin')));
  const r = rpg(['train', '--resume', runDir, '--plain']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`from step ${run.step}`));
  const finished = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
  assert.equal(finished.status, 'finished');
  assert.equal(finished.step, 250);
  // Every step is in metrics.jsonl exactly once across the stop and the resume.
  const steps = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((row) => row.type === 'train').map((row) => row.step);
  assert.deepEqual(steps, Array.from({ length: 250 }, (_, i) => i + 1));
});

test('rpg info lists the backends and the choice', () => {
  const r = rpg(['info']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /✓ wasm/);
  assert.match(r.out, /selected: (wasm|tensorflow)/);
});
