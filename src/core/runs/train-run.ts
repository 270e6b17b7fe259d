// A run from start to end, whatever the engine: the one place that connects an engine's
// training to a run folder. New runs get a folder once the engine is ready (nothing on disk
// for a run that cannot start); resumed runs are locked first (one writer per run), read once
// and train the config their run.json holds. Whatever ends a run early leaves a record that
// says how and how far, and the last checkpoint intact.
import { validateConfig } from '../config/load';
import { readCheckpoint, writeCheckpoint } from '../checkpoint/file';
import type { CheckpointInfo, Engine, EngineRunInfo, ResumeOptions, RunResult, RunSink, TrainEvents, TrainOptions } from '../engine';
import { describeFailure, InvalidInputError, TrainError } from '../errors';
import type { EvalRow, TrainRow } from '../train/rows';
import { RunFolder, RunProgress } from './folder';
import { newRunId, runDirFor, runFiles } from './layout';

/** Picks the engine a config names (src/engines/index.ts), so this module never imports one. */
export type EngineFor = (name: string) => Engine;

/** Trains a new run of `options.config`. */
export async function trainRun(engineFor: EngineFor, options: TrainOptions, events: TrainEvents = {}): Promise<RunResult> {
  const { config, configPath, runsDir } = options;
  const runId = options.runId ?? newRunId();
  let folder: RunFolder | undefined;
  return drive(engineFor(config.train.engine), events, () => folder, {
    job: { config, runDir: runDirFor(runsDir, config.name, runId), ...(configPath ? { configPath } : {}), ...(options.backend ? { backend: options.backend } : {}), ...(options.signal ? { signal: options.signal } : {}) },
    open: (info) => (folder = RunFolder.create(runsDir, config, configPath, info, runId)),
  });
}

/** Continues a stopped, failed or interrupted run from its checkpoint. */
export async function resumeRun(engineFor: EngineFor, options: ResumeOptions, events: TrainEvents = {}): Promise<RunResult> {
  const folder = RunFolder.open(options.runDir);
  try {
    if (folder.tookOverFrom) events.onLog?.(`note: took over the lock of process ${folder.tookOverFrom.pid} (${folder.tookOverFrom.hostname}), which is gone`);
    const record = folder.current;
    if (record.status === 'finished') throw new InvalidInputError(`run ${folder.dir} finished at step ${record.step}: there is nothing to resume`, 'resumeFrom');
    const configPath = record.configPath;
    let config;
    try {
      config = validateConfig(record.config, configPath);
    } catch (err) {
      throw new TrainError('checkpoint', `${runFiles(folder.dir).record}: its config is not valid any more (${(err as Error).message})`, undefined, runFiles(folder.dir).record);
    }
    const checkpoint = readCheckpoint(folder.dir);
    const file = runFiles(folder.dir).checkpoint;
    return await drive(engineFor(config.train.engine), events, () => folder, {
      job: { config, runDir: folder.dir, ...(configPath ? { configPath } : {}), ...(options.backend ? { backend: options.backend } : {}), ...(options.signal ? { signal: options.signal } : {}), resume: { checkpoint, file } },
      open: (info) => {
        folder.resume(info);
        return folder;
      },
    });
  } catch (err) {
    // Refused before training began (a finished run, a bad checkpoint, another plan): the record
    // stays as it was; a run that had started again was recorded by drive() itself.
    folder.release();
    throw err;
  }
}

interface Drive {
  readonly job: Parameters<Engine['train']>[0];
  /** The run folder, ready to be written: created (new run) or reopened (resume). */
  open(info: EngineRunInfo): RunFolder;
}

async function drive(engine: Engine, events: TrainEvents, currentFolder: () => RunFolder | undefined, d: Drive): Promise<RunResult> {
  let progress: RunProgress | undefined;
  let stepsPerEpoch = 1;
  let lastCheckpoint: string | undefined;
  let bestAcc = 0;
  let finalAcc: number | undefined;
  const recordCheckpoint = (info: CheckpointInfo, durationSec: number) => {
    lastCheckpoint = info.path;
    currentFolder()!.checkpointed({ step: info.step, epoch: info.step / stepsPerEpoch, durationSec, bestAcc });
    events.onCheckpoint?.(info);
  };
  const sink: RunSink = {
    started(info) {
      const folder = d.open(info);
      stepsPerEpoch = Math.max(1, info.stepsPerEpoch);
      // A resumed run's best accuracy so far counts: the record keeps the best over the whole run.
      bestAcc = folder.current.bestAcc ?? 0;
      progress = { step: info.startStep, epoch: info.startStep / Math.max(1, info.stepsPerEpoch), durationSec: folder.current.durationSec };
      events.onStart?.({
        runDir: folder.dir,
        runId: folder.runId,
        ...(folder.current.configPath ? { configPath: folder.current.configPath } : {}),
        engine: info.engine,
        backend: info.backend,
        ...(info.device ? { device: info.device } : {}),
        summary: info.summary,
        totalSteps: info.totalSteps,
        stepsPerEpoch: info.stepsPerEpoch,
        startStep: info.startStep,
        resumed: !folder.created,
      });
      return { runDir: folder.dir };
    },
    row(row: TrainRow) {
      currentFolder()!.appendRow(row);
      progress = { ...progress!, step: row.step, epoch: row.epoch, durationSec: row.time };
      events.onTrainRow?.(row);
    },
    evaluated(row: EvalRow) {
      currentFolder()!.appendRow(row);
      bestAcc = Math.max(bestAcc, row.acc);
      finalAcc = row.acc;
      events.onEval?.(row);
    },
    saveCheckpoint(meta, tensors) {
      const written = writeCheckpoint(currentFolder()!.dir, meta, tensors);
      const info: CheckpointInfo = { path: written.path, step: meta.step, epoch: meta.epoch, bytes: written.bytes };
      recordCheckpoint(info, meta.elapsedSec);
      return info;
    },
    checkpointWritten(info) {
      // The engine's own writer: the time is the one of the last row, the step the checkpoint's.
      recordCheckpoint(info, progress?.durationSec ?? 0);
    },
    log: (message) => events.onLog?.(message),
  };
  try {
    const outcome = await engine.train(d.job, sink);
    const folder = currentFolder()!;
    folder.end(outcome.status, { step: outcome.steps, epoch: outcome.epochs, durationSec: outcome.durationSec, bestAcc: outcome.bestAcc, finalAcc: outcome.finalAcc });
    events.onLog?.(`run ${folder.runId} ${outcome.status} after ${outcome.steps} steps: test accuracy ${(outcome.finalAcc * 100).toFixed(2)}% (best ${(outcome.bestAcc * 100).toFixed(2)}%)`);
    return { ...outcome, runDir: folder.dir, checkpoint: lastCheckpoint ?? runFiles(folder.dir).checkpoint };
  } catch (err) {
    const folder = currentFolder();
    if (folder && folder.status === 'running') folder.fail(describeFailure(err), progress && { ...progress, ...(bestAcc > 0 ? { bestAcc } : {}), ...(finalAcc !== undefined ? { finalAcc } : {}) });
    throw err;
  }
}
