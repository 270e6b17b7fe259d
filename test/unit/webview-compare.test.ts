// The Compare Runs table apart from the DOM: rows built from real run folders (incremental
// metrics reading), and the webview's filter language, sorting, seed aggregation, CSV and axes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { compareRow, compareRows, groupKeyOf, methodOf, METRICS_TAIL_BYTES, MetricsTails, sweepOf } from '../../src/extension/panels/compare-rows';
import { scanRuns } from '../../src/core/runs/scan';
import type { RunRecord } from '../../src/core/runs/types';
import type { CompareRow } from '../../src/webview-contract';
import { aggregateRows, applyFilter, findColumn, formatValue, COLUMN_BY_ID, makeAxis, parseFilter, rowsToCsv, singleRow, sortRows, wantsLog } from '../../webview-ui/src/compare/model';
import { fitText, methodFits } from '../../webview-ui/src/compare/plots';

const record = (over: Partial<RunRecord> & { config?: unknown } = {}): RunRecord =>
  ({
    runId: 'r1', name: 'rpg-100', status: 'finished', engine: 'tfjs', backend: 'wasm', arch: 'lenet5', dataset: 'mnist-embedded', dof: 100, ringSize: 100, totalParams: 44426,
    startedAt: '2026-12-01T00:00:00.000Z', durationSec: 12, step: 250, epoch: 2, bestAcc: 0.9, finalAcc: 0.88,
    config: { name: 'rpg-100', seed: 1, model: { arch: 'lenet5', width: 1 }, rpg: { enabled: true, dof: 100, sampling: 'ring', generate: 'all', method: 'ring' }, data: { dataset: 'mnist-embedded' }, train: { optimizer: 'adam', lr: 0.001, batchSize: 64, epochs: 2, engine: 'tfjs', backend: 'wasm' } },
    ...over,
  }) as RunRecord;

const row = (over: Partial<CompareRow>): CompareRow => ({ runDir: `/r/${over.runId ?? 'x'}`, runId: 'x', name: 'n', status: 'finished', hasCheckpoint: true, groupKey: 'g', arch: 'lenet5', dataset: 'mnist', method: 'rpg', dof: 100, ringSize: 100, totalParams: 44426, ...over });

