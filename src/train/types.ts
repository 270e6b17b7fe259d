// The training engine's public contract: what a caller (CLI, trainer process, sweep) passes
// in and what it hears back. Plain data only, so the trainer can forward it over JSON-RPC.
import type { BackendName, RpgConfig } from '../config/schema';
import type { DofSummary } from '../rpg/dof';

export interface TrainOptions {
  readonly config: RpgConfig;
  /** The .rpg.json file, when there is one: dataset paths resolve against its folder. */
  readonly configPath?: string;
  /** Folder that holds runs: <runsDir>/<config name>/<run id>/. */
  readonly runsDir: string;
  /** Continue this run folder from its checkpoint instead of starting a new run. */
  readonly resumeFrom?: string;
  /** Overrides config.train.backend. */
  readonly backend?: BackendName;
  /** Aborting stops gracefully: the current step finishes and a checkpoint is written. */
  readonly signal?: AbortSignal;
  /** Run folder name; default a timestamp. */
  readonly runId?: string;
}

export interface TrainRow {
  readonly type: 'train';
  readonly step: number;
  readonly epoch: number;
  /** Fraction of the run done, 0..1. */
  readonly progress: number;
  readonly loss: number;
  readonly acc: number;
  readonly lr: number;
  readonly samplesPerSec: number;
  /** Seconds since the run (or its resume) started. */
  readonly time: number;
  readonly etaSeconds: number;
}

export interface EvalRow {
  readonly type: 'eval';
  readonly step: number;
  readonly epoch: number;
  readonly loss: number;
  readonly acc: number;
  readonly time: number;
}

export type MetricRow = TrainRow | EvalRow;

export interface RunStart {
  readonly runDir: string;
  readonly runId: string;
  readonly backend: string;
  readonly summary: DofSummary;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  readonly startStep: number;
  readonly resumed: boolean;
}

export interface CheckpointInfo {
  readonly path: string;
  readonly step: number;
  readonly epoch: number;
  readonly bytes: number;
}

export interface TrainEvents {
  onStart?(info: RunStart): void;
  onTrainRow?(row: TrainRow): void;
  onEval?(row: EvalRow): void;
  onCheckpoint?(info: CheckpointInfo): void;
  onLog?(message: string): void;
}

export type RunStatus = 'running' | 'finished' | 'stopped' | 'failed';

export interface RunResult {
  readonly runDir: string;
  readonly status: 'finished' | 'stopped';
  readonly steps: number;
  readonly epochs: number;
  readonly bestAcc: number;
  readonly finalAcc: number;
  readonly durationSec: number;
  readonly checkpoint: string;
}

/** The run.json kept in every run folder (updated at start, each checkpoint and the end). */
export interface RunRecord {
  readonly runId: string;
  readonly name: string;
  readonly configPath?: string;
  readonly config: RpgConfig;
  status: RunStatus;
  readonly backend: string;
  readonly arch: string;
  readonly dataset: string;
  readonly dof: number;
  readonly ringSize: number;
  readonly totalParams: number;
  readonly startedAt: string;
  endedAt?: string;
  durationSec: number;
  step: number;
  epoch: number;
  bestAcc?: number;
  finalAcc?: number;
  error?: { code: string; message: string; field?: string; file?: string };
  /** The process that trains the run while status is "running" (trainer or CLI), and its host:
   * a reader can tell a live run from one whose process died (see run-files.ts runLiveness). */
  pid?: number;
  hostname?: string;
}

export type TrainErrorCode = 'config' | 'dataset' | 'plan' | 'shape' | 'backend' | 'nan' | 'checkpoint' | 'internal';

/** A failure with a cause a user can act on: the field or file at fault. */
export class TrainError extends Error {
  constructor(
    readonly code: TrainErrorCode,
    message: string,
    readonly field?: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'TrainError';
  }
}
