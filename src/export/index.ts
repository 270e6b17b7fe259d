// `rpg export`: the generated full model as a TensorFlow.js Layers model, checked against our
// own forward pass on a test batch after a save → load round trip.
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../core/config/schema';
import { validateConfig } from '../core/config/load';
import { evalBatches } from '../core/data';
import { checkCheckpointPlan, checkpointPathOf, readCheckpoint } from '../core/checkpoint/file';
import { readRunRecord } from '../core/runs/record';
import { openSession, restoreTensors, Session } from '../engines/tfjs/session';
import { openRpgz, RPGZ_EXT } from '../compress';
import { buildLayersModel, loadSavedLayersModel, saveLayersModel, SavedLayersModel } from './tfjs-layers';
import { fullWeights } from './weights';

export { buildLayersModel, loadSavedLayersModel, saveLayersModel } from './tfjs-layers';
export { fullWeights } from './weights';

export interface TfjsExportResult extends SavedLayersModel {
  readonly arch: string;
  readonly params: number;
  /** max |ours − exported| over the check batch's logits, and relative to max |ours|. */
  readonly maxAbsDiff: number;
  readonly relDiff: number;
  /** Fraction of the batch where both argmaxes agree. */
  readonly argmaxAgreement: number;
  readonly batch: number;
}

/** Opens a run folder (its checkpoint) or a .rpgz with its weights loaded. */
export async function openTrained(source: string, backend?: BackendName): Promise<Session> {
  const file = path.resolve(source);
  if (file.endsWith(RPGZ_EXT)) return (await openRpgz(file, backend)).session;
  const ckptFile = checkpointPathOf(file);
  const ckpt = readCheckpoint(ckptFile);
  const session = await openSession(validateConfig(ckpt.meta.config), readRunRecord(path.dirname(ckptFile))?.configPath, backend);
  try {
    const { resolved, materialized } = session;
    checkCheckpointPlan(ckptFile, ckpt.meta, materialized && { hash: resolved.plan!.hash, contentHash: materialized.contentHash, ringSize: resolved.plan!.ringSize });
    restoreTensors(session.net.state(), ckpt, ckptFile);
  } catch (err) {
    session.net.dispose();
    throw err;
  }
  return session;
}

export async function exportTfjs(source: string, outDir: string, backend?: BackendName, checkBatch = 64): Promise<TfjsExportResult> {
  const session = await openTrained(source, backend);
  try {
    const { net, dataset } = session;
    const model = buildLayersModel(net.spec, await fullWeights(net));
    const saved = await saveLayersModel(model, path.resolve(outDir), {
      source: path.resolve(source), arch: net.spec.arch, dataset: dataset.name, inputShape: net.spec.inputShape, numClasses: net.spec.numClasses,
      classNames: dataset.classNames ?? null, preprocessing: { formula: 'x = (byte / 255 - mean[c]) / std[c], NHWC', mean: dataset.mean, std: dataset.std }, output: 'logits (apply softmax for probabilities)',
    });
    model.dispose();
    const loaded = await loadSavedLayersModel(saved.dir);
    const b = evalBatches('test', dataset, checkBatch).next().value!;
    const checks = tf.tidy(() => {
      const x = tf.tensor4d(b.x, [b.size, dataset.height, dataset.width, dataset.channels]);
      const ours = net.forward(x, false).logits;
      const theirs = loaded.predict(x) as tf.Tensor2D;
      return [tf.max(tf.abs(tf.sub(ours, theirs))), tf.max(tf.abs(ours)), tf.sum(tf.cast(tf.equal(tf.argMax(ours, 1), tf.argMax(theirs, 1)), 'int32'))];
    });
    // Read back asynchronously (dataSync throws on webgpu under Node).
    const [maxAbsDiff, scale, agree] = (await Promise.all(checks.map((t) => t.data()))).map((v) => v[0]!) as [number, number, number];
    tf.dispose(checks);
    loaded.dispose();
    return { ...saved, arch: net.spec.arch, params: session.resolved.summary.totalParams, maxAbsDiff, relDiff: maxAbsDiff / Math.max(1e-12, scale), argmaxAgreement: agree / b.size, batch: b.size };
  } finally {
    session.net.dispose();
  }
}
