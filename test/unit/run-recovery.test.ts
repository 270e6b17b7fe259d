// Crash recovery tells the truth (issue 18, item 1): checkpoints come by wall-clock time as well
// as by steps, and a run whose process died is recorded — and described — from what its folder
// holds: how far it got (metrics.jsonl) and whether a checkpoint is there to resume from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { validateConfig } from '../../src/core/config/load';
import { RunFolder, markRunInterrupted } from '../../src/core/runs/folder';
import { interruptionMessage, lastMetricsRow } from '../../src/core/runs/interrupted';
import { runFiles } from '../../src/core/runs/layout';
import { scanRuns } from '../../src/core/runs/scan';
import { checkpointSchedule } from '../../src/engines/tfjs/engine';
import { trainLoop } from '../../src/engines/tfjs/loop';
import { optimizerFor } from '../../src/engines/tfjs/engine';
import { openSession } from '../../src/engines/tfjs/session';
import { runLength } from '../../src/core/train/schedule';
import type { EngineRunInfo } from '../../src/core/engine';

const config = (train: Record<string, unknown> = {}) =>
  validateConfig({
    name: 'crash',
    seed: 1,
    model: { arch: 'mlp', hidden: [16] },
    rpg: { dof: 300 },
    data: { dataset: 'mnist-embedded', trainSize: 320, testSize: 64 },
    train: { optimizer: 'adam', lr: 0.003, batchSize: 32, epochs: 1, backend: 'cpu', ...train },
  });

const info: EngineRunInfo = {
  engine: 'tfjs', backend: 'cpu', arch: 'mlp', dataset: 'mnist-embedded',
  summary: { arch: 'mlp', totalParams: 1000, generatedParams: 900, freeParams: 100, ringSize: 300, dof: 400, dofFraction: 0.4, ringFraction: 0.33, compression: 2.5, reuse: 3, rows: [] } as unknown as EngineRunInfo['summary'],
  totalSteps: 100, stepsPerEpoch: 10, startStep: 0,
};

test('train.checkpointMinutes defaults to a few minutes and becomes the loop\'s wall-clock checkpoint period', () => {
  const c = config();
  assert.equal(c.train.checkpointMinutes, 2);
  assert.deepEqual(checkpointSchedule(c.train, 390), { checkpointEvery: 390, checkpointEverySec: 120 });
  assert.deepEqual(checkpointSchedule(config({ checkpointMinutes: 0, checkpointEvery: 50 }).train, 390), { checkpointEvery: 50 });
  assert.throws(() => config({ checkpointMinutes: -1 }), /train\.checkpointMinutes/);
});

test('the loop checkpoints by wall clock inside an epoch (its clock, not the test\'s, decides)', async () => {
  const c = config();
  const session = await openSession(c, undefined, 'cpu');
  const optimizer = optimizerFor(session);
  try {
    const { stepsPerEpoch, totalSteps } = runLength(c.train, session.dataset.train.count);
    assert.equal(stepsPerEpoch, 10);
    // A clock that stands still: checkpoints only at the epoch's (and run's) end.
    const still: number[] = [];
    await trainLoop(session.net, optimizer, session.dataset, c, { totalSteps, stepsPerEpoch, lr: () => 0.003, evaluate: false, checkpointEvery: stepsPerEpoch, checkpointEverySec: 120, now: () => 0, onCheckpoint: (at) => void still.push(at.step) });
    assert.deepEqual(still, [10]);
    // A clock that moves 50 s per reading: 120 s pass every third reading, mid-epoch.
    let t = 0;
    const moving: number[] = [];
    await trainLoop(session.net, optimizer, session.dataset, c, { totalSteps, stepsPerEpoch, lr: () => 0.003, evaluate: false, checkpointEvery: stepsPerEpoch, checkpointEverySec: 120, now: () => (t += 50_000), onCheckpoint: (at) => void moving.push(at.step) });
    assert.ok(moving.length > 2 && moving[0]! < 10, `checkpoints by time inside the epoch: ${moving.join(', ')}`);
    assert.equal(moving.at(-1), 10);
  } finally {
    optimizer.dispose();
    session.net.dispose();
  }
});

