// The run record (run.json): what every reader of a run folder may rely on. Written only by
// runs/folder.ts; read through runs/record.ts, which checks every field.
import type { RpgConfig } from '../config/schema';

export type RunStatus = 'running' | 'finished' | 'stopped' | 'failed';

/** The run.json kept in every run folder (rewritten at start, each checkpoint and the end). */
export interface RunRecord {
  readonly runId: string;
  readonly name: string;
  /** The .rpg.json the run was started from, when there was one (absolute). */
  readonly configPath?: string;
  readonly config: RpgConfig;
  readonly status: RunStatus;
  /** The engine that trains it ("tfjs" for records written before engines had names). */
  readonly engine?: string;
  readonly backend: string;
  /** The device it trains on, when the backend names one ("webgpu · NVIDIA L4", "cuda:0"). */
  readonly device?: string;
  readonly arch: string;
  readonly dataset: string;
  readonly dof: number;
  readonly ringSize: number;
  readonly totalParams: number;
  readonly startedAt: string;
  readonly endedAt?: string;
  /** Training time so far (resumes add up), seconds. */
  readonly durationSec: number;
  readonly step: number;
  readonly epoch: number;
  readonly bestAcc?: number;
  readonly finalAcc?: number;
  /** Step of the checkpoint.bin on disk (the resume point); absent while there is none. Records
   * written before this field existed updated `step` only at checkpoints. */
  readonly checkpointStep?: number;
  /** The config file relative to the run folder ("../../../lenet.rpg.json"): what ties a run to
   * its config in a copied or moved workspace, where configPath (absolute) points elsewhere. */
  readonly configRelPath?: string;
  readonly error?: { readonly code: string; readonly message: string; readonly field?: string; readonly file?: string };
  /** The process that trains the run while status is "running" (trainer or CLI), and its host:
   * a reader can tell a live run from one whose process died (record.ts runOwnerAlive). */
  readonly pid?: number;
  readonly hostname?: string;
}
