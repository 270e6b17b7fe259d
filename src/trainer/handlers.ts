// What the trainer answers: one handler per request of src/protocol, each turning a thrown
// error into a structured REQUEST_FAILED response. This file is the protocol's behaviour;
// main.ts is the process's plumbing (stdio, signals, exit).
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ResponseError, type MessageConnection } from 'vscode-jsonrpc';
import { validateConfig } from '../core/config/load';
import { BACKENDS, BackendName } from '../core/config/schema';
import {
  initializeRequest,
  InitializeResult,
  layerWeightsRequest,
  planRequest,
  PROTOCOL_VERSION,
  REQUEST_FAILED,
  TrainerErrorData,
  trainStartRequest,
  TrainStartParams,
  TrainStartResult,
  trainStopRequest,
} from '../protocol';
import { describeDataset } from '../core/data/index';
import { BackendChoice, selectBackend, tfjsVersion } from '../engines/tfjs/backend';
import { describeAdapter } from '../engines/tfjs/webgpu-adapter';
import * as log from './log';
import { CHECKPOINT_FILE } from '../core/checkpoint/file';
import { newRunId, readRunRecord, RUN_FILE } from '../engines/tfjs/run';
import { resolveForData } from '../engines/tfjs/session';
import { invalidParams, toResponseError } from '../protocol/errors';
import { layerWeightsFor, LoadedConfig, loadConfigRef, planFor } from '../core/experiment/planning';
import type { RunQueue } from './runs';

/** Shared with main.ts: once the process is shutting down, no run may start. */
export interface TrainerLifecycle {
  exiting: boolean;
}

export function registerHandlers(connection: MessageConnection, queue: RunQueue, trainerVersion: string, lifecycle: TrainerLifecycle = { exiting: false }): void {
  /** The client's backend preference, used for runs whose config says "auto". */
  let defaultBackend: BackendName | undefined;

  connection.onRequest(initializeRequest, (params) =>
    answer(async (): Promise<InitializeResult> => {
      if (params?.protocolVersion !== PROTOCOL_VERSION) {
        throw invalidParams(`protocol version ${String(params?.protocolVersion)} is not supported: this trainer speaks version ${PROTOCOL_VERSION}`, 'protocolVersion');
      }
      if (params.maxConcurrentRuns !== undefined) queue.setMaxConcurrent(params.maxConcurrentRuns);
      defaultBackend = params.backend;
      // Native TensorFlow reads its thread pools' sizes from the environment when it loads,
      // which selectBackend does next. wasm runs single-threaded under Node; cpu is plain JS.
      if (params.threads !== undefined && Number.isInteger(params.threads) && params.threads > 0) {
        process.env.TF_NUM_INTRAOP_THREADS = String(params.threads);
        process.env.TF_NUM_INTEROP_THREADS = String(Math.min(params.threads, 2));
      }
      let choice: BackendChoice;
      try {
        choice = await selectBackend(params.backend ?? 'auto');
      } catch (err) {
        throw new ResponseError<TrainerErrorData>(REQUEST_FAILED, (err as Error).message, { code: 'backend', field: 'train.backend' });
      }
      logBackendChoice(choice);
      return {
        protocolVersion: PROTOCOL_VERSION,
        backend: choice.name,
        reason: choice.reason,
        backends: choice.backends,
        versions: { node: process.version, tfjs: tfjsVersion(), trainer: trainerVersion },
        threads: choice.threads,
        devices: choice.devices,
        pid: process.pid,
      };
    }),
  );

  connection.onRequest(planRequest, (params) => answer(async () => planFor(params ?? {})));

  connection.onRequest(layerWeightsRequest, (params) => answer(async () => layerWeightsFor(params ?? { layer: '' })));

  connection.onRequest(trainStartRequest, (params) =>
    answer(async (): Promise<TrainStartResult> => {
      if (lifecycle.exiting) {
        throw new ResponseError<TrainerErrorData>(REQUEST_FAILED, 'the trainer is shutting down and accepts no new runs; start the run again (a fresh trainer starts)', { code: 'internal' });
      }
      // Everything that can be checked before the engine runs is checked here, so a bad
      // config is a request error naming its field and nothing is created on disk.
      if (!params || typeof params.runsDir !== 'string' || !params.runsDir) throw invalidParams('give runsDir: the folder that holds runs', 'runsDir');
      const runsDir = path.resolve(params.runsDir);
      if (existsSync(runsDir) && !statSync(runsDir).isDirectory()) throw invalidParams(`runsDir ${runsDir} is a file, not a folder`, 'runsDir');
      if (params.backend !== undefined && !(BACKENDS as readonly string[]).includes(params.backend)) {
        throw invalidParams(`unknown backend "${String(params.backend)}" (one of ${BACKENDS.join(', ')})`, 'backend');
      }
      const resumeFrom = params.resumeFrom ? path.resolve(params.resumeFrom) : undefined;
      const loaded = resumeFrom ? configOfResume(params, resumeFrom) : loadConfigRef(params);
      const { config } = loaded;
      // The engine's own checks (numClasses against the data, plan, shapes), without decoding data.
      resolveForData(config, { ...describeDataset(config.data, loaded.baseDir), name: config.data.dataset });
      const runId = resumeFrom ? path.basename(resumeFrom) : uniqueRunId(queue.runIds);
      if (queue.isBusy(runId, resumeFrom)) throw invalidParams(`run ${runId} is already queued or training`, 'resumeFrom');
      const backend = params.backend ?? (config.train.backend === 'auto' ? defaultBackend : undefined);
      const queuePosition = queue.submit({
        runId,
        options: { config, configPath: loaded.configPath, runsDir, resumeFrom, backend },
      });
      return { runId, queuePosition };
    }),
  );

  connection.onRequest(trainStopRequest, (params) => answer(async () => ({ stopped: queue.stop(params?.runId) })));
}

