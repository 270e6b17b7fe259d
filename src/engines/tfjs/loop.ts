// The training loop of the tfjs engine — the only one: a run, a resumed run, a sweep's
// baselines, fine-tuning after compression and the benchmark all drive it, each with its own
// hooks. Per step: the batch of (seed, epoch, index), trainStep, a NaN check, the progress row;
// then evaluation and checkpoints as the hooks ask. Between steps the event loop runs, so
// stop requests and RPC messages get through.
import * as tf from '@tensorflow/tfjs-core';
import type { RpgConfig } from '../../core/config/schema';
import { batches, Dataset } from '../../core/data';
import type { Batch } from '../../core/data/types';
import { TrainError } from '../../core/errors';
import type { EvalRow, TrainRow } from '../../core/train/rows';
import type { Network } from './network';
import type { Optimizer } from './optimizer';
import { evalBatchSize, evaluate } from './session';
import { trainStep } from './step';
import { GpuFailure, takeGpuFailure } from './webgpu-errors';

/** Where the loop stands; what a checkpoint records. */
export interface LoopPosition {
  readonly step: number;
  /** Epoch in progress and batches of it already consumed (the resume point). */
  readonly epoch: number;
  readonly batchInEpoch: number;
  readonly elapsedSec: number;
  readonly bestAcc: number;
  readonly lastAcc: number;
}

export interface LoopHooks {
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  /** Learning rate at a step: the config's schedule, or a constant. */
  lr(step: number): number;
  /** Resume point: step, best/last accuracy and time already spent (default: a fresh start). */
  readonly from?: Pick<LoopPosition, 'step' | 'bestAcc' | 'lastAcc' | 'elapsedSec'>;
  /** Evaluate on the test split at each epoch end, the last step and every `evalEvery` steps (default: yes, per epoch). */
  readonly evaluate?: boolean;
  readonly evalEvery?: number;
  /** Checkpoint every this many steps and at epoch ends, the last step and a stop (undefined: never). */
  readonly checkpointEvery?: number;
  /** …and whenever this many seconds passed since the last one (wall clock; undefined or 0: no). */
  readonly checkpointEverySec?: number;
  /** The wall clock the checkpoint timer reads, in ms (default Date.now; tests pass their own). */
  now?(): number;
  readonly signal?: AbortSignal;
  /** The batches to train on (default: the dataset's shuffled, augmented training batches). */
  batchesFor?(epoch: number, startBatch: number): Iterable<Batch>;
  /** After each optimizer update (compression re-applies its mask here). */
  afterStep?(step: number, stepMs: number): void;
  onRow?(row: TrainRow): void;
  onEval?(row: EvalRow): void;
  onCheckpoint?(at: LoopPosition): void | Promise<void>;
}

export interface LoopResult {
  readonly steps: number;
  readonly stopped: boolean;
  readonly bestAcc: number;
  readonly finalAcc: number;
  readonly elapsedSec: number;
}

