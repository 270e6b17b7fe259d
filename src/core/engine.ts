// The training engine's public contract: what a caller (CLI, trainer process, sweep) passes
// in and what it hears back. Plain data only, so the trainer can forward it over JSON-RPC.
import type { BackendName, RpgConfig } from './config/schema';
import type { DofSummary } from './rpg/dof';
import type { EvalRow, TrainRow } from './train/rows';

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

export interface BackendAvailability {
  readonly name: Exclude<BackendName, 'auto'>;
  readonly available: boolean;
  /** Why it is (not) available: a missing native library, no SIMD, ... */
  readonly detail: string;
}
