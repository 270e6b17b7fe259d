// Training through the trainer process: notifications, the progress throttle, the queue,
// stop and resume (bit-exact on the same backend), SIGTERM, kill -9 and recovery by a fresh
// trainer, and a run that fails in the engine. Tiny MLP on 512 embedded MNIST digits, cpu backend.
// Runs that a test interrupts (stop, kill -9, SIGTERM, stdin closed) train LONG, which cannot
// finish before the interruption lands; with a constant learning rate its first STEPS steps
// are the same as CONFIG's, so they are still compared with the uninterrupted run.
// The progress rate limit is tested with a fake clock (test/unit/trainer-core.test.ts).
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseConfigText } from '../../src/core/config/load';
import { resolveExperiment } from '../../src/core/experiment/resolve';
import { shutdownRequest, trainStartRequest, trainStopRequest } from '../../src/protocol';
import { layerWeightsFor, planFor } from '../../src/core/experiment/planning';
import { generateWeights, materializePlan } from '../../src/core/rpg/materialize';
import { readCheckpoint } from '../../src/core/checkpoint/file';
import { processAlive } from '../../src/core/runs/record';
import { ensureTrainerBuilt, initialize, killAll, readMetrics, removeDir, startTrainer, tempDir, tinyConfig, TRAINER_JS } from './trainer-harness';

const STEPS = 30;
/** Every run of this file trains this config, so any two runs must agree step by step. */
const CONFIG = tinyConfig({ maxSteps: STEPS, epochs: 10, evalEvery: 10, checkpointEvery: 5, schedule: 'constant' });
/** CONFIG that trains (practically) forever: the run to interrupt. */
const LONG = tinyConfig({ epochs: 100_000, evalEvery: 10, checkpointEvery: 5, schedule: 'constant' });
const runsDir = tempDir('training');
/** Train losses of the uninterrupted run, by step. */
let reference: Map<number, number> | undefined;

const lossesOf = (runDir: string) => new Map(readMetrics(runDir).filter((r) => r.type === 'train').map((r) => [r.step, r.loss]));
const str = (v: unknown) => v as string;

function assertEveryStepOnce(runDir: string): void {
  const steps = readMetrics(runDir).filter((r) => r.type === 'train').map((r) => r.step);
  assert.deepEqual(steps, Array.from({ length: STEPS }, (_, i) => i + 1), 'metrics.jsonl has every step exactly once');
}

/** Steps 1..n, each once (a LONG run stopped at step n). */
function assertContiguousSteps(runDir: string): number {
  const steps = readMetrics(runDir).filter((r) => r.type === 'train').map((r) => r.step);
  assert.deepEqual(steps, Array.from({ length: steps.length }, (_, i) => i + 1), 'metrics.jsonl has every step exactly once');
  return steps.length;
}

function assertMatchesReference(runDir: string, fromStep: number): void {
  assert.ok(reference, 'the reference run (first test) trained');
  const losses = lossesOf(runDir);
  for (let step = fromStep; step <= STEPS; step++) assert.equal(losses.get(step), reference.get(step), `loss at step ${step} equals the uninterrupted run's`);
}

