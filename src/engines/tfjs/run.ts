// The training loop: one-stage, end to end; gradients flow through the ring generator into the
// ring. Writes metrics.jsonl (every step), run.json and atomic checkpoints into the run folder;
// a resumed run continues bit-exactly on the same backend (same batches, same state).
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { batchCount, batches } from '../../core/data';
import { Optimizer } from './optimizer';
import { learningRate } from '../../core/train/schedule';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint, CheckpointMeta } from '../../core/checkpoint/file';
import { writeFileAtomic } from '../../core/runs/atomic';
import { evaluate, openSession, restoreTensors, Session, snapshotTensors } from './session';
import { trainStep } from './step';
import { validateConfig } from '../../core/config/load';
import type { RpgConfig } from '../../core/config/schema';
import { RunResult, TrainEvents, TrainOptions } from '../../core/engine';
import { EvalRow, TrainRow } from '../../core/train/rows';
import { RunRecord } from '../../core/runs/types';
import { TrainError } from '../../core/errors';

import { METRICS_FILE, readRunRecord, RUN_FILE, runOwner } from '../../core/runs/record';

export { METRICS_FILE, readRunRecord, RUN_FILE };

/** A sortable, readable run id: 2026-11-28T23-10-05-123Z. */
export function newRunId(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, '-');
}

function writeRunRecord(runDir: string, record: RunRecord): void {
  writeFileAtomic(path.join(runDir, RUN_FILE), JSON.stringify(record, null, 2) + '\n');
}

/** Trains (or resumes) one run. Resolves when it finishes or is stopped; throws TrainError. */
export async function train(options: TrainOptions, events: TrainEvents = {}): Promise<RunResult> {
  const log = (m: string) => events.onLog?.(m);
  const resumeCkpt = options.resumeFrom ? readCheckpoint(options.resumeFrom) : undefined;
  // A resumed run trains the config it was started with (stored in its checkpoint).
  const config: RpgConfig = resumeCkpt ? validateConfig(resumeCkpt.meta.config) : options.config;
  const configPath = options.configPath ?? (options.resumeFrom ? readRunRecord(options.resumeFrom)?.configPath : undefined);
  const session = await openSession(config, configPath, options.backend);
  try {
    return await trainSession(session, options, resumeCkpt, events, log);
  } finally {
    session.net.dispose();
  }
}

async function trainSession(session: Session, options: TrainOptions, resumeCkpt: ReturnType<typeof readCheckpoint> | undefined, events: TrainEvents, log: (m: string) => void): Promise<RunResult> {
  const { config, net, materialized } = session;
  const tc = config.train;
  const optimizer = new Optimizer({ name: tc.optimizer, momentum: tc.momentum, weightDecay: tc.weightDecay, normalization: config.rpg.lrNormalization }, net.variables, materialized);
  try {
    return await trainSteps(session, options, resumeCkpt, events, log, optimizer);
  } finally {
    optimizer.dispose();
  }
}

