// Learning-rate schedules as a function of training progress t = step / totalSteps ∈ [0, 1).
import type { TrainConfig } from '../config/schema';

export function learningRate(train: Pick<TrainConfig, 'lr' | 'schedule'>, step: number, totalSteps: number): number {
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
