// What the trainer answers: one handler per request of src/protocol, each turning a thrown
// error into a structured REQUEST_FAILED response. This file is the protocol's behaviour;
// main.ts is the process's plumbing (stdio, signals, exit).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { ResponseError, type MessageConnection } from 'vscode-jsonrpc';
import { BACKENDS, BackendName } from '../core/config/schema';
import type { EngineDescription } from '../core/engine';
import { describeDataset } from '../core/data/index';
import { resolveForData } from '../core/experiment/resolve';
import { loadConfigRef } from '../core/experiment/planning';
import { checkRunsFolder } from '../core/runs/check-folder';
import { newRunId, runFiles } from '../core/runs/layout';
import { engineFor } from '../engines';
import { jobCancelRequest, jobStartRequest, initializeRequest, InitializeParams, InitializeResult, PROTOCOL_VERSION, REQUEST_FAILED, TrainerErrorData, trainStartRequest, TrainStartParams, TrainStartResult, trainStopRequest } from '../protocol';
import { invalidParams, toResponseError } from '../protocol/errors';
import type { JobRunner } from './jobs';
import * as log from './log';
import type { RunQueue } from './runs';

/** Shared with main.ts: once the process is shutting down, no run may start. */
export interface TrainerLifecycle {
  exiting: boolean;
}

/** The most runs one trainer trains at once (the rpg.trainer.maxConcurrentRuns setting's maximum). */
const MAX_CONCURRENT_RUNS = 16;

export function registerHandlers(connection: MessageConnection, queue: RunQueue, trainerVersion: string, lifecycle: TrainerLifecycle = { exiting: false }, jobs?: JobRunner): void {
  /** The client's backend preference, used for runs whose config says "auto". */
  let defaultBackend: BackendName | undefined;

  connection.onRequest(initializeRequest, (params) =>
    answer(async (): Promise<InitializeResult> => {
      const settings = checkInitialize(params);
      if (settings.maxConcurrentRuns !== undefined) queue.setMaxConcurrent(settings.maxConcurrentRuns);
      defaultBackend = settings.backend;
      // The torch engine's interpreter (src/engines/torch/python.ts reads it at each run).
      if (settings.python !== undefined) process.env.RPG_PYTHON = settings.python;
      // Native TensorFlow reads its thread pools' sizes from the environment when it loads,
      // which the engine's describe() does next; so does the wasm backend's oneDNN addon
      // (RPG_THREADS: its kernels' threads). tfjs-wasm's own kernels run on one thread; cpu is plain JS.
      if (settings.threads !== undefined && settings.threads > 0) {
        process.env.TF_NUM_INTRAOP_THREADS = String(settings.threads);
        process.env.RPG_THREADS = String(settings.threads);
        process.env.TF_NUM_INTEROP_THREADS = String(Math.min(settings.threads, 2));
      }
      let description: EngineDescription;
      try {
        description = await engineFor('tfjs').describe(settings.backend ?? 'auto');
      } catch (err) {
        throw new ResponseError<TrainerErrorData>(REQUEST_FAILED, (err as Error).message, { code: 'backend', field: 'train.backend' });
      }
      // The log says every WebGPU adapter found, then which backend and device train and why.
      for (const line of description.deviceDetails ?? []) log.info(line);
      if (description.warning) log.warn(description.warning);
      log.info(`backend ${description.backend} (${description.reason}); devices ${description.devices.join(', ')}`);
      return {
        protocolVersion: PROTOCOL_VERSION,
        backend: description.backend,
        reason: description.reason,
        backends: description.backends,
        versions: { node: process.version, tfjs: description.versions['tfjs'] ?? '?', trainer: trainerVersion },
        threads: description.threads,
        devices: description.devices,
        pid: process.pid,
      };
    }),
  );

  connection.onRequest(trainStartRequest, (params) =>
    answer(async (): Promise<TrainStartResult> => {
      if (lifecycle.exiting) {
        throw new ResponseError<TrainerErrorData>(REQUEST_FAILED, 'the trainer is shutting down and accepts no new runs; start the run again (a fresh trainer starts)', { code: 'internal' });
      }
      const request = checkTrainStart(params);
      const backend = request.backend;
      if (request.resumeFrom !== undefined) {
        // A resumed run trains the config its run.json holds (read once, by resumeRun): here
        // only what makes the request impossible is checked, so it fails as a request.
        const runDir = path.resolve(request.resumeFrom);
        const files = runFiles(runDir);
        if (!existsSync(files.record)) throw new ResponseError<TrainerErrorData>(REQUEST_FAILED, `cannot resume: ${runDir} is not a run folder (it has no run.json)`, { code: 'checkpoint', field: 'resumeFrom', file: files.record });
        if (!existsSync(files.checkpoint)) throw new ResponseError<TrainerErrorData>(REQUEST_FAILED, `cannot resume: ${runDir} has no checkpoint.bin (it stopped before its first checkpoint)`, { code: 'checkpoint', field: 'resumeFrom', file: files.checkpoint });
        const runId = path.basename(runDir);
        if (queue.isBusy(runId, runDir)) throw invalidParams(`run ${runId} is already queued or training`, 'resumeFrom');
        const queuePosition = queue.submit({ runId, job: { kind: 'resume', options: { runDir, ...(backend ? { backend } : {}) } } });
        return { runId, queuePosition };
      }
      // Everything that can be checked before the engine runs is checked here, so a bad
      // config is a request error naming its field and nothing is created on disk.
      const runsDir = checkRunsFolder(request.runsDir!);
      const loaded = loadConfigRef(request);
      const { config } = loaded;
      // The engine's own checks (numClasses against the data, plan, shapes), without decoding data.
      resolveForData(config, { ...describeDataset(config.data, loaded.baseDir), name: config.data.dataset }, loaded.configPath);
      engineFor(config.train.engine);
      const runId = uniqueRunId(queue.runIds);
      const effectiveBackend = backend ?? (config.train.backend === 'auto' ? defaultBackend : undefined);
      const queuePosition = queue.submit({
        runId,
        job: { kind: 'train', options: { config, ...(loaded.configPath ? { configPath: loaded.configPath } : {}), runsDir, ...(effectiveBackend ? { backend: effectiveBackend } : {}) } },
      });
      return { runId, queuePosition };
    }),
  );

  connection.onRequest(trainStopRequest, (params) =>
    answer(async () => {
      if (params !== undefined && params !== null && (typeof params !== 'object' || (params.runId !== undefined && typeof params.runId !== 'string'))) throw invalidParams('train/stop takes { runId?: string }', 'runId');
      return { stopped: queue.stop(params?.runId) };
    }),
  );

  // Sweep, compress, export and eval: the CLI's jobs, for the editor's palette commands.
  if (jobs) {
    connection.onRequest(jobStartRequest, (params) =>
      answer(async () => {
        if (lifecycle.exiting) throw new ResponseError<TrainerErrorData>(REQUEST_FAILED, 'the trainer is shutting down and accepts no new jobs; run it again (a fresh trainer starts)', { code: 'internal' });
        const backend = params?.backend !== undefined ? checkBackend(params.backend, 'backend') : defaultBackend;
        return { jobId: jobs.start({ ...params, ...(backend ? { backend } : {}) }) };
      }),
    );
    connection.onRequest(jobCancelRequest, (params) =>
      answer(async () => {
        if (!params || typeof params.jobId !== 'string') throw invalidParams('job/cancel takes { jobId: string }', 'jobId');
        return { cancelled: jobs.cancel(params.jobId) };
      }),
    );
  }
}

