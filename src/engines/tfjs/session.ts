// Everything a run needs, built from a config in one place: backend, dataset, model spec, plan,
// network. Every failure becomes a TrainError naming the config field or file at fault.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName, RpgConfig } from '../../core/config/schema';
import { loadExperimentData, ResolvedExperiment, resolveForData } from '../../core/experiment/resolve';
import { Dataset, evalBatches } from '../../core/data';
import { materializePlan, MaterializedPlan } from '../../core/rpg/materialize';
import { BackendChoice, selectBackend } from './backend';
import { Network } from './network';
import { softmaxCrossEntropy } from './ops';
import { TrainError } from '../../core/errors';
import type { Checkpoint } from '../../core/checkpoint/file';

export interface Session {
  readonly config: RpgConfig;
  readonly configPath?: string;
  readonly backend: BackendChoice;
  readonly dataset: Dataset;
  readonly resolved: ResolvedExperiment;
  readonly materialized: MaterializedPlan | undefined;
  readonly net: Network;
}

export async function openBackend(preference: BackendName): Promise<BackendChoice> {
  try {
    return await selectBackend(preference);
  } catch (err) {
    throw new TrainError('backend', String((err as Error).message), 'train.backend');
  }
}

export async function openSession(config: RpgConfig, configPath: string | undefined, backendPreference?: BackendName): Promise<Session> {
  const backend = await openBackend(backendPreference ?? config.train.backend);
  const dataset = await loadExperimentData(config, configPath);
  const resolved = resolveForData(config, dataset);
  const materialized = resolved.plan ? materializePlan(resolved.plan) : undefined;
  const net = new Network(resolved.spec, materialized, config.seed);
  return { config, ...(configPath ? { configPath } : {}), backend, dataset, resolved, materialized, net };
}

/** Batch size for evaluation: 500 examples, but on a GPU never more than the training batch,
 * which is known to fit (lavapipe's 128 MiB storage binding cannot hold ResNet-18's first
 * activations for 500 images). */
export function evalBatchSize(config: RpgConfig): number {
  return tf.getBackend() === 'webgpu' ? Math.min(500, config.train.batchSize) : 500;
}

/** Loss and accuracy over a split, BatchNorm in inference mode. Two scalars read back per
 * batch with `await data()` (dataSync throws on webgpu under Node). */
export async function evaluate(net: Network, dataset: Dataset, split: 'train' | 'test' = 'test', batchSize = 500): Promise<{ loss: number; acc: number }> {
  let loss = 0;
  let correct = 0;
  let count = 0;
  for (const b of evalBatches(split, dataset, batchSize)) {
    const [lossT, hitsT] = tf.tidy(() => {
      const x = tf.tensor4d(b.x, [b.size, dataset.height, dataset.width, dataset.channels]);
      const y = tf.tensor1d(b.y, 'int32');
      const { logits } = net.forward(x, false);
      return [softmaxCrossEntropy(logits, y), tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32'))];
    });
    try {
      const [l, c] = await Promise.all([lossT.data(), hitsT.data()]);
      loss += l[0]! * b.size;
      correct += c[0]!;
      count += b.size;
    } finally {
      tf.dispose([lossT, hitsT]);
    }
  }
  return { loss: loss / Math.max(1, count), acc: correct / Math.max(1, count) };
}

/** Copies checkpoint tensors into matching variables; every name must match. */
export function restoreTensors(targets: Map<string, tf.Variable>, ckpt: Checkpoint, file: string): void {
  for (const [name, v] of targets) {
    const t = ckpt.tensors.get(name);
    if (!t) throw new TrainError('checkpoint', `${file}: has no tensor "${name}" (was it written by another model?)`, undefined, file);
    if (t.shape.join('x') !== v.shape.join('x')) throw new TrainError('checkpoint', `${file}: tensor "${name}" has shape ${t.shape.join('×')}, the model needs ${v.shape.join('×')}`, undefined, file);
    v.assign(tf.tensor(t.values, v.shape));
  }
}

/** The variables' values, read back asynchronously (all at once: one wait on a GPU queue). */
export async function snapshotTensors(sources: Map<string, tf.Variable>): Promise<Map<string, { shape: readonly number[]; values: Float32Array }>> {
  const entries = [...sources];
  const values = await Promise.all(entries.map(([, v]) => v.data() as Promise<Float32Array>));
  return new Map(entries.map(([name, v], i) => [name, { shape: v.shape, values: values[i]! }]));
}
