// The rows a training run produces: one per step (train) and one per evaluation (eval). Both
// engines emit them, metrics.jsonl stores them one JSON object per line, the protocol relays them.

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