/** A run folder as a killed process leaves it: "running", rows up to `steps`, maybe a checkpoint. */
function crashedRun(steps: number, checkpointAt?: number): string {
  const runsDir = mkdtempSync(path.join(tmpdir(), 'rpg-crash-'));
  const folder = RunFolder.create(runsDir, config(), undefined, info);
  for (let step = 1; step <= steps; step++) folder.appendRow({ type: 'train', step, epoch: step / 10, progress: step / 100, loss: 1, acc: 0.5, lr: 0.001, samplesPerSec: 100, time: step * 0.5, etaSeconds: 10 });
  if (checkpointAt !== undefined) {
    writeFileSync(runFiles(folder.dir).checkpoint, 'not read here');
    folder.checkpointed({ step: checkpointAt, epoch: checkpointAt / 10, durationSec: checkpointAt * 0.5 });
  }
  // The owner "died": a pid that is not alive, and its lock gone with it.
  const record = JSON.parse(readFileSync(runFiles(folder.dir).record, 'utf8'));
  writeFileSync(runFiles(folder.dir).record, JSON.stringify({ ...record, pid: 2 ** 22 + 12345 }));
  unlinkSync(runFiles(folder.dir).lock);
  return folder.dir;
}

test('a run killed before its first checkpoint: the record has its real step and time, the message says there is nothing to resume', () => {
  const dir = crashedRun(37);
  const result = markRunInterrupted(dir, 'The trainer process ended unexpectedly (signal SIGKILL)');
  assert.equal(result.changed, true);
  assert.equal(result.message, 'The trainer process ended unexpectedly (signal SIGKILL) at step 37 (19 s of training). It had not written a checkpoint yet, so there is nothing to resume: train the config again.');
  const record = JSON.parse(readFileSync(runFiles(dir).record, 'utf8'));
  assert.equal(record.status, 'failed');
  assert.equal(record.step, 37);
  assert.equal(record.durationSec, 18.5);
  assert.equal(record.checkpointStep, undefined);
  assert.equal(record.error.message, result.message);
  assert.equal(record.pid, undefined);
});

test('a run killed after a checkpoint: the message names the checkpoint\'s step and what is redone', () => {
  const dir = crashedRun(37, 30);
  const result = markRunInterrupted(dir, 'The trainer process ended unexpectedly (signal SIGKILL).');
  assert.equal(result.message, 'The trainer process ended unexpectedly (signal SIGKILL) at step 37 (19 s of training). Its last checkpoint, at step 30, is intact: resume the run from the Experiments view (the 7 steps after it are trained again).');
  const record = JSON.parse(readFileSync(runFiles(dir).record, 'utf8'));
  assert.equal(record.step, 37);
  assert.equal(record.checkpointStep, 30);
  // A second call changes nothing and still describes the files.
  assert.equal(markRunInterrupted(dir, 'again').changed, false);
});

test('a scan finds a stale "running" record and describes it from the files the same way', async () => {
  const dir = crashedRun(12);
  const [run] = await scanRuns(path.dirname(path.dirname(dir)));
  assert.ok(run?.interrupted);
  assert.equal(run.record.step, 12);
  assert.match(run.record.error!.message, /pid \d+\) is gone at step 12 \(6\.0 s of training\)\. It had not written a checkpoint yet/);
});

test('the last metrics row survives a half-written last line; records from before checkpointStep still resume at their step', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-tail-'));
  const file = path.join(dir, 'metrics.jsonl');
  writeFileSync(file, '');
  for (let i = 1; i <= 3000; i++) appendFileSync(file, JSON.stringify({ type: 'train', step: i, epoch: i / 100, time: i / 10 }) + '\n');
  appendFileSync(file, '{"type":"train","step":30');
  assert.deepEqual(lastMetricsRow(file), { step: 3000, epoch: 30, time: 300 });
  assert.equal(lastMetricsRow(path.join(dir, 'none.jsonl')), undefined);
  assert.match(interruptionMessage('Stopped', { step: 0, epoch: 0, durationSec: 0 }), /^Stopped before its first step\. It had not written/);
});
