// A full disk must never destroy the last good checkpoint or report success: the write that
// runs out of room fails, the previous checkpoint stays whole and loadable, the run is
// recorded as failed with a message naming the folder and the space needed, the CLI exits
// non-zero and no temp file is left. Two ways to fill a disk: a real 4 MiB tmpfs (root only,
// as CI runs) and a preload that cuts checkpoint writes short (any user).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readCheckpoint } from '../../src/core/checkpoint/file';
import { ensureBuilt } from '../helpers/build';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/cli.js');

before(() => ensureBuilt('cli'));

/** A plain MLP (203,530 parameters): its checkpoint (weights + Adam m, v) is 2.4 MB, written every 2 steps. */
function writeConfig(dir: string): string {
  const file = path.join(dir, 'wide.rpg.json');
  writeFileSync(file, JSON.stringify({ name: 'wide', model: { arch: 'mlp', hidden: [256] }, rpg: { enabled: false }, data: { dataset: 'mnist-embedded', trainSize: 256, testSize: 64 }, train: { batchSize: 32, epochs: 1, maxSteps: 6, checkpointEvery: 2, backend: 'wasm' } }));
  return file;
}

function runDirOf(runsDir: string): string {
  const exp = path.join(runsDir, 'wide');
  return path.join(exp, readdirSync(exp)[0]!);
}

function assertNothingLost(runsDir: string, r: { status: number | null; stdout: string; stderr: string }) {
  assert.equal(r.status, 1, `exits non-zero\n${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stdout, /finished after/);
  assert.match(r.stderr, /cannot write checkpoint\.bin in .*: the disk is full; it needs [\d.]+ [KMG]iB/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const runDir = runDirOf(runsDir);
  // The last good checkpoint is whole: it verifies and holds the step it was written at.
  const ckpt = readCheckpoint(runDir);
  assert.equal(ckpt.meta.step, 2);
  const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8'));
  assert.equal(record.status, 'failed');
  assert.equal(record.error.code, 'storage');
  assert.ok(record.step >= 2, `the record keeps how far the run got (step ${record.step})`);
  assert.deepEqual(readdirSync(runDir).filter((f) => /\.tmp-\d+$/.test(f)), [], 'no temp file left behind');
  return runDir;
}

test('a checkpoint write cut short by a full disk fails the run and keeps the previous checkpoint', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-diskfull-'));
  try {
    const config = writeConfig(dir);
    const runsDir = path.join(dir, 'runs');
    // Room for the first checkpoint (2.4 MB) and part of the second.
    const r = spawnSync(process.execPath, ['--require', path.join(root, 'test/helpers/short-writes.cjs'), cli, 'train', config, '--runs', runsDir, '--plain'], {
      encoding: 'utf8', timeout: 300_000, env: { ...process.env, RPG_TEST_DISK_BUDGET: String(3_500_000) },
    });
    const runDir = assertNothingLost(runsDir, r);
    // The run resumes from that checkpoint once there is room again.
    const resumed = spawnSync(process.execPath, [cli, 'train', '--resume', runDir, '--plain'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /from step 2/);
    assert.equal(JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')).status, 'finished');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real 4 MiB file system that fills mid-checkpoint loses nothing (root: tmpfs)', (t) => {
  if (process.getuid?.() !== 0) {
    if (process.env.RPG_REQUIRE_TMPFS === '1') assert.fail('RPG_REQUIRE_TMPFS=1 but the tests do not run as root: cannot mount a tmpfs');
    t.skip('not root: cannot mount a tmpfs (the short-write test above covers the same path)');
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-tmpfs-'));
  const mnt = path.join(dir, 'small');
  mkdirSync(mnt);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (mount.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    if (process.env.RPG_REQUIRE_TMPFS === '1') assert.fail(`RPG_REQUIRE_TMPFS=1 but mount failed: ${mount.stderr}`);
    t.skip(`cannot mount a tmpfs here (${mount.stderr.trim()})`);
    return;
  }
  try {
    const config = writeConfig(dir);
    const runsDir = path.join(mnt, 'runs');
    const r = spawnSync(process.execPath, [cli, 'train', config, '--runs', runsDir, '--plain'], { encoding: 'utf8', timeout: 300_000 });
    assertNothingLost(runsDir, r);
    // The same file system read-only: refused before anything loads, naming the folder.
    assert.equal(spawnSync('mount', ['-o', 'remount,ro', mnt]).status, 0);
    const ro = spawnSync(process.execPath, [cli, 'train', config, '--runs', path.join(mnt, 'more-runs'), '--plain'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(ro.status, 1);
    assert.match(ro.stderr, new RegExp(`runs folder ${mnt}/more-runs: ${mnt} is on a read-only file system`));
    assert.doesNotMatch(ro.stderr, /internal error/);
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(dir, { recursive: true, force: true });
  }
});
