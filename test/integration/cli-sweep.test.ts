// `rpg sweep` as a user runs it (dist/cli.js): a tiny MLP sweep with baselines.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt } from '../helpers/build';
import { parseSweep } from '../../src/server/sweep-index';
import { scanRuns } from '../../src/core/runs/scan';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/cli.js');

before(() => ensureBuilt('cli'));

const rpg = (args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test('rpg sweep: 3 ring sizes + plain + width, subspace and HashedNets baselines → sweep.json with a fit, sweep.svg, a text plot; every point a run folder', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-sweep-'));
  const config = path.join(dir, 'tiny.rpg.json');
  writeFileSync(config, JSON.stringify({ name: 'tiny', seed: 4, model: { arch: 'mlp', hidden: [32] }, rpg: { dof: 100 }, data: { dataset: 'mnist-embedded', trainSize: 512, testSize: 128 }, train: { lr: 0.003, batchSize: 64, epochs: 1, backend: 'wasm' } }));
  const r = rpg(['sweep', config, '--dof', '100,300,1000', '--baselines', '--runs', path.join(dir, 'runs')]);
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /fit over RPG points: accuracy ≈ .*· ln\(M\)\s+\(R² = /);
  assert.match(r.out, /DoF \(log scale\)/);
  const sweepRoot = path.join(dir, 'runs', 'tiny-sweep');
  const [id] = readdirSync(sweepRoot);
  const file = path.join(sweepRoot, id!, 'sweep.json');
  const s = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(s.arch, 'mlp');
  assert.equal(s.dataset, 'mnist-embedded');
  assert.equal(s.status, 'finished');
  assert.ok(Number.isFinite(s.fit.a) && Number.isFinite(s.fit.b) && Number.isFinite(s.fit.r2));
  assert.ok(s.reference.finalAcc > 0 && s.reference.params === 784 * 32 + 32 + 32 * 10 + 10);
  const rpgPoints = s.points.filter((p: { kind: string }) => p.kind === 'rpg');
  assert.deepEqual(rpgPoints.map((p: { dof: number }) => p.dof), [100, 300, 1000]);
  for (const p of s.points) {
    assert.ok(p.finalAcc >= 0 && p.finalAcc <= 1 && p.bestAcc >= p.finalAcc - 1e-12);
    assert.equal(p.seed, 4);
    assert.ok(Math.abs(p.fractionOfReference - p.finalAcc / s.reference.finalAcc) < 1e-12);
    assert.ok(existsSync(p.runDir), p.runDir);
  }
  assert.equal(s.points.filter((p: { kind: string }) => p.kind === 'width').length, 3);
  assert.equal(s.points.filter((p: { kind: string }) => p.kind === 'subspace').length, 3);
  assert.equal(s.points.filter((p: { kind: string }) => p.kind === 'hashed').length, 3);
  // Every point, baselines included, is a run folder the one scanner finds, recording what it trained.
  const runs = await scanRuns(path.join(dir, 'runs'));
  assert.equal(runs.length, 1 + 12);
  for (const p of s.points) {
    const run = runs.find((r) => r.dir === p.runDir);
    assert.ok(run && run.record.status === 'finished', p.runDir);
    assert.equal(run.record.dof, p.totalDof, `${p.kind} ${p.dof}: the record's DoF is the point's`);
    if (p.kind === 'subspace' || p.kind === 'hashed') assert.equal(run.record.config.rpg.method, p.kind);
    assert.ok(Math.abs((run.record.finalAcc ?? -1) - p.finalAcc) < 1e-12);
  }
  assert.match(r.out, /hashednets/);
  assert.ok(s.predict && s.predict.target === 0.95 && Math.abs(s.predict.targetAcc - 0.95 * s.reference.finalAcc) < 1e-12);
  assert.match(readFileSync(path.join(sweepRoot, id!, 'sweep.svg'), 'utf8'), /^<svg/);
  assert.ok(parseSweep(readFileSync(file, 'utf8'), file, 0), 'the language server reads it');
});

test('rpg sweep: generate "all", --baselines subspace,hashed, --repeats 2 → mean ± std over seeds; DoF counts every trained number', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-sweep-'));
  const config = path.join(dir, 'all.rpg.json');
  writeFileSync(config, JSON.stringify({ name: 'all', seed: 2, model: { arch: 'mlp', hidden: [16] }, rpg: { dof: 100, generate: 'all' }, data: { dataset: 'mnist-embedded', trainSize: 256, testSize: 128 }, train: { lr: 0.003, batchSize: 64, epochs: 1, backend: 'wasm' } }));
  const r = rpg(['sweep', config, '--dof', '50,200', '--baselines', 'subspace,hashed', '--repeats', '2', '--runs', path.join(dir, 'runs')]);
  assert.equal(r.code, 0, r.err + r.out);
  const sweepRoot = path.join(dir, 'runs', 'all-sweep');
  const s = JSON.parse(readFileSync(path.join(sweepRoot, readdirSync(sweepRoot)[0]!, 'sweep.json'), 'utf8'));
  assert.equal(s.points.length, 2 * 3 * 2, '2 sizes × (rpg, subspace, hashed) × 2 seeds');
  assert.deepEqual([...new Set(s.points.map((p: { seed: number }) => p.seed))], [2, 3]);
  for (const p of s.points) assert.equal(p.totalDof, p.dof, 'generate all: the trained count is M itself');
  assert.equal(s.aggregates.length, 6);
  for (const a of s.aggregates) {
    const pts = s.points.filter((p: { kind: string; dof: number }) => p.kind === a.kind && p.dof === a.dof).map((p: { finalAcc: number }) => p.finalAcc);
    const mean = (pts[0] + pts[1]) / 2;
    assert.equal(a.seeds, 2);
    assert.ok(Math.abs(a.finalAcc.mean - mean) < 1e-12);
    assert.ok(Math.abs(a.finalAcc.std - Math.abs(pts[0] - pts[1]) / Math.SQRT2) < 1e-12);
  }
  assert.match(r.out, /final \(mean ± std\)/);
  const bad = rpg(['sweep', config, '--dof', '50', '--baselines', 'subspace,lottery']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--baselines: "lottery" is not a baseline; choose from width, subspace, hashed/);
});

test('rpg sweep: a ring larger than the model is a clear error before any training', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-sweep-'));
  const config = path.join(dir, 'tiny.rpg.json');
  writeFileSync(config, JSON.stringify({ model: { arch: 'mlp', hidden: [8] }, data: { dataset: 'mnist-embedded', trainSize: 64 }, train: { epochs: 1, backend: 'wasm' } }));
  const r = rpg(['sweep', config, '--dof', '100,999999', '--runs', path.join(dir, 'runs')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /--dof: a ring of 999,999 entries is larger than the 6,352 generated parameters/);
  assert.doesNotMatch(r.err, /\n\s+at /);
  assert.equal(existsSync(path.join(dir, 'runs')), false);
  const bad = rpg(['sweep', config, '--dof', '100,abc']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--dof: "abc" is not a number/);
});