test('rows from run folders: the one scanner finds them; metrics.jsonl is read from its end, again only when it changed', async () => {
  const runs = mkdtempSync(path.join(tmpdir(), 'rpg-compare-'));
  const dir = path.join(runs, 'lenet5-all-sweep', '2026-12-01', 'rpg-100', 'seed1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify(record()));
  writeFileSync(path.join(dir, 'checkpoint.bin'), Buffer.alloc(1234));
  const metrics = path.join(dir, 'metrics.jsonl');
  writeFileSync(metrics, [
    { type: 'train', step: 1, epoch: 0.01, loss: 2.3, acc: 0.1, lr: 0.001, samplesPerSec: 100, time: 0.1 },
    { type: 'train', step: 2, epoch: 0.02, loss: 2.1, acc: 0.2, lr: 0.001, samplesPerSec: 300, time: 0.2 },
    { type: 'eval', step: 2, epoch: 0.02, loss: 1.5, acc: 0.6, time: 0.3 },
  ].map((r) => JSON.stringify(r)).join('\n') + '\n{"type":"train","step":3,"lo');
  const scanned = await scanRuns(runs);
  assert.equal(scanned.length, 1);
  const tails = new MetricsTails();
  const [first] = await compareRows(scanned.map((s) => ({ runId: s.record.runId, dir: s.dir, record: s.record, status: s.record.status, hasCheckpoint: s.hasCheckpoint })), tails);
  assert.equal(first!.sweep, 'lenet5-all-sweep/2026-12-01');
  assert.equal(first!.method, 'rpg');
  assert.equal(first!.generate, 'all');
  assert.equal(first!.checkpointBytes, 1234);
  assert.equal(first!.finalLoss, 1.5);
  assert.equal(first!.trainLoss, 2.1, 'the unfinished last line is not read');
  assert.equal(first!.samplesPerSec, 200, 'mean of the training rows');
  assert.equal(first!.steps, 250, 'the record is further than the rows');
  // The row completes and more arrive: the file changed, its end is read again.
  appendFileSync(metrics, 'ss":1.9,"acc":0.3,"lr":0.001,"samplesPerSec":500,"time":0.3}\n{"type":"eval","step":3,"epoch":0.03,"loss":1.2,"acc":0.7,"time":0.4}\n');
  const s2 = (await tails.summary(dir))!;
  assert.equal(s2.trainLoss, 1.9);
  assert.equal(s2.evalLoss, 1.2);
  assert.equal(s2.samplesPerSec, 300);
  assert.equal(s2.bestEvalAcc, 0.7);
  // A resumed run drops rows after its checkpoint: the file shrinks, the summary follows.
  truncateSync(metrics, 0);
  writeFileSync(metrics, JSON.stringify({ type: 'eval', step: 1, epoch: 0.01, loss: 2.2, acc: 0.15, time: 0.1 }) + '\n');
  const s3 = (await tails.summary(dir))!;
  assert.equal(s3.steps, 1);
  assert.equal(s3.evalLoss, 2.2);
  assert.equal(s3.trainLoss, undefined);
  // A long run: only its last METRICS_TAIL_BYTES are read, the cut first line dropped.
  const rows: string[] = [];
  for (let step = 1; step <= 5000; step++) rows.push(JSON.stringify({ type: 'train', step, epoch: step / 100, loss: 1 / step, acc: 0.5, lr: 0.001, samplesPerSec: step <= 4000 ? 10 : 1000, time: step }));
  writeFileSync(metrics, rows.join('\n') + '\n');
  const s4 = (await tails.summary(dir))!;
  assert.equal(s4.steps, 5000);
  assert.equal(s4.trainLoss, 1 / 5000);
  assert.ok(5000 * 150 > METRICS_TAIL_BYTES && s4.samplesPerSec! > 900, `the end of the run's rate (${s4.samplesPerSec}), not the whole run's`);
});

test('rows: method, seed groups, sweep folders; a running run shows its live numbers', () => {
  assert.equal(methodOf(record().config), 'rpg');
  const cfg = (over: Record<string, unknown>) => ({ ...record().config, ...over }) as unknown as RunRecord['config'];
  assert.equal(methodOf(cfg({ rpg: { enabled: true, method: 'hashed' } })), 'hashed');
  assert.equal(methodOf(cfg({ rpg: { enabled: false }, model: { arch: 'lenet5', width: 0.3 } })), 'width');
  assert.equal(methodOf(cfg({ rpg: { enabled: false } })), 'plain');
  const a = groupKeyOf(record(), 'x');
  assert.equal(groupKeyOf(record({ config: { ...record().config, seed: 7 } }), 'x'), a, 'seeds share a group');
  assert.notEqual(groupKeyOf(record({ config: { ...record().config, train: { ...record().config.train, lr: 0.01 } } }), 'x'), a);
  assert.equal(sweepOf('/w/runs/lenet5-sweep/2026/rpg-100/seed1'), 'lenet5-sweep/2026');
  assert.equal(sweepOf('/w/runs/lenet5/2026-12-01T00-00-00-000Z'), undefined);
  const live = compareRow({ runId: 'r', dir: '/w/runs/x/r', record: record({ status: 'running', finalAcc: undefined }), status: 'running', hasCheckpoint: false, live: { progress: 0.4, samplesPerSec: 1234, loss: 0.7 } }, { steps: 10, evalAcc: 0.5, trainLoss: 1 }, undefined);
  assert.equal(live.progress, 0.4);
  assert.equal(live.samplesPerSec, 1234);
  assert.equal(live.trainLoss, 0.7);
  assert.equal(live.finalAcc, 0.5, 'the last evaluation so far');
  assert.equal(live.checkpointBytes, undefined);
});

test('filter language: column terms with operators and percentages, bare words, unknown columns reported', () => {
  const rows = [row({ runId: 'a', name: 'rpg-100', finalAcc: 0.91, lr: 0.001 }), row({ runId: 'b', name: 'hashed-100', method: 'hashed', finalAcc: 0.85, lr: 0.01 }), row({ runId: 'c', name: 'plain', method: 'plain', finalAcc: 0.97 })].map(singleRow);
  const ids = (text: string) => applyFilter(rows, parseFilter(text)).map((r) => r.runs[0]!.runId);
  assert.deepEqual(ids('acc>0.9'), ['a', 'c']);
  assert.deepEqual(ids('acc>90%'), ['a', 'c']);
  assert.deepEqual(ids('acc>90'), ['a', 'c'], 'a percent column reads 90 as 90%');
  assert.deepEqual(ids('final acc<=0.91'.replace(' ', '')), ['a', 'b']);
  assert.deepEqual(ids('method:hash'), ['b']);
  assert.deepEqual(ids('method!=plain lr<0.005'), ['a']);
  assert.deepEqual(ids('HASHED'), ['b'], 'a bare word matches the name, case-insensitively');
  const bad = parseFilter('bogus>1 rpg');
  assert.deepEqual(bad.errors, ['unknown column "bogus"']);
  assert.equal(bad.terms.length, 1);
  assert.equal(findColumn('Ring M'), 'ringSize');
  assert.equal(findColumn('samples/s'), 'samplesPerSec');
});

test('sorting: numbers numerically, missing values last both ways, ties by run', () => {
  const rows = [row({ runId: 'a', finalAcc: 0.5 }), row({ runId: 'b' }), row({ runId: 'c', finalAcc: 0.9 }), row({ runId: 'd', finalAcc: 0.9 })].map((r) => singleRow({ ...r, runDir: `/r/${r.runId}` }));
  assert.deepEqual(sortRows(rows, 'finalAcc', true).map((r) => r.runs[0]!.runId), ['c', 'd', 'a', 'b']);
  assert.deepEqual(sortRows(rows, 'finalAcc', false).map((r) => r.runs[0]!.runId), ['a', 'c', 'd', 'b']);
  const names = [row({ runId: 'x', name: 'rpg-1000' }), row({ runId: 'y', name: 'rpg-200' })].map(singleRow);
  assert.deepEqual(sortRows(names, 'name', false).map((r) => r.runs[0]!.name), ['rpg-200', 'rpg-1000'], 'natural order of names');
});

test('seeds folded: mean ± sample std of each number; CSV carries raw values and the std columns', () => {
  const rows = [row({ runId: 's1', runDir: '/r/s1', groupKey: 'k', seed: 1, finalAcc: 0.8, durationSec: 10 }), row({ runId: 's2', runDir: '/r/s2', groupKey: 'k', seed: 2, finalAcc: 0.9, durationSec: 20 }), row({ runId: 'o', runDir: '/r/o', groupKey: 'other', seed: 1, finalAcc: 0.7, name: 'other, "quoted"' })];
  const agg = aggregateRows(rows);
  assert.equal(agg.length, 2);
  const k = agg.find((r) => r.key === 'k')!;
  assert.ok(Math.abs((k.value('finalAcc') as number) - 0.85) < 1e-12);
  assert.ok(Math.abs(k.aggregates!.get('finalAcc')!.std - Math.sqrt(0.005)) < 1e-12);
  assert.equal(k.value('seed'), 2, 'the seed column counts the seeds');
  assert.equal(k.value('runId'), '2 runs');
  const csv = rowsToCsv(agg, ['name', 'seed', 'finalAcc'], true).trimEnd().split('\n');
  assert.equal(csv[0], 'name,seed,finalAcc,finalAcc std,runs');
  assert.match(csv[1]!, /^n,2,0\.85\d*,0\.0707\d+,\/r\/s1;\/r\/s2$/);
  assert.equal(csv[2], '"other, ""quoted""",1,0.7,0,/r/o', 'text with commas and quotes escaped');
  const single = rowsToCsv(rows.map(singleRow), ['name', 'finalAcc'], false).trimEnd().split('\n');
  assert.equal(single[0], 'name,finalAcc,runDir');
  assert.equal(single.length, 4);
  assert.equal(formatValue(COLUMN_BY_ID.get('checkpointBytes')!, 1536), '1.50 KiB');
  assert.equal(formatValue(COLUMN_BY_ID.get('durationSec')!, 125), '2m 05s');
});

test('axes: log when positive values span 20× (auto), nice ticks; fits only on a DoF axis where DoF varies', () => {
  assert.equal(wantsLog([100, 200, 10000], 'auto'), true);
  assert.equal(wantsLog([100, 200, 300], 'auto'), false);
  assert.equal(wantsLog([0, 100, 10000], 'auto'), false, 'zero cannot sit on a log axis');
  assert.equal(wantsLog([100, 200], 'on'), true);
  const log = makeAxis([100, 10000], true);
  assert.ok(log.ticks.includes(100) && log.ticks.includes(1000) && log.ticks.includes(10000));
  assert.ok(Math.abs(log.at(1000) - 0.5) < 1e-9, 'a decade is a decade');
  const lin = makeAxis([0.71, 0.93], false);
  assert.ok(lin.ticks.every((t, i) => i === 0 || Math.abs(t - lin.ticks[i - 1]! - (lin.ticks[1]! - lin.ticks[0]!)) < 1e-9));
  const pts = [100, 300, 1000].map((dof, i) => singleRow(row({ runId: `p${i}`, runDir: `/r/p${i}`, dof, ringSize: dof, finalAcc: 0.5 + 0.05 * Math.log(dof) })));
  const [fit] = methodFits(pts, 'dof', 'finalAcc');
  assert.ok(fit && Math.abs(fit.fit.b - 0.05) < 1e-12 && Math.abs(fit.fit.r2 - 1) < 1e-12);
  assert.equal(fitText(fit.fit, 'ringSize'), '50.00% + 5.00%·ln M (R² 1.000)');
  assert.deepEqual(methodFits(pts, 'lr', 'finalAcc'), [], 'no DoF axis, no fit');
  assert.deepEqual(methodFits(pts.slice(0, 1), 'dof', 'finalAcc'), [], 'one DoF value, no fit');
});
