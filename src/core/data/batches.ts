// Mini-batches: order, normalization and augmentation, all a pure function of
// (seed, epoch, batch index), so a resumed run replays exactly the batches it would have seen.
//
// Order: with shuffle, epoch e of seed s visits the split in the order of
//   new Rng(orderSeed(s, e), 'data-order').permutation(count),
// orderSeed(s, e) = (s · 1000003 + e) mod 2^32. Without shuffle: 0, 1, 2, …
// Normalization: x = (byte/255 − mean[c]) / std[c] per channel (through a 256-entry table).
// Augmentation (32×32 images only, see canAugment): per example, a random crop of the image
// zero-padded by 4 pixels on each side (offsets 0..8) and a horizontal flip with probability ½.
// Padding pixels are black before normalization, i.e. (0 − mean)/std. Batch b of an epoch draws
// from its own generator new Rng(orderSeed(s, e), `augment/${b}`), so skipping batches
// (startBatch) needs no replay.
import { Rng } from '../rpg/prng';
import type { Batch, Dataset, DatasetInfo, ImageSplit } from './types';

export type SplitName = 'train' | 'test';

export interface BatchOptions {
  readonly seed: number;
  readonly epoch: number;
  readonly shuffle: boolean;
  readonly augment: boolean;
  /** Drop a final batch smaller than batchSize (default false). */
  readonly dropLast?: boolean;
  /** Skip the first `startBatch` batches of the epoch (resume mid-epoch). */
  readonly startBatch?: number;
  /**
   * Reuse one pair of output arrays for all full batches (default false). The consumer must
   * be done with a batch (e.g. copied it into a tensor) before asking for the next one.
   */
  readonly reuseBuffers?: boolean;
}

export interface EvalBatchOptions {
  readonly startBatch?: number;
  readonly reuseBuffers?: boolean;
}

export const AUGMENT_PAD = 4;

/** The seed of an epoch's order and augmentation streams. */
export function orderSeed(seed: number, epoch: number): number {
  return ((Math.trunc(seed) >>> 0) * 1000003 + Math.trunc(epoch)) % 4294967296;
}

/** Whether `augment` does anything for these images (random crop + flip need 32×32). */
export function canAugment(info: Pick<DatasetInfo, 'height' | 'width'>): boolean {
  return info.height === 32 && info.width === 32;
}

/** Number of batches one pass yields. */
export function batchCount(count: number, batchSize: number, dropLast = false): number {
  if (!(batchSize >= 1)) throw new RangeError(`batchSize must be ≥ 1, got ${batchSize}`);
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/** Per-channel lookup: byte → normalized float. */
function normalizationTable(ds: Pick<Dataset, 'channels' | 'mean' | 'std'>): Float32Array {
  const table = new Float32Array(ds.channels * 256);
  for (let c = 0; c < ds.channels; c++) {
    const m = ds.mean[c] ?? 0;
    const s = ds.std[c] || 1;
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - m) / s;
  }
  return table;
}

function* generate(data: ImageSplit, ds: Dataset, batchSize: number, order: Int32Array | undefined, opts: { dropLast: boolean; startBatch: number; reuse: boolean; augmentSeed: number | undefined }): Generator<Batch> {
  const count = data.count;
  const n = batchCount(count, batchSize, opts.dropLast);
  const { height: H, width: W, channels: C } = ds;
  const imageSize = H * W * C;
  const table = normalizationTable(ds);
  const pixels = data.pixels;
  const labels = data.labels;
  let sharedX: Float32Array | undefined;
  let sharedY: Int32Array | undefined;
  // Normalized value of a black (zero) padding pixel, per channel.
  const padValue = Array.from({ length: C }, (_, c) => table[c * 256]!);
  for (let b = Math.max(0, Math.trunc(opts.startBatch)); b < n; b++) {
    const start = b * batchSize;
    const size = Math.min(batchSize, count - start);
    let x: Float32Array;
    let y: Int32Array;
    if (opts.reuse && size === batchSize) {
      x = sharedX ??= new Float32Array(batchSize * imageSize);
      y = sharedY ??= new Int32Array(batchSize);
    } else {
      x = new Float32Array(size * imageSize);
      y = new Int32Array(size);
    }
    const rng = opts.augmentSeed === undefined ? undefined : new Rng(opts.augmentSeed, `augment/${b}`);
    for (let i = 0; i < size; i++) {
      const idx = order ? order[start + i]! : start + i;
      y[i] = labels[idx]!;
      const src = idx * imageSize;
      const dst = i * imageSize;
      if (!rng) {
        if (C === 1) {
          for (let p = 0; p < imageSize; p++) x[dst + p] = table[pixels[src + p]!]!;
        } else {
          for (let p = 0; p < imageSize; p += C) {
            for (let c = 0; c < C; c++) x[dst + p + c] = table[c * 256 + pixels[src + p + c]!]!;
          }
        }
        continue;
      }
      // Crop offsets into the padded image: output (r, q) reads padded (r + dy, q + dx), i.e.
      // source (r + dy − pad, q + dx − pad); flip mirrors q first.
      const dy = rng.nextInt(2 * AUGMENT_PAD + 1) - AUGMENT_PAD;
      const dx = rng.nextInt(2 * AUGMENT_PAD + 1) - AUGMENT_PAD;
      const flip = (rng.nextUint32() & 1) === 1;
      for (let r = 0; r < H; r++) {
        const sr = r + dy;
        for (let q = 0; q < W; q++) {
          const sq = (flip ? W - 1 - q : q) + dx;
          const o = dst + (r * W + q) * C;
          if (sr < 0 || sr >= H || sq < 0 || sq >= W) {
            for (let c = 0; c < C; c++) x[o + c] = padValue[c]!;
          } else {
            const s = src + (sr * W + sq) * C;
            for (let c = 0; c < C; c++) x[o + c] = table[c * 256 + pixels[s + c]!]!;
          }
        }
      }
    }
    yield { x, y, size };
  }
}

/**
 * Batches of one pass over `split` ('train', 'test', or any split with ds's image shape; ds
 * supplies shape and normalization). Deterministic in (seed, epoch); `startBatch` skips batches
 * without changing the ones that follow. `augment` is ignored unless canAugment(ds).
 */
export function* batches(split: SplitName | ImageSplit, ds: Dataset, batchSize: number, opts: BatchOptions): Generator<Batch> {
  const data = typeof split === 'string' ? ds[split] : split;
  batchCount(data.count, batchSize);
  const s = orderSeed(opts.seed, opts.epoch);
  const order = opts.shuffle ? new Rng(s, 'data-order').permutation(data.count) : undefined;
  yield* generate(data, ds, batchSize, order, {
    dropLast: opts.dropLast ?? false,
    startBatch: opts.startBatch ?? 0,
    reuse: opts.reuseBuffers ?? false,
    augmentSeed: opts.augment && canAugment(ds) ? s : undefined,
  });
}

/** Batches in file order, no augmentation, last batch kept (for evaluation). */
export function* evalBatches(split: SplitName | ImageSplit, ds: Dataset, batchSize: number, opts: EvalBatchOptions = {}): Generator<Batch> {
  const data = typeof split === 'string' ? ds[split] : split;
  batchCount(data.count, batchSize);
  yield* generate(data, ds, batchSize, undefined, { dropLast: false, startBatch: opts.startBatch ?? 0, reuse: opts.reuseBuffers ?? false, augmentSeed: undefined });
}
