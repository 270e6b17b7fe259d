import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { goneRunDirs, listRuns, parseMetricsJsonl, parseRunJson, readRunSeries } from '../../src/extension/panels/run-files';

const train = (step: number): string => JSON.stringify({ type: 'train', step, epoch: step / 10, progress: 0, loss: 1 / step, acc: 0.5, lr: 0.01, samplesPerSec: 99, time: step, etaSeconds: 0 });

test('parseMetricsJsonl splits train/eval into columns and skips bad lines', () => {
  const text = [train(1), '', JSON.stringify({ type: 'eval', step: 1, epoch: 0.1, loss: 0.7, acc: 0.6, time: 2 }), '{"type":"train","st', 'null', JSON.stringify({ type: 'other', step: 3 }), train(2)].join('\n');
  const m = parseMetricsJsonl(text);
  assert.deepEqual(m.train.step, [1, 2]);
  assert.deepEqual(m.train.loss, [1, 0.5]);
  assert.deepEqual(m.train.samplesPerSec, [99, 99]);
  assert.deepEqual(m.eval.acc, [0.6]);
  assert.equal(m.skipped, 3);
});

test('parseRunJson keeps what the panel shows, with fallbacks', () => {
  const info = parseRunJson(JSON.stringify({ runId: 'r', name: 'n', arch: 'lenet5', dataset: 'mnist', dof: 4419, ringSize: 4400, status: 'finished', bestAcc: 0.97, startedAt: '2026-01-01T00:00:00Z' }), '/x/n/r')!;
  assert.equal(info.dof, 4419);
  assert.equal(info.bestAcc, 0.97);
  const bare = parseRunJson('{}', '/runs/cfg/run7')!;
  assert.equal(bare.runId, 'run7');
  assert.equal(bare.name, 'cfg');
  assert.equal(bare.bestAcc, undefined);
  assert.equal(parseRunJson('{', '/x'), undefined);
});

test('listRuns finds <runs>/<name>/<id>/run.json and sweep runs deeper, newest first; readRunSeries reads metrics', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-runs-'));
  try {
    for (const [id, when] of [['a', '2026-01-01T00:00:00Z'], ['b', '2026-02-01T00:00:00Z']] as const) {
      const run = path.join(dir, 'cfg', id);
      mkdirSync(run, { recursive: true });
      writeFileSync(path.join(run, 'run.json'), JSON.stringify({ runId: id, name: 'cfg', dof: 10, startedAt: when }));
      writeFileSync(path.join(run, 'metrics.jsonl'), Array.from({ length: 5 }, (_, i) => train(i + 1)).join('\n') + '\n');
    }
    mkdirSync(path.join(dir, 'cfg', 'not-a-run'));
    // A sweep's point runs sit two levels deeper: <runs>/<name>-sweep/<id>/<point>/<seed>.
    const point = path.join(dir, 'cfg-sweep', 's1', 'rpg-100', 'seed1');
    mkdirSync(point, { recursive: true });
    writeFileSync(path.join(point, 'run.json'), JSON.stringify({ runId: 'seed1', name: 'rpg-100', dof: 100, startedAt: '2026-01-15T00:00:00Z' }));
    const runs = await listRuns(dir);
    assert.deepEqual(runs.map((r) => r.runId), ['b', 'seed1', 'a']);
    const s = readRunSeries(runs[0]!.runDir)!;
    assert.equal(s.train.step.length, 5);
    assert.equal(readRunSeries(path.join(dir, 'nope')), undefined);
    assert.deepEqual(await listRuns(path.join(dir, 'missing')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a deleted run folder is gone for the curves panel: Refresh drops it (issue 18, item 10)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'rpg-gone-'));
  const kept = path.join(root, 'a', 'r1');
  const deleted = path.join(root, 'a', 'r2');
  for (const d of [kept, deleted]) {
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'run.json'), '{}');
  }
  assert.deepEqual(goneRunDirs([kept, deleted]), []);
  rmSync(deleted, { recursive: true, force: true });
  assert.deepEqual(goneRunDirs(new Map([[kept, 1], [deleted, 2]]).keys()), [deleted]);
  rmSync(root, { recursive: true, force: true });
});
