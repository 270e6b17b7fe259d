// One optimization step, the single definition the training loop, the fine-tuning loop of
// `rpg compress` and the benchmark all run: forward in training mode, cross-entropy, gradients
// for every variable (through the ring generator into the ring), the optimizer update, and the
// BatchNorm running statistics. The loss and the hit count are the only values read back, with
// `await data()`: dataSync throws on webgpu under Node, and on a GPU it would stall the queue.
import * as tf from '@tensorflow/tfjs-core';
import type { Network } from './network';
import type { Optimizer } from './optimizer';
import { softmaxCrossEntropy } from './ops';

export interface StepResult {
  readonly loss: number;
  /** Correct predictions in the batch. */
  readonly hits: number;
}

export async function trainStep(net: Network, optimizer: Optimizer, x: tf.Tensor4D, y: tf.Tensor1D, lr: number): Promise<StepResult> {
  const [lossT, hitsT] = tf.tidy(() => {
    let stats: ReturnType<Network['forward']>['bnBatchStats'] = [];
    let hits: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = net.forward(x, true);
      stats = out.bnBatchStats;
      // Kept: variableGrads disposes everything else created in here.
      hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, 1), y), 'int32')));
      return softmaxCrossEntropy(out.logits, y);
    }, net.variables.map((v) => v.variable));
    optimizer.apply(grads, lr);
    net.updateRunningStats(stats);
    return [value, hits!];
  });
  try {
    const [loss, hits] = await Promise.all([lossT.data(), hitsT.data()]);
    return { loss: loss[0]!, hits: hits[0]! };
  } finally {
    tf.dispose([lossT, hitsT]);
  }
}