async function trainSteps(session: Session, options: TrainOptions, resumeCkpt: ReturnType<typeof readCheckpoint> | undefined, events: TrainEvents, log: (m: string) => void, optimizer: Optimizer): Promise<RunResult> {
  const { config, dataset, net, resolved, materialized } = session;
  const tc = config.train;
  const stepsPerEpoch = batchCount(dataset.train.count, tc.batchSize);
  const totalSteps = Math.min(tc.maxSteps ?? Infinity, stepsPerEpoch * tc.epochs);
  const evalEvery = tc.evalEvery ?? stepsPerEpoch;
  const checkpointEvery = tc.checkpointEvery ?? stepsPerEpoch;
  const augment = config.data.augment;

  let step = 0;
  let bestAcc = 0;
  let lastAcc = 0;
  let elapsedBefore = 0;
  let runDir: string;
  let record: RunRecord;
  if (resumeCkpt && options.resumeFrom) {
    runDir = options.resumeFrom;
    const m = resumeCkpt.meta;
    const planHash = resolved.plan?.hash ?? null;
    if (m.planHash !== planHash || m.planContentHash !== (materialized?.contentHash ?? null)) {
      throw new TrainError('checkpoint', `${path.join(runDir, CHECKPOINT_FILE)}: the plan regenerated from (config, seed) does not match the checkpoint's (hash ${m.planHash} vs ${planHash})`, undefined, runDir);
    }
    const ckptFile = path.join(runDir, CHECKPOINT_FILE);
    restoreTensors(net.state(), resumeCkpt, ckptFile);
    restoreTensors(optimizer.state(), resumeCkpt, ckptFile);
    optimizer.step = m.optimizerStep;
    step = m.step;
    bestAcc = m.bestAcc;
    lastAcc = m.lastAcc;
    elapsedBefore = m.elapsedSec;
    if (m.backend !== session.backend.name) log(`note: checkpoint written on backend ${m.backend}, resuming on ${session.backend.name}; results may differ in the last bits`);
    record = { ...(readRunRecord(runDir) ?? baseRecord(session, path.basename(runDir), options)), status: 'running', ...runOwner() };
    delete record.error;
    delete record.endedAt;
  } else {
    const runId = options.runId ?? newRunId();
    runDir = path.join(options.runsDir, safeName(config.name ?? 'experiment'), runId);
    mkdirSync(runDir, { recursive: true });
    writeFileSync(path.join(runDir, 'config.rpg.json'), JSON.stringify(config, null, 2) + '\n');
    record = baseRecord(session, runId, options);
  }
  writeRunRecord(runDir, record);
  try {
    const metricsFile = path.join(runDir, METRICS_FILE);
    if (resumeCkpt) truncateMetricsAfter(metricsFile, step);

    events.onStart?.({ runDir, runId: record.runId, backend: session.backend.name, summary: resolved.summary, totalSteps, stepsPerEpoch, startStep: step, resumed: !!resumeCkpt });
    log(`run ${record.runId}: ${resolved.spec.arch} on ${dataset.name}, ${resolved.summary.dof.toLocaleString('en-US')} DoF, backend ${session.backend.name}, ${totalSteps} steps`);

    const t0 = Date.now();
    const elapsed = () => elapsedBefore + (Date.now() - t0) / 1000;
    const saveCheckpoint = (epoch: number, batchInEpoch: number) => {
      const meta: CheckpointMeta = {
        formatVersion: 1, step, epoch, batchInEpoch, seed: config.seed, planHash: resolved.plan?.hash ?? null, planContentHash: materialized?.contentHash ?? null,
        ringSize: resolved.plan?.ringSize ?? 0, backend: session.backend.name, optimizerStep: optimizer.step, bestAcc, lastAcc, elapsedSec: elapsed(), config, savedAt: new Date().toISOString(),
      };
      const tensors = snapshotTensors(new Map([...net.state(), ...optimizer.state()]));
      const written = writeCheckpoint(runDir, meta, tensors);
      record.step = step;
      record.epoch = epoch;
      record.durationSec = elapsed();
      if (bestAcc > 0) record.bestAcc = bestAcc;
      writeRunRecord(runDir, record);
      events.onCheckpoint?.({ path: written.path, step, epoch, bytes: written.bytes });
    };
    const runEval = (epoch: number) => {
      const r = evaluate(net, dataset, 'test');
      lastAcc = r.acc;
      bestAcc = Math.max(bestAcc, r.acc);
      const row: EvalRow = { type: 'eval', step, epoch, loss: r.loss, acc: r.acc, time: elapsed() };
      appendFileSync(metricsFile, JSON.stringify(row) + '\n');
      events.onEval?.(row);
    };

    let windowStart = Date.now();
    let windowSamples = 0;
    let samplesPerSec = 0;
    let stopped = false;
    const [h, w, c] = [dataset.height, dataset.width, dataset.channels];
    while (step < totalSteps && !stopped) {
      const epoch = Math.floor(step / stepsPerEpoch);
      const startBatch = step % stepsPerEpoch;
      let batchIndex = startBatch;
      for (const b of batches('train', dataset, tc.batchSize, { seed: config.seed, epoch, shuffle: true, augment, startBatch, reuseBuffers: true })) {
        const lr = learningRate(tc, step, totalSteps);
        const x = tf.tensor4d(b.x, [b.size, h, w, c]);
        const y = tf.tensor1d(b.y, 'int32');
        const { loss, hits } = trainStep(net, optimizer, x, y, lr);
        tf.dispose([x, y]);
        step++;
        batchIndex++;
        if (!Number.isFinite(loss)) {
          // The catch below records the failure; this error is the one the record keeps.
          record.error = { code: 'nan', message: `loss became ${loss} at step ${step}`, field: 'train.lr' };
          throw new TrainError('nan', `training diverged: the loss became ${loss} at step ${step} (epoch ${epoch + 1}); lower train.lr (now ${tc.lr}) or use rpg.lrNormalization "projected"`, 'train.lr');
        }
        windowSamples += b.size;
        const now = Date.now();
        if (now - windowStart >= 1000 || samplesPerSec === 0) {
          samplesPerSec = (windowSamples * 1000) / Math.max(1, now - windowStart);
          windowStart = now;
          windowSamples = 0;
        }
        const time = elapsed();
        const done = step / totalSteps;
        const row: TrainRow = {
          type: 'train', step, epoch: epoch + batchIndex / stepsPerEpoch, progress: done, loss, acc: hits / b.size, lr, samplesPerSec, time,
          etaSeconds: ((totalSteps - step) * tc.batchSize) / Math.max(1e-9, samplesPerSec),
        };
        appendFileSync(metricsFile, JSON.stringify(row) + '\n');
        events.onTrainRow?.(row);

        const epochDone = batchIndex === stepsPerEpoch;
        if (step % evalEvery === 0 || epochDone || step === totalSteps) runEval(epoch + batchIndex / stepsPerEpoch);
        // Let the event loop breathe: stop requests and RPC messages arrive between steps.
        await new Promise((resolve) => setImmediate(resolve));
        stopped = options.signal?.aborted ?? false;
        if (step % checkpointEvery === 0 || epochDone || step === totalSteps || stopped) saveCheckpoint(epochDone ? epoch + 1 : epoch, epochDone ? 0 : batchIndex);
        if (stopped || step >= totalSteps) break;
      }
    }
    const status = stopped && step < totalSteps ? 'stopped' : 'finished';
    endRecord(record, status);
    record.durationSec = elapsed();
    record.step = step;
    record.epoch = step / stepsPerEpoch;
    record.bestAcc = bestAcc;
    record.finalAcc = lastAcc;
    writeRunRecord(runDir, record);
    log(`run ${record.runId} ${record.status} after ${step} steps: test accuracy ${(lastAcc * 100).toFixed(2)}% (best ${(bestAcc * 100).toFixed(2)}%)`);
    return { runDir, status, steps: step, epochs: step / stepsPerEpoch, bestAcc, finalAcc: lastAcc, durationSec: elapsed(), checkpoint: path.join(runDir, CHECKPOINT_FILE) };
  } catch (err) {
    // Whatever ends the run early (a bad batch, a failed checkpoint write) must not leave a
    // record that says "running" behind a process that lives on (the trainer).
    if (record.status === 'running') {
      endRecord(record, 'failed');
      record.error ??= { code: err instanceof TrainError ? err.code : 'internal', message: (err as Error)?.message ?? String(err) };
      try {
        writeRunRecord(runDir, record);
      } catch {
        // The original error says more than this one.
      }
    }
    throw err;
  }
}

/** The run is over: it has no process any more, and an end time. */
function endRecord(record: RunRecord, status: RunRecord['status']): void {
  record.status = status;
  delete record.pid;
  delete record.hostname;
  record.endedAt = new Date().toISOString();
}

function baseRecord(session: Session, runId: string, options: TrainOptions): RunRecord {
  const { config, resolved } = session;
  return {
    runId, name: config.name ?? 'experiment', ...(options.configPath ? { configPath: path.resolve(options.configPath) } : {}), config, status: 'running', backend: session.backend.name,
    arch: resolved.spec.arch, dataset: session.dataset.name, dof: resolved.summary.dof, ringSize: resolved.summary.ringSize, totalParams: resolved.summary.totalParams,
    startedAt: new Date().toISOString(), durationSec: 0, step: 0, epoch: 0, ...runOwner(),
  };
}

/** On resume, rows written after the checkpoint (by a run that then crashed) are dropped. */
function truncateMetricsAfter(file: string, step: number): void {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        return (JSON.parse(line) as { step: number }).step <= step;
      } catch {
        return false;
      }
    });
  writeFileAtomic(file, kept.length ? kept.join('\n') + '\n' : '');
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'experiment';
}