describe('trainer training runs', () => {
  after(() => {
    killAll();
    removeDir(runsDir);
  });

  test('a run streams started, throttled progress, evaluations, checkpoints and finished; the queue waits; stop and resume are exact', async () => {
    const trainer = startTrainer();
    await initialize(trainer);
    const a = await trainer.client.request(trainStartRequest, { text: CONFIG, runsDir });
    const b = await trainer.client.request(trainStartRequest, { text: LONG, runsDir });
    const c = await trainer.client.request(trainStartRequest, { text: CONFIG, runsDir });
    assert.deepEqual([a.queuePosition, b.queuePosition, c.queuePosition], [0, 1, 2]);
    assert.equal(new Set([a.runId, b.runId, c.runId]).size, 3);

    // A queued run that is stopped never starts and leaves nothing behind.
    assert.deepEqual((await trainer.client.request(trainStopRequest, { runId: c.runId })).stopped, [c.runId]);
    await trainer.next('train/cancelled', (p) => p.runId === c.runId);

    const finishedA = await trainer.next('train/finished', (p) => p.runId === a.runId, 60_000);
    const runDirA = str(finishedA.params.runDir);
    assert.equal(finishedA.params.status, 'finished');
    assert.equal(finishedA.params.steps, STEPS);
    const started = trainer.of('train/started', a.runId);
    assert.equal(started.length, 1);
    assert.equal(started[0]!.params.runDir, runDirA);
    assert.equal(started[0]!.params.totalSteps, STEPS);
    assert.ok(started[0]!.at <= finishedA.at);

    // Progress: in order, and the last row always arrives (the rate limit: unit test).
    const progress = trainer.of('train/progress', a.runId);
    const steps = progress.map((p) => p.params.step as number);
    assert.deepEqual(steps, [...steps].sort((x, y) => x - y), 'in step order');
    assert.equal(steps.at(-1), STEPS, 'the last row is sent');
    assert.equal(progress.at(-1)!.params.totalSteps, STEPS);
    assert.ok(trainer.of('train/progress', a.runId).every((p) => p.at <= finishedA.at));

    const evals = trainer.of('train/evaluated', a.runId).map((p) => p.params.step);
    assert.deepEqual(evals.filter((s) => s === 10 || s === 20 || s === 30), [10, 20, 30]);
    const checkpoints = trainer.of('train/checkpoint', a.runId).map((p) => p.params.step as number);
    assert.ok(checkpoints.includes(5) && checkpoints.includes(STEPS), `checkpoints at ${checkpoints.join(',')}`);
    assertEveryStepOnce(runDirA);
    reference = lossesOf(runDirA);

    // The detail view reads the trained ring from the run's checkpoint.
    const plan = planFor({ text: CONFIG });
    const layer = plan.layers[0]!;
    const trained = layerWeightsFor({ text: CONFIG, layer: layer.name, runDir: runDirA, maxValues: 1e9 });
    const initial = layerWeightsFor({ text: CONFIG, layer: layer.name, maxValues: 1e9 });
    const resolved = resolveExperiment(parseConfigText(CONFIG), { height: 28, width: 28, channels: 1, numClasses: 10 });
    const ring = readCheckpoint(runDirA).tensors.get('ring')!.values;
    const expected = generateWeights(materializePlan(resolved.plan!), ring).subarray(layer.offset, layer.offset + layer.params);
    assert.equal(trained.source, 'checkpoint');
    assert.deepEqual(trained.values, Array.from(expected));
    assert.notDeepEqual(trained.values, initial.values, 'training moved the weights');

    // B (LONG) waited behind A; stop it a few steps in.
    const progressB = await trainer.next('train/progress', (p) => p.runId === b.runId && (p.step as number) >= 3, 60_000);
    assert.ok(progressB.at >= finishedA.at, 'B started after A finished');
    // While it trains, its record names the process that trains it.
    const runningB = JSON.parse(readFileSync(path.join(str(trainer.of('train/started', b.runId)[0]!.params.runDir), 'run.json'), 'utf8')) as { status: string; pid?: number; hostname?: string };
    assert.equal(runningB.status, 'running');
    assert.equal(runningB.pid, trainer.client.pid);
    assert.equal(typeof runningB.hostname, 'string');
    const stop = await trainer.client.request(trainStopRequest, { runId: b.runId });
    assert.deepEqual(stop.stopped, [b.runId]);
    const stoppedB = await trainer.next('train/finished', (p) => p.runId === b.runId, 30_000);
    assert.equal(stoppedB.params.status, 'stopped');
    const stopStep = stoppedB.params.steps as number;
    assert.ok(stopStep > 0 && stopStep < STEPS, `stopped at step ${stopStep}`);
    assert.equal(trainer.of('train/finished', b.runId).length, 1);
    const runDirB = str(stoppedB.params.runDir);
    assert.equal(trainer.of('train/checkpoint', b.runId).at(-1)!.params.step, stopStep, 'a checkpoint of the last finished step');
    assert.equal(readCheckpoint(runDirB).meta.step, stopStep);
    const stoppedRecord = JSON.parse(readFileSync(path.join(runDirB, 'run.json'), 'utf8')) as { status: string; pid?: number };
    assert.equal(stoppedRecord.status, 'stopped');
    assert.equal(stoppedRecord.pid, undefined, 'an ended record names no process');

    // Resume B: same run id, continues from the checkpoint with the uninterrupted run's losses.
    const resumed = await trainer.client.request(trainStartRequest, { resumeFrom: runDirB, runsDir });
    assert.equal(resumed.runId, b.runId);
    const startedAgain = await trainer.next('train/started', (p) => p.runId === b.runId && p.resumed === true);
    assert.equal(startedAgain.params.startStep, stopStep);
    await trainer.next('train/progress', (p) => p.runId === b.runId && (p.step as number) > STEPS, 60_000);
    await trainer.client.request(trainStopRequest, { runId: b.runId });
    const finishedB = await trainer.next('train/finished', (p) => p.runId === b.runId && p.resumed !== true && (p.steps as number) > STEPS, 60_000);
    assert.equal(finishedB.params.status, 'stopped');
    assert.equal(assertContiguousSteps(runDirB), finishedB.params.steps);
    assert.equal(lossesOf(runDirB).get(stopStep + 1), reference.get(stopStep + 1), 'the first step after resume has the same loss');
    assertMatchesReference(runDirB, 1);

    assert.deepEqual(readdirSync(path.join(runsDir, 'tiny-mlp')).sort(), [a.runId, b.runId].sort(), 'the cancelled run has no folder');
    await trainer.close();
    assert.deepEqual(trainer.client.exit, { code: 0, signal: null });
  });

  test('kill -9 keeps the last checkpoint intact and a fresh trainer resumes it exactly', async () => {
    const doomed = startTrainer();
    await initialize(doomed);
    const run = await doomed.client.request(trainStartRequest, { text: LONG, runsDir });
    const checkpoint = await doomed.next('train/checkpoint', (p) => p.runId === run.runId && (p.step as number) >= 5, 60_000);
    doomed.client.process.kill('SIGKILL');
    assert.equal((await doomed.client.exited).signal, 'SIGKILL');
    const runDir = path.dirname(str(checkpoint.params.path));
    const saved = readCheckpoint(runDir); // throws if torn or corrupt
    assert.ok(saved.meta.step >= 5 && saved.meta.step < STEPS, `checkpoint at step ${saved.meta.step}`);

    const fresh = startTrainer();
    await initialize(fresh);
    await fresh.client.request(trainStartRequest, { resumeFrom: runDir, runsDir });
    const started = await fresh.next('train/started', (p) => p.runId === run.runId);
    assert.equal(started.params.startStep, saved.meta.step);
    assert.equal(started.params.resumed, true);
    await fresh.next('train/progress', (p) => p.runId === run.runId && (p.step as number) > STEPS, 60_000);
    await fresh.client.request(trainStopRequest, { runId: run.runId });
    const finished = await fresh.next('train/finished', (p) => p.runId === run.runId, 60_000);
    assert.equal(finished.params.status, 'stopped');
    assert.equal(assertContiguousSteps(runDir), finished.params.steps);
    assertMatchesReference(runDir, 1);
    await fresh.close();
  });

  test('a run that fails in the engine reports train/failed with the file; the trainer lives on; SIGTERM stops a run gracefully', async () => {
    const images = tempDir('images');
    try {
      for (const cls of ['cats', 'dogs']) {
        mkdirSync(path.join(images, cls));
        for (const n of [1, 2, 3]) writeFileSync(path.join(images, cls, `${n}.png`), 'definitely not a png');
      }
      const trainer = startTrainer();
      await initialize(trainer);
      const text = tinyConfig({}, { data: { dataset: 'image-folder', path: images, imageSize: 8 } });
      const failedRunsDir = tempDir('failed');
      const run = await trainer.client.request(trainStartRequest, { text, runsDir: failedRunsDir });
      const failed = await trainer.next('train/failed', (p) => p.runId === run.runId, 30_000);
      assert.equal(failed.params.code, 'dataset');
      assert.match(str(failed.params.file), /\.png$/);
      assert.ok(str(failed.params.message).length > 0);
      assert.equal(trainer.of('train/finished').length, 0);
      assert.deepEqual(readdirSync(failedRunsDir), [], 'the data failed before a run folder was made');
      removeDir(failedRunsDir);
      assert.deepEqual(await trainer.client.request(trainStopRequest, { runId: 'no-such-run' }), { stopped: [] }, 'still answering');

      // A runs folder under a file is refused before anything trains, naming the folder.
      const blocker = path.join(images, 'cats', '1.png');
      const broken = await trainer.client.request(trainStartRequest, { text: CONFIG, runsDir: path.join(blocker, 'runs') }).then(
        () => assert.fail('train/start should fail'),
        (e: { message: string; data?: { field?: string } }) => e,
      );
      assert.equal(broken.data?.field, 'runsDir');
      assert.match(broken.message, /runs folder .*1\.png\/runs: .*is a file/);

      // SIGTERM: the step finishes, a checkpoint is written, train/finished goes out, exit 0.
      const live = await trainer.client.request(trainStartRequest, { text: LONG, runsDir });
      await trainer.next('train/progress', (p) => p.runId === live.runId, 60_000);
      trainer.client.process.kill('SIGTERM');
      assert.deepEqual(await trainer.client.exited, { code: 0, signal: null });
      const stopped = trainer.of('train/finished', live.runId);
      assert.equal(stopped.length, 1, 'train/finished arrived before the exit');
      assert.equal(stopped[0]!.params.status, 'stopped');
      assert.equal(readCheckpoint(str(stopped[0]!.params.runDir)).meta.step, stopped[0]!.params.steps);
      assert.match(trainer.stderr.join('\n'), /shutting down: SIGTERM/);
    } finally {
      removeDir(images);
    }
  });

  test('the client going away (stdin closed) stops the run with a checkpoint and ends the trainer', async () => {
    const trainer = startTrainer();
    await initialize(trainer);
    const run = await trainer.client.request(trainStartRequest, { text: LONG, runsDir });
    const progress = await trainer.next('train/progress', (p) => p.runId === run.runId, 60_000);
    const runDir = str(trainer.of('train/started', run.runId)[0]!.params.runDir);
    trainer.client.process.stdin!.end();
    assert.deepEqual(await trainer.client.exited, { code: 0, signal: null });
    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { status: string; step: number };
    assert.equal(record.status, 'stopped');
    assert.ok(record.step >= (progress.params.step as number), `stopped at ${record.step}`);
    assert.equal(readCheckpoint(runDir).meta.step, record.step, 'the checkpoint is of the last finished step');
  });

  test('a train/start that arrives after shutdown is refused, not lost', async () => {
    const trainer = startTrainer();
    await initialize(trainer);
    const shutdown = trainer.client.request(shutdownRequest, undefined);
    const start = trainer.client.request(trainStartRequest, { text: CONFIG, runsDir });
    await assert.rejects(start, /shutting down/);
    await shutdown;
    assert.deepEqual(await trainer.client.exited, { code: 0, signal: null });
    assert.equal(trainer.of('train/started').length, 0);
  });

  test('a trainer whose parent died (stdin still open) stops on its own', async () => {
    ensureTrainerBuilt();
    // The intermediate parent starts the trainer with stdin/stdout inherited from this test
    // (kept open here), reports the trainer's pid on stderr, then exits.
    const script = `const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, [${JSON.stringify(TRAINER_JS)}], { stdio: ['inherit', 'inherit', 'ignore'], env: { ...process.env, RPG_TRAINER_WATCHDOG_MS: '300' } });
      process.stderr.write('trainer ' + child.pid + '\\n');
      setTimeout(() => process.exit(0), 500);`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let trainerPid = 0;
    parent.stderr!.on('data', (d: Buffer) => {
      const m = /trainer (\d+)/.exec(d.toString());
      if (m) trainerPid = Number(m[1]);
    });
    parent.stdout!.resume();
    try {
      await new Promise<void>((resolve) => parent.once('exit', () => resolve()));
      assert.ok(trainerPid > 0, 'the trainer was started');
      const deadline = Date.now() + 15_000;
      while (processAlive(trainerPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(processAlive(trainerPid), false, 'the orphaned trainer exited');
    } finally {
      if (trainerPid && processAlive(trainerPid)) process.kill(trainerPid, 'SIGKILL');
      parent.stdin!.end();
    }
  });
});
