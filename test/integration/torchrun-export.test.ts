// `rpg export --format torchrun`: the folder trains with a real 2-process torchrun (gloo, CPU)
// using nothing but Python and PyTorch; exported from a stopped run, it continues that run; the
// result reads back as a run (the core's scanner, `rpg eval`). Skipped (with the reason) only
// when /usr/bin/python3 lacks torch or /usr/bin/torchrun is missing, unless RPG_REQUIRE_TORCH=1.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { scanRuns } from '../../src/core/runs/scan';
import { ensureBuilt } from '../helpers/build';
import { PYTHON, torchUnavailable } from '../helpers/torch';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/cli.js');
const TORCHRUN = '/usr/bin/torchrun';
const skip = torchUnavailable() ?? (existsSync(TORCHRUN) ? undefined : requireOr(`${TORCHRUN} is missing`));
before(() => ensureBuilt('cli'));

function requireOr(why: string): string {
  if (process.env.RPG_REQUIRE_TORCH === '1') throw new Error(`RPG_REQUIRE_TORCH=1 but ${why}`);
  return why;
}

const rpg = (args: string[], preload?: string) =>
  spawnSync(process.execPath, [...(preload ? ['--require', path.join(root, 'test/helpers', preload)] : []), cli, ...args], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, RPG_PYTHON: PYTHON } });

function launch(dir: string) {
  return spawnSync(path.join(dir, 'train.sh'), [], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, PYTHON, TORCHRUN, NPROC_PER_NODE: '2', OMP_NUM_THREADS: '1' } });
}

test('an exported config trains with 2 torchrun processes; an exported stopped run continues; both read back as runs', { skip }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-torchrun-'));
  try {
    const config = path.join(dir, 'tr.rpg.json');
    writeFileSync(config, JSON.stringify({ name: 'tr', model: { arch: 'lenet5' }, rpg: { dof: '10%' }, data: { dataset: 'mnist-embedded', trainSize: 256, testSize: 128 }, train: { batchSize: 32, epochs: 2, lr: 0.003 } }));
    const fresh = rpg(['export', config, '--format', 'torchrun', '--out', path.join(dir, 'fresh')]);
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.match(fresh.stdout, /trains runs\/tr\/\S+ with torchrun/);
    const trained = launch(path.join(dir, 'fresh'));
    assert.equal(trained.status, 0, trained.stderr + trained.stdout);
    assert.match(trained.stdout, /world size 2/);
    const [run] = await scanRuns(path.join(dir, 'fresh', 'runs'));
    assert.ok(run, 'the scanner finds the torchrun run');
    assert.equal(run.record.status, 'finished');
    assert.equal(run.record.step, 16);
    assert.equal(run.record.engine, 'torch');
    const ev = rpg(['eval', run.dir]);
    assert.equal(ev.status, 0, ev.stderr);
    assert.match(ev.stdout, /test accuracy: [\d.]+%/);

    // A run stopped at its first checkpoint (tfjs engine), exported, continued by torchrun.
    const stopped = rpg(['train', config, '--plain'], 'sigint-on-start.cjs');
    assert.equal(stopped.status, 0, stopped.stderr);
    const exp = path.join(dir, 'runs', 'tr');
    const stoppedDir = path.join(exp, readdirSync(exp)[0]!);
    const stoppedAt = JSON.parse(readFileSync(path.join(stoppedDir, 'run.json'), 'utf8')).step as number;
    const cont = rpg(['export', stoppedDir, '--format', 'torchrun', '--out', path.join(dir, 'cont')]);
    assert.equal(cont.status, 0, cont.stderr);
    assert.match(cont.stdout, /continues runs\/tr\//);
    const continued = launch(path.join(dir, 'cont'));
    assert.equal(continued.status, 0, continued.stderr + continued.stdout);
    assert.match(continued.stdout, new RegExp(`resuming lenet5: .* from step ${stoppedAt}, world size 2`));
    const [again] = await scanRuns(path.join(dir, 'cont', 'runs'));
    assert.equal(again!.record.status, 'finished');
    assert.equal(again!.record.step, 16);
    const steps = readFileSync(path.join(again!.dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'train').map((r) => r.step);
    assert.deepEqual(steps, Array.from({ length: 16 }, (_, i) => i + 1), 'every step once across the two engines');

    const notEmpty = rpg(['export', config, '--format', 'torchrun', '--out', path.join(dir, 'fresh')]);
    assert.equal(notEmpty.status, 1);
    assert.match(notEmpty.stderr, /exists and is not empty/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