/** Runs a handler and turns whatever it throws into a structured JSON-RPC error. */
async function answer<R>(handler: () => Promise<R>): Promise<R | ResponseError<TrainerErrorData>> {
  try {
    return await handler();
  } catch (err) {
    return toResponseError(err);
  }
}

/** initialize's parameters, each checked: a wrong type is an error naming it, never a queue that silently never starts. */
function checkInitialize(params: InitializeParams | undefined): { backend?: BackendName; threads?: number; maxConcurrentRuns?: number; python?: string } {
  if (!params || typeof params !== 'object') throw invalidParams('initialize needs { clientName, protocolVersion }', 'protocolVersion');
  if (params.protocolVersion !== PROTOCOL_VERSION) {
    throw invalidParams(`this trainer speaks protocol version ${PROTOCOL_VERSION}, the client asked for ${JSON.stringify(params.protocolVersion ?? null)}: update the extension and the trainer together`, 'protocolVersion');
  }
  const out: { backend?: BackendName; threads?: number; maxConcurrentRuns?: number; python?: string } = {};
  if (params.python !== undefined) {
    if (typeof params.python !== 'string' || !params.python.trim()) throw invalidParams(`python must be the path of a Python interpreter, got ${JSON.stringify(params.python)}`, 'python');
    out.python = params.python.trim();
  }
  if (params.backend !== undefined) out.backend = checkBackend(params.backend, 'backend');
  if (params.threads !== undefined) {
    if (!Number.isInteger(params.threads) || params.threads < 0 || params.threads > 1024) throw invalidParams(`threads must be an integer from 0 to 1024, got ${JSON.stringify(params.threads)}`, 'threads');
    out.threads = params.threads;
  }
  if (params.maxConcurrentRuns !== undefined) {
    if (!Number.isInteger(params.maxConcurrentRuns) || params.maxConcurrentRuns < 1 || params.maxConcurrentRuns > MAX_CONCURRENT_RUNS) {
      throw invalidParams(`maxConcurrentRuns must be an integer from 1 to ${MAX_CONCURRENT_RUNS}, got ${JSON.stringify(params.maxConcurrentRuns)}`, 'maxConcurrentRuns');
    }
    out.maxConcurrentRuns = params.maxConcurrentRuns;
  }
  return out;
}

function checkTrainStart(params: TrainStartParams | undefined): TrainStartParams {
  if (!params || typeof params !== 'object') throw invalidParams('train/start needs { runsDir, configPath or text } or { runsDir, resumeFrom }', 'runsDir');
  if (params.resumeFrom === undefined && (typeof params.runsDir !== 'string' || !params.runsDir)) throw invalidParams('give runsDir: the folder that holds runs', 'runsDir');
  for (const key of ['runsDir', 'configPath', 'text', 'resumeFrom'] as const) {
    if (params[key] !== undefined && typeof params[key] !== 'string') throw invalidParams(`${key} must be a string, got ${typeof params[key]}`, key);
  }
  if (params.backend !== undefined) checkBackend(params.backend, 'backend');
  return params;
}

function checkBackend(value: unknown, field: string): BackendName {
  if (typeof value !== 'string' || !(BACKENDS as readonly string[]).includes(value)) throw invalidParams(`unknown backend ${JSON.stringify(value)} (one of ${BACKENDS.join(', ')})`, field);
  return value as BackendName;
}

/** A timestamp id, made unique among the runs this trainer holds. */
function uniqueRunId(active: readonly string[]): string {
  const base = newRunId();
  let id = base;
  for (let i = 2; active.includes(id); i++) id = `${base}-${i}`;
  return id;
}