export async function trainLoop(net: Network, optimizer: Optimizer, dataset: Dataset, config: RpgConfig, hooks: LoopHooks): Promise<LoopResult> {
  const { totalSteps, stepsPerEpoch } = hooks;
  const tc = config.train;
  const evalOn = hooks.evaluate ?? true;
  const [h, w, c] = [dataset.height, dataset.width, dataset.channels];
  const batchesFor = hooks.batchesFor ?? ((epoch: number, startBatch: number) => batches('train', dataset, tc.batchSize, { seed: config.seed, epoch, shuffle: true, augment: config.data.augment, startBatch, reuseBuffers: true }));
  let step = hooks.from?.step ?? 0;
  let bestAcc = hooks.from?.bestAcc ?? 0;
  let lastAcc = hooks.from?.lastAcc ?? 0;
  const t0 = Date.now();
  const elapsed = () => (hooks.from?.elapsedSec ?? 0) + (Date.now() - t0) / 1000;
  const clock = hooks.now ?? Date.now;
  let lastCheckpointAt = clock();
  let lastCheckpointStep: number | undefined = hooks.from?.step;
  const checkpoint = async (epochDone: boolean, batchIndex: number, epoch: number) => {
    lastCheckpointAt = clock();
    await hooks.onCheckpoint?.({ step, epoch: epochDone ? epoch + 1 : epoch, batchInEpoch: epochDone ? 0 : batchIndex, elapsedSec: elapsed(), bestAcc, lastAcc });
    lastCheckpointStep = step;
  };
  // The GPU reports failures asynchronously, never as exceptions: each read-back is followed by
  // a look at what the device said (webgpu-errors.ts). Nothing to do on other backends.
  const gpuError = (f: GpuFailure, during: string) => {
    const kept = hooks.onCheckpoint ? (lastCheckpointStep !== undefined ? `; the checkpoint of step ${lastCheckpointStep} is kept` : '; no checkpoint was written yet') : '';
    if (f.kind === 'memory') {
      return new TrainError('gpu', `${f.message} on ${f.device} during ${during}: ${net.spec.arch} at batch size ${tc.batchSize} does not fit; lower train.batchSize${kept}`, 'train.batchSize');
    }
    return new TrainError('gpu', `${f.message} on ${f.device} during ${during}${kept}`);
  };

  let windowStart = Date.now();
  let windowSamples = 0;
  let samplesPerSec = 0;
  let stopped = hooks.signal?.aborted ?? false;
  // Stopped before the first step (Ctrl-C while the data loaded): still leave a checkpoint to resume from.
  if (stopped && hooks.checkpointEvery !== undefined && step < totalSteps) await checkpoint(false, step % stepsPerEpoch, Math.floor(step / stepsPerEpoch));
  while (step < totalSteps && !stopped) {
    const epoch = Math.floor(step / stepsPerEpoch);
    let batchIndex = step % stepsPerEpoch;
    for (const b of batchesFor(epoch, batchIndex)) {
      const lr = hooks.lr(step);
      const stepStart = performance.now();
      const x = tf.tensor4d(b.x, [b.size, h, w, c]);
      const y = tf.tensor1d(b.y, 'int32');
      const { loss, hits } = await trainStep(net, optimizer, x, y, lr, step);
      tf.dispose([x, y]);
      // Before anything reads this step's numbers: after a GPU failure they are not the model's.
      const failed = takeGpuFailure();
      if (failed) throw gpuError(failed, `training step ${step + 1}`);
      step++;
      batchIndex++;
      hooks.afterStep?.(step, performance.now() - stepStart);
      if (!Number.isFinite(loss)) {
        throw new TrainError('nan', `training diverged: the loss became ${loss} at step ${step} (epoch ${epoch + 1}); lower train.lr (now ${lr})${config.rpg.enabled && config.rpg.lrNormalization !== 'projected' ? ' or use rpg.lrNormalization "projected"' : ''}`, 'train.lr');
      }
      windowSamples += b.size;
      const now = Date.now();
      if (now - windowStart >= 1000 || samplesPerSec === 0) {
        samplesPerSec = (windowSamples * 1000) / Math.max(1, now - windowStart);
        windowStart = now;
        windowSamples = 0;
      }
      hooks.onRow?.({
        type: 'train', step, epoch: epoch + batchIndex / stepsPerEpoch, progress: step / totalSteps, loss, acc: hits / b.size, lr, samplesPerSec, time: elapsed(),
        etaSeconds: ((totalSteps - step) * tc.batchSize) / Math.max(1e-9, samplesPerSec),
      });

      const epochDone = batchIndex === stepsPerEpoch;
      const last = step >= totalSteps;
      if (evalOn && ((hooks.evalEvery !== undefined && step % hooks.evalEvery === 0) || epochDone || last)) {
        const r = await evaluate(net, dataset, 'test', evalBatchSize(config));
        const evalFailed = takeGpuFailure();
        if (evalFailed) {
          // Evaluation changes no weight: the state after this step is still sound, so it is saved.
          if (hooks.checkpointEvery !== undefined) await checkpoint(epochDone, batchIndex, epoch);
          throw gpuError(evalFailed, `evaluation after step ${step}`);
        }
        lastAcc = r.acc;
        bestAcc = Math.max(bestAcc, r.acc);
        hooks.onEval?.({ type: 'eval', step, epoch: epoch + batchIndex / stepsPerEpoch, loss: r.loss, acc: r.acc, time: elapsed() });
      }
      // Let the event loop breathe: stop requests and RPC messages arrive between steps.
      await new Promise((resolve) => setImmediate(resolve));
      const late = takeGpuFailure(); // one the device delivered only now
      if (late) throw gpuError(late, `training step ${step}`);
      stopped = hooks.signal?.aborted ?? false;
      if (hooks.checkpointEvery !== undefined) {
        const byClock = !!hooks.checkpointEverySec && clock() - lastCheckpointAt >= hooks.checkpointEverySec * 1000;
        if (step % hooks.checkpointEvery === 0 || epochDone || last || stopped || byClock) await checkpoint(epochDone, batchIndex, epoch);
      }
      if (stopped || last) break;
    }
  }
  return { steps: step, stopped: stopped && step < totalSteps, bestAcc, finalAcc: lastAcc, elapsedSec: elapsed() };
}
