import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactNumber, decimateM4, dofCsv, dofGroups, emaSmooth, exportName, joinTables, logLinearFit, runLabel, sortedUnique, timeWeightedEma, toCsv, valueAtX } from '../../webview-ui/src/curves/transforms';
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

test('dofGroups: final accuracy per run, RPG repeats averaged and fitted, plain runs apart', () => {
  const rpg = (name: string, dof: number, finalAcc: number, bestAcc: number) => ({ ...series(name, dof, [0.1, finalAcc]), info: { ...series(name, dof, []).info, finalAcc, bestAcc } });
  const plain = { ...series('plain', 50000, []), info: { ...series('plain', 50000, []).info, finalAcc: 0.97, rpg: false } };
  const g = dofGroups([rpg('a', 100, 0.8, 0.85), rpg('b', 100, 0.7, 0.75), rpg('c', 1000, 0.9, 0.95), rpg('d', 10000, 0.95, 0.96), plain,
    // From its eval rows when run.json has no numbers yet: the last evaluation, not the best.
    series('e', 300, [0.5, 0.9, 0.85]),
    { ...series('f', 50, []), info: { ...series('f', 50, []).info, arch: 'resnet18' } }]);
  assert.deepEqual([...g.keys()], ['lenet5 · mnist']);
  const group = g.get('lenet5 · mnist')!;
  assert.deepEqual(group.points.map((p) => [p.dof, p.acc, p.kind]), [[100, 0.8, 'rpg'], [100, 0.7, 'rpg'], [300, 0.85, 'rpg'], [1000, 0.9, 'rpg'], [10000, 0.95, 'rpg'], [50000, 0.97, 'plain']]);
  assert.deepEqual(group.means.map((m) => [m.dof, Number(m.acc.toFixed(6)), m.n]), [[100, 0.75, 2], [300, 0.85, 1], [1000, 0.9, 1], [10000, 0.95, 1]]);
  assert.ok(Math.abs(group.means[0]!.std - Math.sqrt(0.005)) < 1e-12);
  assert.deepEqual(group.baselines.map((b) => b.label), ['plain (r1) · DoF 50k']);
  // The fit is over the RPG means only: the plain model does not pull it.
  const expected = logLinearFit(group.means)!;
  assert.equal(group.fit!.n, 4);
  assert.ok(Math.abs(group.fit!.a - expected.a) < 1e-12 && Math.abs(group.fit!.b - expected.b) < 1e-12);
  const csv = dofCsv('lenet5 · mnist', group).trimEnd().split('\n');
  assert.equal(csv[0], 'arch,dataset,run,runDir,kind,dof,finalAcc,bestAcc,fitAcc');
  assert.equal(csv.length, 1 + 6);
  assert.match(csv[1]!, /^lenet5,mnist,a \(r1\) · DoF 100,\/runs\/a\/r1,rpg,100,0\.8,0\.85,0\.\d+$/);
  assert.match(csv[6]!, /^lenet5,mnist,plain \(r1\) · DoF 50k,\/runs\/plain\/r1,plain,50000,0\.97,,$/);
});

test('timeWeightedEma: TensorBoard\'s debiased EMA on even rows; a gap decays as the steps it spans', () => {
  const x = Array.from({ length: 50 }, (_, i) => i + 1);
  const y = x.map((i) => Math.sin(i) + i / 10);
  const tw = timeWeightedEma(x, y, 0.6);
  const tb = emaSmooth(y, 0.6);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs((tw[i] as number) - (tb[i] as number)) < 1e-12, `row ${i}`);
  assert.deepEqual(timeWeightedEma([1, 2, 3], [5, 5, 5], 0.9), [5, 5, 5]); // debiased: a constant stays
  // Rows 1..10 at 0, then a jump to 10 after a gap of 100 steps: the old rows are forgotten
  // (0.6^100 ≈ 0), where a per-row EMA would still hold 40% of them.
  const gx = [...Array.from({ length: 10 }, (_, i) => i + 1), 110];
  const gy = [...Array(10).fill(0), 10];
  assert.ok(Math.abs((timeWeightedEma(gx, gy, 0.6)[10] as number) - 10) < 1e-6);
  assert.ok(Math.abs((emaSmooth(gy, 0.6)[10] as number) - 4) < 0.05);
  assert.deepEqual(timeWeightedEma([1, 2], [1, null], 0.5)[1], null);
});

test('valueAtX: the value a run had reached at x, nothing outside its rows', () => {
  const xs = [10, 20, 30];
  const ys = [1, null, 3];
  assert.equal(valueAtX(xs, ys, 5), undefined);
  assert.deepEqual(valueAtX(xs, ys, 10), { x: 10, y: 1 });
  assert.deepEqual(valueAtX(xs, ys, 25), { x: 10, y: 1 });
  assert.deepEqual(valueAtX(xs, ys, 30), { x: 30, y: 3 });
  assert.equal(valueAtX(xs, ys, 31), undefined);
  assert.equal(valueAtX([], [], 1), undefined);
});

test('toCsv writes long format with escaped names', () => {
  const csv = toCsv([series('a,"b"', 10, [0.5])]);
  const lines = csv.trimEnd().split('\n');
  assert.equal(lines[0], 'run,runDir,name,arch,dataset,dof,split,step,epoch,loss,acc,lr,samplesPerSec,time');
  assert.equal(lines.length, 1 + 2 + 1);
  assert.equal(lines[1], 'r1,"/runs/a,""b""/r1","a,""b""",lenet5,mnist,10,train,1,0.5,2,0.1,0.001,100,0.1');
  assert.equal(lines[3], 'r1,"/runs/a,""b""/r1","a,""b""",lenet5,mnist,10,test,1,1,0.5,0.5,,,1');
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
