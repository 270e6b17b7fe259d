// `rpg compress`: magnitude-prune the ring of a trained RPG run, optionally fine-tune with the
// mask held fixed, quantize it (symmetric, per ring or per block), and write a .rpgz that
// regenerates the model bit-exactly. Accuracy is measured before, after pruning (float32) and
// on the model decoded back from the written file — the number `rpg eval FILE.rpgz` prints.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName, RpgConfig } from '../core/config/schema';
import { validateConfig } from '../core/config/load';
import { checkCheckpointPlan, readCheckpoint, runCheckpointFile } from '../core/checkpoint/file';
import { readRunRecord } from '../core/runs/record';
import { runLength } from '../core/train/schedule';
import { optimizerFor } from '../engines/tfjs/engine';
import { evalBatchSize, evaluate, openSession, restoreTensors, Session } from '../engines/tfjs/session';
import { trainLoop } from '../engines/tfjs/loop';
import { applyMask, CompressError, countKept, magnitudeMask, quantize } from '../core/compress/quantize';
import { artifactRing, decodeRpgz, EncodedSizes, encodeRpgz, RpgzArtifact } from '../core/compress/rpgz';

export { CompressError } from '../core/compress/quantize';
export const RPGZ_EXT = '.rpgz';

export interface CompressOptions {
  readonly runDir: string;
  /** Fraction of ring entries to zero (smallest magnitudes first). */
  readonly prune: number;
  readonly bits: number;
  /** Entries per quantization scale; default the whole ring. */
  readonly block?: number;
  /** Fine-tuning steps after pruning, mask fixed (default 0). */
  readonly finetune?: number;
  /** Fine-tuning learning rate (default the config's train.lr, constant). */
  readonly finetuneLr?: number;
  readonly freeBits?: 16 | 32;
  readonly out?: string;
  readonly backend?: BackendName;
  readonly onLog?: (message: string) => void;
  /** Aborting stops fine-tuning after its current step and writes nothing (CompressError "cancelled"). */
  readonly signal?: AbortSignal;
}

export interface Accuracy {
  readonly acc: number;
  readonly loss: number;
}

export interface CompressResult {
  readonly file: string;
  readonly before: Accuracy;
  /** After pruning (and fine-tuning), float32 ring, before quantization. */
  readonly pruned: Accuracy;
  /** The model decoded from the written file. */
  readonly after: Accuracy;
  readonly ringSize: number;
  readonly kept: number;
  readonly bits: number;
  readonly block: number;
  readonly sizes: EncodedSizes;
  /** bits·kept/8 + free-parameter bytes: the information the file carries. */
  readonly infoBytes: number;
  /** The equivalent plain model's float32 weights (total parameters × 4). */
  readonly plainBytes: number;
  /** The run's float32 ring + free parameters + BN statistics (what a checkpoint stores, optimizer excluded). */
  readonly float32Bytes: number;
  readonly totalParams: number;
  /** max |ring − dequantized| over kept entries. */
  readonly maxQuantError: number;
}

function stateWithoutRing(session: Session): { name: string; variable: tf.Variable }[] {
  return [...session.net.state()].filter(([n]) => n !== 'ring').map(([name, variable]) => ({ name, variable }));
}

