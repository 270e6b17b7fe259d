// The one file of truth for extension ⇄ trainer messages (JSON-RPC 2.0 over the trainer's
// stdio). Both sides import these typed messages; a method name appears nowhere else.
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { BackendName } from '../core/config/schema';
import type { BackendAvailability } from '../core/engine';
import type { ConfigRef } from '../core/experiment/types';

export type { BackendAvailability } from '../core/engine';
import type { CheckpointInfo, RunResult, RunStart } from '../core/engine';
import type { EvalRow, TrainRow } from '../core/train/rows';
import type { TrainErrorCode } from '../core/errors';

export const PROTOCOL_VERSION = 1;

// ── request errors ──────────────────────────────────────────────────────────────────────────
/** JSON-RPC error code of a request that failed for a reason in `data` (LSP's RequestFailed). */
export const REQUEST_FAILED = -32803;

/** `data` of a REQUEST_FAILED error: what kind of failure, and the field or file at fault. */
export interface TrainerErrorData {
  readonly code: TrainErrorCode | 'protocol';
  /** The config field at fault, as a dotted path ("train.lr"). */
  readonly field?: string;
  /** The file at fault (config or dataset file). */
  readonly file?: string;
}

// ── initialize ──────────────────────────────────────────────────────────────────────────────
export interface InitializeParams {
  readonly clientName: string;
  readonly protocolVersion: number;
  /** 'auto' (default) picks the fastest available backend. */
  readonly backend?: BackendName;
  readonly threads?: number;
  /** Runs queued at once that may train concurrently (default 1). */
  readonly maxConcurrentRuns?: number;
  /** The Python interpreter of the torch engine (default: python3). */
  readonly python?: string;
}

export interface InitializeResult {
  readonly protocolVersion: number;
  readonly backend: string;
  /** Why this backend was chosen. */
  readonly reason: string;
  readonly backends: readonly BackendAvailability[];
  readonly versions: { readonly node: string; readonly tfjs: string; readonly trainer: string };
  readonly threads: number;
  readonly devices: readonly string[];
  readonly pid: number;
}
export const initializeRequest = new RequestType<InitializeParams, InitializeResult, TrainerErrorData>('initialize');

// ── training ────────────────────────────────────────────────────────────────────────────────
export interface TrainStartParams extends ConfigRef {
  /** Continue this run folder from its last checkpoint. */
  readonly resumeFrom?: string;
  /** Folder that holds runs (the client resolves rpg.runsFolder); needed for a new run, not for a resume. */
  readonly runsDir?: string;
  readonly backend?: BackendName;
}

export interface TrainStartResult {
  readonly runId: string;
  /** Queued behind this many runs (0 = started). */
  readonly queuePosition: number;
}
export const trainStartRequest = new RequestType<TrainStartParams, TrainStartResult, TrainerErrorData>('train/start');

export interface TrainStopParams {
  /** Omit to stop every run, queued or training. */
  readonly runId?: string;
}
export const trainStopRequest = new RequestType<TrainStopParams, { readonly stopped: readonly string[] }, TrainerErrorData>('train/stop');

export interface RunRef {
  readonly runId: string;
}

export const trainStartedNotification = new NotificationType<RunRef & RunStart & { readonly configPath?: string }>('train/started');
/** Throttled to ≤ 10 per second per run (the newest row wins; a run's last row is always sent); every row is also in the run's metrics.jsonl. */
export const trainProgressNotification = new NotificationType<RunRef & TrainRow & { readonly totalSteps: number; readonly totalEpochs: number }>('train/progress');
export const trainEvaluatedNotification = new NotificationType<RunRef & EvalRow>('train/evaluated');
export const trainCheckpointNotification = new NotificationType<RunRef & CheckpointInfo>('train/checkpoint');
export const trainFinishedNotification = new NotificationType<RunRef & RunResult>('train/finished');

export interface TrainFailure {
  readonly runId: string;
  readonly code: TrainErrorCode | 'protocol';
  readonly message: string;
  /** The config field at fault, as a dotted path ("train.lr"). */
  readonly field?: string;
  /** The file at fault (config or dataset file). */
  readonly file?: string;
  readonly runDir?: string;
}
export const trainFailedNotification = new NotificationType<TrainFailure>('train/failed');

/** A queued run was stopped before it started: nothing was written for it. */
export const trainCancelledNotification = new NotificationType<RunRef>('train/cancelled');

// Trainer log lines go to stderr only (timestamped "<ISO> [level] message"); there is no log
// notification: the client reads stderr, which also carries what tfjs prints.

export const shutdownRequest = new RequestType<void, void, void>('shutdown');

// ── jobs: the CLI's other commands (sweep, compress, export, eval), run by the trainer ──────
/** What `rpg sweep`, `rpg compress`, `rpg export` and `rpg eval` do, as one request each. */
export type JobSpec =
  | ({ readonly kind: 'sweep'; readonly runsDir: string; readonly dofs: readonly number[]; readonly repeats?: number; readonly baselines?: boolean } & ConfigRef)
  | { readonly kind: 'compress'; readonly runDir: string; readonly prune: number; readonly bits: number; readonly finetune?: number; readonly out?: string }
  | { readonly kind: 'export'; readonly source: string; readonly format: 'tfjs'; readonly out?: string }
  | { readonly kind: 'eval'; readonly target: string };

export type JobStartParams = JobSpec & { readonly backend?: BackendName };
export interface JobStartResult {
  readonly jobId: string;
}
export const jobStartRequest = new RequestType<JobStartParams, JobStartResult, TrainerErrorData>('job/start');
/** Stops a job: a sweep after its current step (its finished points stay), fine-tuning likewise; nothing half-written is kept. */
export const jobCancelRequest = new RequestType<{ readonly jobId: string }, { readonly cancelled: boolean }, TrainerErrorData>('job/cancel');

export interface JobProgress {
  readonly jobId: string;
  readonly message: string;
  /** 0..1 when known. */
  readonly fraction?: number;
  /** A run the job started (a sweep point): the views list it. */
  readonly runDir?: string;
}
export const jobProgressNotification = new NotificationType<JobProgress>('job/progress');

/** What a finished job produced, by kind. */
export type JobResult =
  | { readonly kind: 'sweep'; readonly dir: string; readonly file: string; readonly points: number; readonly fit: { readonly a: number; readonly b: number; readonly r2: number } | null; readonly predictedDof: number | null; readonly target: number | null; readonly status: 'finished' | 'stopped' }
  | { readonly kind: 'compress'; readonly file: string; readonly bytes: number; readonly plainBytes: number; readonly before: number; readonly after: number; readonly kept: number; readonly ringSize: number; readonly bits: number }
  | { readonly kind: 'export'; readonly dir: string; readonly bytes: number; readonly params: number; readonly agreement: number; readonly relDiff: number }
  | { readonly kind: 'eval'; readonly target: string; readonly acc: number; readonly loss: number; readonly examples: number; readonly dataset: string; readonly backend: string; readonly step?: number };
export const jobFinishedNotification = new NotificationType<{ readonly jobId: string; readonly result: JobResult }>('job/finished');
export const jobFailedNotification = new NotificationType<{ readonly jobId: string; readonly kind: JobSpec['kind']; readonly code: TrainErrorCode | 'protocol' | 'cancelled'; readonly message: string; readonly field?: string; readonly file?: string }>('job/failed');
