// The one file of truth for extension ⇄ trainer messages (JSON-RPC 2.0 over the trainer's
// stdio). Both sides import these typed messages; a method name appears nowhere else.
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { BackendName } from '../config/schema';
import type { DofSummary } from '../rpg/dof';
import type { CheckpointInfo, EvalRow, RunResult, RunStart, TrainErrorCode, TrainRow } from '../train/types';

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
}

export interface BackendAvailability {
  readonly name: Exclude<BackendName, 'auto'>;
  readonly available: boolean;
  /** Why it is (not) available: a missing native library, no SIMD, ... */
  readonly detail: string;
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

// ── plan ────────────────────────────────────────────────────────────────────────────────────
/** A config by path (read from disk) or by content (an unsaved editor). */
export interface ConfigRef {
  readonly configPath?: string;
  /** JSONC text; wins over the file's content when given. */
  readonly text?: string;
}

export interface PlanLayer {
  readonly name: string;
  readonly layer: string;
  readonly kind: string;
  readonly shape: readonly number[];
  readonly params: number;
  readonly offset: number;
  readonly scale: number;
  readonly initStd: number;
  readonly reuse: number;
  readonly distinctEntries: number;
  /** Ring ranges fetched before the layer's permutation ("ring" mode; empty for "shuffled"). */
  readonly spans: readonly { readonly start: number; readonly end: number }[];
  readonly fullWraps: number;
}

export interface PlanResult {
  readonly name: string;
  readonly configPath?: string;
  readonly mode: 'ring' | 'shuffled' | 'plain';
  readonly seed: number;
  readonly ringSize: number;
  readonly hash: string;
  readonly summary: DofSummary;
  /** Set when the dataset is not readable here: the plan then uses its standard input shape. */
  readonly inputNote?: string;
  readonly layers: readonly PlanLayer[];
  readonly free: readonly { readonly name: string; readonly kind: string; readonly shape: readonly number[]; readonly params: number }[];
}
export const planRequest = new RequestType<ConfigRef, PlanResult, TrainerErrorData>('plan');

// ── layer weights (ring mapping detail view) ───────────────────────────────────────────────
export interface LayerWeightsParams extends ConfigRef {
  readonly layer: string;
  /**
   * Use this run's checkpoint ring when it was trained with the config's plan; else (or when
   * it is unreadable) the initial ring, and the result's `note` says why.
   */
  readonly runDir?: string;
  /** At most this many values are returned (a deterministic sample). */
  readonly maxValues?: number;
}

export interface LayerWeightsResult {
  readonly layer: string;
  readonly shape: readonly number[];
  /** Rows × cols of the heatmap the values are laid out in (kernel flattened to [fanIn, fanOut]). */
  readonly rows: number;
  readonly cols: number;
  /** Row-major; a strided sample of the layer's rows and columns when it has more than maxValues. */
  readonly values: readonly number[];
  /** Over every weight of the layer, bins symmetric around 0. */
  readonly histogram: { readonly edges: readonly number[]; readonly counts: readonly number[] };
  readonly source: 'checkpoint' | 'initial';
  /** Why a runDir's checkpoint was passed over for the initial ring (names the file). */
  readonly note?: string;
  /** Share of positive weights among the layer's non-zero weights (0.5 = balanced); over all weights, not the sample. */
  readonly signBalance: number;
}
export const layerWeightsRequest = new RequestType<LayerWeightsParams, LayerWeightsResult, TrainerErrorData>('plan/layerWeights');

// ── training ────────────────────────────────────────────────────────────────────────────────
export interface TrainStartParams extends ConfigRef {
  /** Continue this run folder from its last checkpoint. */
  readonly resumeFrom?: string;
  /** Folder that holds runs (default: <workspace>/runs, resolved by the client). */
  readonly runsDir: string;
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
