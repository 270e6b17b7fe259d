// One optimization step, the single definition the training loop (loop.ts) runs for every
// path that trains — a run, sweep baselines, fine-tuning after compression, the benchmark: forward in training mode, cross-entropy, gradients
// for every variable (through the ring generator into the ring), the optimizer update, and the
// BatchNorm running statistics.
import * as tf from '@tensorflow/tfjs-core';
import type { Network } from './network';
import type { Optimizer } from './optimizer';
import { softmaxCrossEntropy } from './ops';

export interface StepResult {
  readonly loss: number;
  /** Correct predictions in the batch. */
  readonly hits: number;
}

/** `step` (the steps done before this one) seeds dropout masks: a resumed run drops the same values. */
export function trainStep(net: Network, optimizer: Optimizer, x: tf.Tensor4D, y: tf.Tensor1D, lr: number, step = 0): StepResult {
  return tf.tidy(() => {
    let stats: ReturnType<Network['forward']>['bnBatchStats'] = [];
    let hitsT: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = net.forward(x, true, step);
      stats = out.bnBatchStats;
      // Kept: variableGrads disposes everything else created in here.
      hitsT = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, 1), y), 'int32')));
      return softmaxCrossEntropy(out.logits, y);
    }, net.variables.map((v) => v.variable));
    optimizer.apply(grads, lr);
    net.updateRunningStats(stats);
    const hits = hitsT!.dataSync()[0]!;
    hitsT!.dispose();
    return { loss: value.dataSync()[0]!, hits };
  });
}