export async function compressRun(o: CompressOptions): Promise<CompressResult> {
  const log = (m: string) => o.onLog?.(m);
  const runDir = path.resolve(o.runDir);
  const ckpt = readCheckpoint(runDir);
  const config = validateConfig(ckpt.meta.config);
  if (!config.rpg.enabled) throw new CompressError(`${runDir}: this run trains the plain model (rpg.enabled = false); compress works on the ring of an RPG run`);
  if ((config.rpg.method ?? 'ring') !== 'ring') throw new CompressError(`${runDir}: this run trains the ${config.rpg.method} baseline (rpg.method = "${config.rpg.method}"); compress works on the ring of an RPG run`);
  const session = await openSession(config, readRunRecord(runDir)?.configPath, o.backend);
  try {
    const ckptFile = runCheckpointFile(runDir);
    checkCheckpointPlan(ckptFile, ckpt.meta, { hash: session.resolved.plan!.hash, contentHash: session.materialized!.contentHash, ringSize: session.resolved.plan!.ringSize });
    restoreTensors(session.net.state(), ckpt, ckptFile);
    const ringVar = session.net.ring!;
    const before = await evaluate(session.net, session.dataset, 'test', evalBatchSize(config));
    log(`${config.name}: ring of ${ringVar.size.toLocaleString('en-US')} entries, test accuracy ${(before.acc * 100).toFixed(2)}%`);

    const original = Float32Array.from((await ringVar.data()) as Float32Array);
    const mask = magnitudeMask(original, o.prune);
    const maskT = tf.tensor1d(Float32Array.from(mask));
    const reapply = () => tf.tidy(() => ringVar.assign(tf.mul(ringVar, maskT)));
    reapply();
    if ((o.finetune ?? 0) > 0) {
      log(`fine-tuning ${o.finetune} steps with ${(o.prune * 100).toFixed(1)}% of the ring held at zero`);
      const lr = o.finetuneLr ?? config.train.lr;
      const optimizer = optimizerFor(session);
      try {
        await trainLoop(session.net, optimizer, session.dataset, config, { totalSteps: o.finetune!, stepsPerEpoch: runLength(config.train, session.dataset.train.count).stepsPerEpoch, lr: () => lr, evaluate: false, afterStep: reapply, ...(o.signal ? { signal: o.signal } : {}) });
        if (o.signal?.aborted) throw new CompressError('cancelled: nothing was written');
      } finally {
        optimizer.dispose();
      }
    }
    maskT.dispose();
    const ring = applyMask((await ringVar.data()) as Float32Array, mask);
    const pruned = await evaluate(session.net, session.dataset, 'test', evalBatchSize(config));

    const qz = quantize(ring, mask, o.bits, o.block ?? ring.length);
    const freeBits = o.freeBits ?? 32;
    const artifact: RpgzArtifact = {
      config, seed: config.seed, planHash: session.resolved.plan!.hash, planContentHash: session.materialized!.contentHash, ringSize: ring.length,
      bits: qz.bits, block: qz.block, mask, scales: qz.scales, codes: qz.codes, freeBits,
      tensors: await Promise.all(stateWithoutRing(session).map(async ({ name, variable }) => ({ name, shape: variable.shape, values: Float32Array.from((await variable.data()) as Float32Array) }))),
      info: { source: runDir, step: ckpt.meta.step, prune: o.prune, finetune: o.finetune ?? 0, accuracyBefore: before.acc, createdAt: new Date().toISOString() },
    };
    const { bytes, sizes } = encodeRpgz(artifact);
    const file = path.resolve(o.out ?? path.join(runDir, `compressed-p${Math.round(o.prune * 100)}-b${o.bits}${o.block ? `-k${o.block}` : ''}${RPGZ_EXT}`));
    writeFileSync(file, bytes);

    // Evaluate exactly what was written: decode the file and load it into the network.
    const decoded = decodeRpgz(readFileSync(file), file);
    applyArtifact(session, decoded, file);
    const after = await evaluate(session.net, session.dataset, 'test', evalBatchSize(config));
    const deq = artifactRing(decoded);
    let maxQuantError = 0;
    for (let j = 0; j < ring.length; j++) if (mask[j]) maxQuantError = Math.max(maxQuantError, Math.abs(ring[j]! - deq[j]!));
    const kept = countKept(mask);
    const freeCount = artifact.tensors.reduce((s, t) => s + t.values.length, 0);
    const totalParams = session.resolved.summary.totalParams;
    return {
      file, before, pruned, after, ringSize: ring.length, kept, bits: qz.bits, block: qz.block, sizes,
      infoBytes: Math.ceil((qz.bits * kept) / 8) + sizes.free, plainBytes: totalParams * 4, float32Bytes: (ring.length + freeCount) * 4, totalParams, maxQuantError,
    };
  } finally {
    session.net.dispose();
  }
}

/** Loads a decoded artifact's ring and tensors into a session opened from its config. */
export function applyArtifact(session: Session, a: RpgzArtifact, file: string): void {
  const plan = session.resolved.plan;
  if (!plan || !session.net.ring) throw new CompressError(`${file}: its config does not generate weights from a ring`);
  if (plan.hash !== a.planHash || session.materialized!.contentHash !== a.planContentHash) {
    throw new CompressError(`${file}: the plan regenerated from (config, seed) (${plan.hash}) does not match the file's (${a.planHash}); was it written by another version?`);
  }
  if (plan.ringSize !== a.ringSize) throw new CompressError(`${file}: ring of ${a.ringSize} entries, the plan needs ${plan.ringSize}`);
  session.net.ring.assign(tf.tensor1d(artifactRing(a)));
  const byName = new Map(a.tensors.map((t) => [t.name, t]));
  for (const { name, variable } of stateWithoutRing(session)) {
    const t = byName.get(name);
    if (!t) throw new CompressError(`${file}: has no tensor "${name}"`);
    if (t.shape.join('x') !== variable.shape.join('x')) throw new CompressError(`${file}: tensor "${name}" has shape ${t.shape.join('×')}, the model needs ${variable.shape.join('×')}`);
    variable.assign(tf.tensor(t.values, variable.shape));
  }
}

/** Opens a session for a .rpgz: config from the file, weights loaded (caller disposes net). */
export async function openRpgz(file: string, backend?: BackendName, configPath?: string): Promise<{ session: Session; artifact: ReturnType<typeof decodeRpgz> }> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new CompressError(`${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const artifact = decodeRpgz(bytes, file);
  const config: RpgConfig = validateConfig(artifact.config);
  const session = await openSession(config, configPath ?? (typeof artifact.info?.source === 'string' ? readRunRecord(artifact.info.source)?.configPath : undefined), backend);
  try {
    applyArtifact(session, artifact, file);
  } catch (err) {
    session.net.dispose();
    throw err;
  }
  return { session, artifact };
}
