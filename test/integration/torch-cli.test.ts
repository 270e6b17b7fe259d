// The torch engine as a user runs it: `rpg train --engine torch` through the CLI, the TypeScript
// driver and a real Python child — the same progress and run folder as the tfjs engine, a
// checkpoint `rpg eval` (tfjs) reproduces, Ctrl-C and --resume, a child that crashes, and no
// Python/torch at all. Skipped (with the reason) only when /usr/bin/python3 lacks torch and
// RPG_REQUIRE_TORCH is not 1.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readCheckpoint } from '../../src/core/checkpoint/file';
import { ensureBuilt } from '../helpers/build';
import { PYTHON, torchUnavailable } from '../helpers/torch';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/cli.js');
const skip = torchUnavailable();
before(() => ensureBuilt('cli'));

function rpg(args: string[], env: NodeJS.ProcessEnv = {}, preload?: string) {
  const r = spawnSync(process.execPath, [...(preload ? ['--require', path.join(root, 'test/helpers', preload)] : []), cli, ...args], {
    encoding: 'utf8', timeout: 600_000, env: { ...process.env, RPG_PYTHON: PYTHON, ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function writeConfig(dir: string, extra: object = {}): string {
  const file = path.join(dir, 'torchy.rpg.json');
  writeFileSync(file, JSON.stringify({ name: 'torchy', model: { arch: 'lenet5' }, rpg: { dof: '10%' }, data: { dataset: 'mnist-embedded', trainSize: 512, testSize: 256 }, train: { batchSize: 32, epochs: 2, lr: 0.003, ...extra } }));
  return file;
}

const onlyRun = (runsDir: string) => {
  const exp = path.join(runsDir, 'torchy');
  return path.join(exp, readdirSync(exp)[0]!);
};

test('rpg train --engine torch: progress, run folder, a checkpoint rpg eval (tfjs) reproduces', { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-torch-cli-'));
  try {
    const r = rpg(['train', writeConfig(dir), '--engine', 'torch', '--plain']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /torch engine, backend cpu on /);
    assert.match(r.out, /eval at epoch 2\.00: test loss [\d.]+, test accuracy [\d.]+%/);
    const finalAcc = Number(/test accuracy: ([\d.]+)%/.exec(r.out)![1]);
    const runDir = onlyRun(path.join(dir, 'runs'));
    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(record.status, 'finished');
    assert.equal(record.engine, 'torch');
    assert.equal(record.backend, 'cpu');
    assert.equal(record.step, 32);
    assert.ok(typeof record.device === 'string' && record.device.length > 0);
    const rows = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.filter((x) => x.type === 'train').map((x) => x.step), Array.from({ length: 32 }, (_, i) => i + 1));
    assert.equal(readCheckpoint(runDir).meta.engine, 'torch');
    const ev = rpg(['eval', runDir]);
    assert.equal(ev.code, 0, ev.err);
    const evAcc = Number(/test accuracy: ([\d.]+)%/.exec(ev.out)![1]);
    assert.ok(Math.abs(evAcc - finalAcc) <= 0.1 + 1e-9, `tfjs evaluates the torch checkpoint to ${evAcc}% (torch said ${finalAcc}%)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('torch engine: Ctrl-C stops at a checkpoint, --resume finishes; a crashed child fails the run with its last error line', { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-torch-stop-'));
  try {
    const config = writeConfig(dir);
    const stopped = rpg(['train', config, '--engine', 'torch', '--plain'], {}, 'sigint-on-start.cjs');
    assert.equal(stopped.code, 0, stopped.err);
    assert.match(stopped.out, /stopped after \d+ steps/);
    const runDir = onlyRun(path.join(dir, 'runs'));
    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(record.status, 'stopped');
    assert.equal(readCheckpoint(runDir).meta.step, record.step);
    const resumed = rpg(['train', '--resume', runDir, '--plain']);
    assert.equal(resumed.code, 0, resumed.err);
    assert.match(resumed.out, new RegExp(`from step ${record.step}`));
    assert.equal(JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')).status, 'finished');

    // A child that dies hard after 5 steps: the run fails with what the child said last.
    const crashEnv = { PYTHONPATH: path.join(root, 'test/helpers/python-crash'), RPG_TEST_CRASH_AFTER_STEPS: '5' };
    const crashed = rpg(['train', config, '--engine', 'torch', '--plain', '--runs', path.join(dir, 'crash-runs')], crashEnv);
    assert.equal(crashed.code, 1, crashed.out);
    assert.match(crashed.err, /the PyTorch engine ended with exit code 3 before the run did: Fatal Python error: simulated crash/);
    const crashRecord = JSON.parse(readFileSync(path.join(onlyRun(path.join(dir, 'crash-runs')), 'run.json'), 'utf8'));
    assert.equal(crashRecord.status, 'failed');
    assert.equal(crashRecord.step, 5);
    assert.match(crashRecord.error.message, /simulated crash/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no Python, or a Python without torch: one line saying what to install, nothing created', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-torch-missing-'));
  try {
    const config = writeConfig(dir);
    const none = rpg(['train', config, '--engine', 'torch', '--python', '/nonexistent/python3']);
    assert.equal(none.code, 1);
    assert.match(none.err, /no Python interpreter "\/nonexistent\/python3" was found: the torch engine needs Python 3 with PyTorch ≥ 1\.13/);
    assert.doesNotMatch(none.err, /\n\s+at /);
    // An interpreter without torch: a script named python that cannot import it.
    const fake = path.join(dir, 'python-without-torch');
    writeFileSync(fake, '#!/bin/sh\necho "ModuleNotFoundError: No module named \'torch\'" >&2\nexit 1\n', { mode: 0o755 });
    const noTorch = rpg(['train', config, '--engine', 'torch', '--python', fake]);
    assert.equal(noTorch.code, 1);
    assert.match(noTorch.err, /cannot import torch: install PyTorch ≥ 1\.13/);
    const info = rpg(['info', '--python', fake]);
    assert.equal(info.code, 0);
    assert.match(info.out, /engine torch: not available — .*cannot import torch/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
