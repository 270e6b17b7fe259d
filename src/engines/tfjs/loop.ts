// A compact training loop over an existing Network, for what `train()` does not cover: the
// random-subspace baseline and fine-tuning a pruned ring with its mask held fixed. It uses the
// same optimizer, schedule, batches and loss as `train()`, but writes no run folder.
import * as tf from '@tensorflow/tfjs-core';
import { batchCount, batches, Dataset } from '../../core/data';
import type { RpgConfig } from '../../core/config/schema';
import type { Network } from './network';
import { Optimizer } from './optimizer';
import { learningRate } from '../../core/train/schedule';
import { trainStep } from './step';
import { evaluate } from './session';
import { TrainError } from '../../core/errors';

export interface LoopOptions {
  /** Total steps; default config.train epochs × steps per epoch. */
  readonly steps?: number;
  /** Evaluate at each epoch end and at the last step (default true). */
  readonly evaluate?: boolean;
  /** Constant learning rate instead of the config's schedule. */
  readonly lr?: number;
  readonly afterStep?: () => void;
  readonly signal?: AbortSignal;
  readonly onEval?: (step: number, acc: number, loss: number) => void;
}

export interface LoopResult {
  readonly steps: number;
  readonly bestAcc: number;
  readonly finalAcc: number;
  readonly durationSec: number;
}

export async function trainLoop(net: Network, dataset: Dataset, config: RpgConfig, opts: LoopOptions = {}): Promise<LoopResult> {
  const tc = config.train;
  const optimizer = new Optimizer({ name: tc.optimizer, momentum: tc.momentum, weightDecay: tc.weightDecay, normalization: config.rpg.lrNormalization }, net.variables, net.materialized);
  const stepsPerEpoch = batchCount(dataset.train.count, tc.batchSize);
  const totalSteps = opts.steps ?? Math.min(tc.maxSteps ?? Infinity, stepsPerEpoch * tc.epochs);
  const [h, w, c] = [dataset.height, dataset.width, dataset.channels];
  const t0 = Date.now();
  let step = 0;
  let bestAcc = 0;
  let finalAcc = 0;
  try {
    for (let epoch = 0; step < totalSteps; epoch++) {
      for (const b of batches('train', dataset, tc.batchSize, { seed: config.seed, epoch, shuffle: true, augment: config.data.augment, reuseBuffers: true })) {
        const lr = opts.lr ?? learningRate(tc, step, totalSteps);
        const x = tf.tensor4d(b.x, [b.size, h, w, c]);
        const y = tf.tensor1d(b.y, 'int32');
        const { loss } = trainStep(net, optimizer, x, y, lr);
        tf.dispose([x, y]);
        opts.afterStep?.();
        step++;
        if (!Number.isFinite(loss)) throw new TrainError('nan', `training diverged: the loss became ${loss} at step ${step}; lower train.lr (now ${opts.lr ?? tc.lr})`, 'train.lr');
        const last = step >= totalSteps || !!opts.signal?.aborted;
        if ((opts.evaluate ?? true) && (step % stepsPerEpoch === 0 || last)) {
          const r = evaluate(net, dataset, 'test');
          finalAcc = r.acc;
          bestAcc = Math.max(bestAcc, r.acc);
          opts.onEval?.(step, r.acc, r.loss);
        }
        await new Promise((resolve) => setImmediate(resolve));
        if (last) break;
      }
      if (opts.signal?.aborted) break;
    }
  } finally {
    optimizer.dispose();
  }
  return { steps: step, bestAcc, finalAcc, durationSec: (Date.now() - t0) / 1000 };
}
