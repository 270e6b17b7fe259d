// How long a run is and what its learning rate is at each step: pure functions of the config,
// shared by every engine (the PyTorch engine mirrors them), like nanoGPT's get_lr.
import type { TrainConfig } from '../config/schema';
import { batchCount } from '../data/batches';

export interface RunLength {
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
}

/** Steps per epoch (the last batch may be partial) and total steps (epochs, capped by maxSteps). */
export function runLength(train: Pick<TrainConfig, 'batchSize' | 'epochs' | 'maxSteps'>, trainExamples: number): RunLength {
  const stepsPerEpoch = Math.max(1, batchCount(trainExamples, train.batchSize));
  return { stepsPerEpoch, totalSteps: Math.min(train.maxSteps ?? Infinity, stepsPerEpoch * train.epochs) };
}

/** The learning rate at `step`, as a function of training progress t = step / totalSteps ∈ [0, 1). */export function learningRate(train: Pick<TrainConfig, 'lr' | 'schedule'>, step: number, totalSteps: number): number {
  const t = totalSteps > 0 ? Math.min(1, step / totalSteps) : 0;
  switch (train.schedule) {
    case 'constant':
      return train.lr;
    case 'step':
      return train.lr * (t >= 0.75 ? 0.01 : t >= 0.5 ? 0.1 : 1);
    case 'cosine':
      return train.lr * 0.5 * (1 + Math.cos(Math.PI * t));
    case 'exp':
      // Official RPG code: lr0 · 0.1^(epoch/45) over 90 epochs, i.e. 0.1^(2t).
      return train.lr * Math.pow(0.1, 2 * t);
  }
}