/** The trainer log says which backend and device train, why, and every WebGPU adapter found. */
function logBackendChoice(choice: BackendChoice): void {
  log.info(`backend ${choice.name} (${choice.reason}); devices ${choice.devices.join(', ')}`);
  for (const a of choice.adapters) log.info(`WebGPU adapter: ${describeAdapter(a)}`);
  if (choice.warning) log.warn(choice.warning);
}

/** Runs a handler and turns whatever it throws into a structured JSON-RPC error. */
async function answer<R>(handler: () => Promise<R>): Promise<R | ResponseError<TrainerErrorData>> {
  try {
    return await handler();
  } catch (err) {
    return toResponseError(err);
  }
}

/**
 * The config a resumed run is checked with: the request's, else the one in its run.json.
 * (The engine then trains the config stored in the checkpoint.)
 */
function configOfResume(params: TrainStartParams, runDir: string): LoadedConfig {
  const checkpointFile = path.join(runDir, CHECKPOINT_FILE);
  if (!existsSync(checkpointFile)) {
    throw new ResponseError<TrainerErrorData>(REQUEST_FAILED, `cannot resume: ${runDir} has no ${CHECKPOINT_FILE} (not a run folder, or stopped before its first checkpoint)`, { code: 'checkpoint', field: 'resumeFrom', file: checkpointFile });
  }
  if (params.configPath || typeof params.text === 'string') return loadConfigRef(params);
  const record = readRunRecord(runDir);
  if (!record) {
    const recordPath = path.join(runDir, RUN_FILE);
    throw new ResponseError<TrainerErrorData>(REQUEST_FAILED, `cannot resume: ${recordPath} is missing or unreadable`, { code: 'checkpoint', field: 'resumeFrom', file: recordPath });
  }
  const configPath = record.configPath ? path.resolve(record.configPath) : undefined;
  return { config: validateConfig(record.config, configPath), configPath, baseDir: configPath ? path.dirname(configPath) : runDir };
}

/** The engine's timestamp id, made unique among the runs this trainer holds. */
function uniqueRunId(active: readonly string[]): string {
  const base = newRunId();
  let id = base;
  for (let i = 2; active.includes(id); i++) id = `${base}-${i}`;
  return id;
}
