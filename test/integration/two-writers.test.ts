// One writer per run: while a process holds a run's lock, a second `rpg train --resume` of it is
// refused with a message naming the owner, and writes nothing; a lock left by a process that
// died is taken over (with a note); a finished run has nothing to resume.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { acquireRunLock } from '../../src/core/runs/lock';
import { ensureBuilt } from '../helpers/build';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/cli.js');
before(() => ensureBuilt('cli'));

const rpg = (args: string[], preload?: string) =>
  spawnSync(process.execPath, [...(preload ? ['--require', path.join(root, 'test/helpers', preload)] : []), cli, ...args], { encoding: 'utf8', timeout: 300_000 });

test('a second writer is refused while the run is held; a dead owner\'s lock is taken over; a finished run is not resumed', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-writers-'));
  try {
    const config = path.join(dir, 'two.rpg.json');
    writeFileSync(config, JSON.stringify({ name: 'two', model: { arch: 'mlp', hidden: [16] }, rpg: { dof: 300 }, data: { dataset: 'mnist-embedded', trainSize: 512, testSize: 64 }, train: { batchSize: 32, epochs: 2, backend: 'wasm' } }));
    // A stopped run with a checkpoint (stopped the moment it started: see the preload).
    const first = rpg(['train', config, '--plain'], 'sigint-on-start.cjs');
    assert.equal(first.status, 0, first.stderr);
    const exp = path.join(dir, 'runs', 'two');
    const runDir = path.join(exp, readdirSync(exp)[0]!);
    const metricsBefore = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8');

    // This test process holds the run, as a live trainer would.
    const lock = acquireRunLock(runDir);
    const refused = rpg(['train', '--resume', runDir, '--plain']);
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, new RegExp(`run .* is being trained by process ${process.pid} on this machine since .*; stop it there first`));
    assert.equal(readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8'), metricsBefore, 'the refused writer wrote nothing');
    assert.equal(JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')).status, 'stopped', 'the record is untouched');
    lock.release();

    // A lock left by a process that died: taken over, and said so.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(path.join(runDir, 'run.lock'), JSON.stringify({ pid: Number(dead.stdout), hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
    // …which was killed while writing a checkpoint: its temp file is cleaned up on resume.
    writeFileSync(path.join(runDir, `checkpoint.bin.tmp-${dead.stdout}`), Buffer.alloc(4096));
    const resumed = rpg(['train', '--resume', runDir, '--plain']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`took over the lock of process ${dead.stdout}`));
    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(record.status, 'finished');
    assert.ok(!readdirSync(runDir).includes('run.lock'), 'the lock is released at the end');
    assert.deepEqual(readdirSync(runDir).filter((f) => /\.tmp-\d+$/.test(f)), [], 'stale temp files removed');
    // Every step once, across the stop, the refusal and the resume.
    const steps = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'train').map((r) => r.step);
    assert.deepEqual(steps, Array.from({ length: 32 }, (_, i) => i + 1));

    const again = rpg(['train', '--resume', runDir, '--plain']);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /finished at step 32: there is nothing to resume/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
