// The engine seam: what the trainer process, the CLI, sweeps and compression need from a
// training engine, and what a run reports. An engine (src/engines/<name>/) turns a validated
// config into trained tensors; it never touches run folders — core/runs/train-run.ts owns
// those and hands the engine a RunSink. Plain data only, so the trainer can forward every
// event over JSON-RPC.
import type { BackendName, EngineName, RpgConfig } from './config/schema';
import type { Checkpoint, CheckpointMeta, TensorValues } from './checkpoint/file';
import type { DofSummary } from './rpg/dof';
import type { EvalRow, TrainRow } from './train/rows';

// ── the seam ─────────────────────────────────────────────────────────────────────────────────
export interface BackendAvailability {
  readonly name: Exclude<BackendName, 'auto'>;
  readonly available: boolean;
  /** Why it is (not) available: a missing native library, no SIMD, ... */
  readonly detail: string;
}

/** What an engine can run on here, and what it would choose. */
export interface EngineDescription {
  readonly engine: EngineName;
  /** The backend chosen for the preference asked about. */
  readonly backend: string;
  /** Why this backend was chosen. */
  readonly reason: string;
  readonly backends: readonly BackendAvailability[];
  readonly threads: number;
  readonly devices: readonly string[];
  /** One line per device found, for logs and `rpg info` (each WebGPU adapter with its limits). */
  readonly deviceDetails?: readonly string[];
  /** A line the user must see about the chosen backend (a software GPU adapter, …). */
  readonly warning?: string;
  /** Library versions worth printing ("tfjs": "4.22.0"). */
  readonly versions: Readonly<Record<string, string>>;
}

export interface EngineTrainJob {
  readonly config: RpgConfig;
  /**
   * The run folder. A new run's folder is created by RunSink.started; an engine that writes
   * its own checkpoints (a child process) writes them here.
   */
  readonly runDir: string;
  /** The .rpg.json file, when there is one: dataset paths resolve against its folder. */
  readonly configPath?: string;
  /** Overrides config.train.backend. */
  readonly backend?: BackendName;
  /** Continue from this (verified) checkpoint: tensors, optimizer state and position. */
  readonly resume?: { readonly checkpoint: Checkpoint; readonly file: string };
  /** Aborting stops gracefully: the current step finishes and a checkpoint is written. */
  readonly signal?: AbortSignal;
}

/** Known once the engine has loaded the data and built the model, before the first step. */
export interface EngineRunInfo {
  readonly engine: EngineName;
  readonly backend: string;
  readonly device?: string;
  readonly arch: string;
  readonly dataset: string;
  readonly summary: DofSummary;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  readonly startStep: number;
}

/** Where an engine reports a run; core/runs/train-run.ts implements it over the run folder. */
export interface RunSink {
  /** The engine is ready to train; returns the run folder (created now for a new run). */
  started(info: EngineRunInfo): { readonly runDir: string };
  row(row: TrainRow): void;
  evaluated(row: EvalRow): void;
  /** Writes the checkpoint (atomically) and records it; a failed write throws. */
  saveCheckpoint(meta: CheckpointMeta, tensors: Map<string, TensorValues>): CheckpointInfo;
  /** The engine wrote the checkpoint itself (in job.runDir): record it. */
  checkpointWritten(info: CheckpointInfo): void;
  log(message: string): void;
}

export interface EngineOutcome {
  readonly status: 'finished' | 'stopped';
  readonly steps: number;
  readonly epochs: number;
  readonly bestAcc: number;
  readonly finalAcc: number;
  readonly durationSec: number;
}

export interface EngineEvalJob {
  readonly config: RpgConfig;
  readonly configPath?: string;
  readonly backend?: BackendName;
  readonly checkpoint: Checkpoint;
  /** The checkpoint's file, for messages. */
  readonly file: string;
}

export interface EvalOutcome {
  readonly loss: number;
  readonly acc: number;
  readonly examples: number;
  readonly backend: string;
  readonly dataset: string;
}

export interface Engine {
  readonly name: EngineName;
  describe(preference?: BackendName): Promise<EngineDescription>;
  train(job: EngineTrainJob, sink: RunSink): Promise<EngineOutcome>;
  /** Loss and accuracy of a checkpoint on its test split (the plan is checked first). */
  evaluate(job: EngineEvalJob): Promise<EvalOutcome>;
}

// ── a run, as its callers see it ─────────────────────────────────────────────────────────────
export interface TrainOptions {
  readonly config: RpgConfig;
  /** The .rpg.json file, when there is one: dataset paths resolve against its folder. */
  readonly configPath?: string;
  /** Folder that holds runs: <runsDir>/<config name>/<run id>/. */
  readonly runsDir: string;
  /** Overrides config.train.backend. */
  readonly backend?: BackendName;
  /** Aborting stops gracefully: the current step finishes and a checkpoint is written. */
  readonly signal?: AbortSignal;
  /** Run folder name; default a timestamp. */
  readonly runId?: string;
}

export interface ResumeOptions {
  /** The run folder to continue from its checkpoint; it trains the config in its run.json. */
  readonly runDir: string;
  readonly backend?: BackendName;
  readonly signal?: AbortSignal;
}

export interface RunStart {
  readonly runDir: string;
  readonly runId: string;
  /** The .rpg.json the run belongs to, when it has one. */
  readonly configPath?: string;
  readonly engine: EngineName;
  readonly backend: string;
  readonly device?: string;
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

export interface RunResult extends EngineOutcome {
  readonly runDir: string;
  readonly checkpoint: string;
}
