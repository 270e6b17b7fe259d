import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactNumber, decimateM4, dofGroups, emaSmooth, exportName, joinTables, logLinearFit, runLabel, sortedUnique, toCsv } from '../../webview-ui/src/curves/transforms';
import type { RunSeries } from '../../src/webview-contract';

const series = (name: string, dof: number, accs: number[], bestAcc?: number): RunSeries => ({
  info: { runDir: `/runs/${name}/r1`, runId: 'r1', name, arch: 'lenet5', dataset: 'mnist', dof, ringSize: dof, status: 'finished', ...(bestAcc !== undefined ? { bestAcc } : {}) },
  train: { step: [1, 2], epoch: [0.5, 1], loss: [2, 1], acc: [0.1, 0.2], lr: [0.001, 0.001], samplesPerSec: [100, 110], time: [0.1, 0.2] },
  eval: { step: accs.map((_, i) => i + 1), epoch: accs.map((_, i) => i + 1), loss: accs.map(() => 0.5), acc: accs, time: accs.map(() => 1) },
  skipped: 0,
});

test('emaSmooth: 0 is raw, debiased start, nulls pass through', () => {
  assert.deepEqual(emaSmooth([1, 2, 3], 0), [1, 2, 3]);
  const s = emaSmooth([4, null, 4, 4], 0.9);
  assert.equal(s[1], null);
  for (const v of [s[0], s[2], s[3]]) assert.ok(Math.abs((v as number) - 4) < 1e-12); // debiased: a constant stays constant
  const step = emaSmooth([0, 0, 0, 10, 10, 10], 0.5);
  assert.ok((step[3] as number) > 0 && (step[3] as number) < 10 && (step[5] as number) > (step[3] as number));
  const big = emaSmooth(Array.from({ length: 100_000 }, (_, i) => Math.sin(i)), 0.99);
  assert.equal(big.length, 100_000);
});

test('sortedUnique sorts and keeps the last row of a repeated x', () => {
  assert.deepEqual(sortedUnique({ x: [3, 1, 2, 2], ys: [[30, 10, 20, 21]] }), { x: [1, 2, 3], ys: [[10, 21, 30]] });
});

test('joinTables aligns runs on one x with nulls', () => {
  const cols = joinTables([{ x: [1, 2, 4], ys: [[10, 20, 40]] }, { x: [2, 3], ys: [[0.2, 0.3], [5, 6]] }]);
  assert.deepEqual(cols, [[1, 2, 3, 4], [10, 20, null, 40], [null, 0.2, 0.3, null], [null, 5, 6, null]]);
  const n = 100_000;
  const x = Array.from({ length: n }, (_, i) => i);
  const t0 = performance.now();
  const big = joinTables([{ x, ys: [x] }, { x, ys: [x] }, { x, ys: [x] }]);
  assert.equal(big[0]!.length, n);
  assert.ok(performance.now() - t0 < 1000);
});

test('logLinearFit recovers acc = a + b ln dof and R²', () => {
  const pts = [100, 1000, 10000, 100000].map((dof) => ({ dof, acc: 0.2 + 0.05 * Math.log(dof) }));
  const fit = logLinearFit(pts)!;
  assert.ok(Math.abs(fit.a - 0.2) < 1e-9 && Math.abs(fit.b - 0.05) < 1e-9);
  assert.ok(Math.abs(fit.r2 - 1) < 1e-9);
  assert.equal(fit.n, 4);
  assert.equal(logLinearFit(pts.slice(0, 2)), undefined);
  assert.equal(logLinearFit([{ dof: 5, acc: 1 }, { dof: 5, acc: 2 }, { dof: 5, acc: 3 }]), undefined);
  const noisy = logLinearFit([{ dof: 10, acc: 0.5 }, { dof: 100, acc: 0.9 }, { dof: 1000, acc: 0.7 }])!;
  assert.ok(noisy.r2 > 0 && noisy.r2 < 1);
});

test('dofGroups takes best accuracy per run, grouped by arch/dataset', () => {
  const g = dofGroups([series('b', 1000, [0.5, 0.8, 0.7]), series('a', 100, [0.3], 0.95), { ...series('c', 50, []), info: { ...series('c', 50, []).info, arch: 'resnet18' } }]);
  assert.deepEqual([...g.keys()], ['lenet5 · mnist']);
  assert.deepEqual(g.get('lenet5 · mnist')!.map((p) => [p.dof, p.acc]), [[100, 0.95], [1000, 0.8]]);
});

test('toCsv writes long format with escaped names', () => {
  const csv = toCsv([series('a,"b"', 10, [0.5])]);
  const lines = csv.trimEnd().split('\n');
  assert.equal(lines[0], 'run,runDir,name,arch,dataset,dof,split,step,epoch,loss,acc,lr,samplesPerSec,time');
  assert.equal(lines.length, 1 + 2 + 1);
  assert.equal(lines[1], 'r1,"/runs/a,""b""/r1","a,""b""",lenet5,mnist,10,train,1,0.5,2,0.1,0.001,100,0.1');
  assert.equal(lines[3], 'r1,"/runs/a,""b""/r1","a,""b""",lenet5,mnist,10,eval,1,1,0.5,0.5,,,1');
});

test('labels and names', () => {
  assert.equal(compactNumber(21_800_000), '21.8M');
  assert.equal(compactNumber(4419), '4.42k');
  assert.equal(compactNumber(12), '12');
  assert.equal(runLabel({ name: 'lenet', runId: 'x', dof: 4419 }), 'lenet (x) · DoF 4.42k');
  assert.equal(exportName([series('a b', 1, []), series('c', 1, [])], 'png'), 'a_b-and-1-more.png');
  assert.equal(exportName([], 'csv'), 'training-curves.csv');
});

test('decimateM4 keeps each bucket’s extremes, the range edges, and little else', () => {
  const n = 100_000;
  const x = Array.from({ length: n }, (_, i) => i);
  const y = x.map((i) => Math.sin(i / 100) + (i === 51_234 ? 5 : 0));
  const d = decimateM4(x, y, 0, n - 1, 1000);
  assert.ok(d.x.length <= 4000 && d.x.length >= 1000, `${d.x.length}`);
  assert.ok(d.y.includes(y[51_234]!), 'a one-point spike survives');
  assert.equal(Math.max(...(d.y as number[])), Math.max(...y));
  assert.equal(Math.min(...(d.y as number[])), Math.min(...y));
  for (let i = 1; i < d.x.length; i++) assert.ok(d.x[i]! > d.x[i - 1]!);
  const zoom = decimateM4(x, y, 20_000, 30_000, 1000);
  assert.equal(zoom.x[0], 19_999);
  assert.equal(zoom.x[zoom.x.length - 1], 30_001);
  const small = decimateM4([1, 2, 3], [1, null, 3], 0, 10, 100);
  assert.deepEqual(small, { x: [1, 2, 3], y: [1, null, 3] });
});
