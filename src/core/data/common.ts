// Helpers shared by the dataset loaders: statistics, subsets, small file utilities.
import { promises as fsp, statSync } from 'node:fs';
import type { ImageSplit } from './types';

/** An in-memory split before any trainSize/testSize cut. */
export function makeSplit(pixels: Uint8Array, labels: Uint8Array | Uint16Array): ImageSplit {
  return { pixels, labels, count: labels.length };
}

/**
 * The first `limit` examples of a split (deterministic subset). The bytes are copied when the
 * split shrinks so the unused remainder can be garbage-collected.
 */
export function takeFirst(split: ImageSplit, limit: number | undefined, imageBytes: number): ImageSplit {
  if (limit === undefined || limit >= split.count) return split;
  const n = Math.max(0, Math.floor(limit));
  return {
    pixels: split.pixels.slice(0, n * imageBytes),
    labels: split.labels.slice(0, n),
    count: n,
  };
}

/**
 * Per-channel mean/std of the pixels scaled to [0,1]. NHWC bytes, so channel = index % channels.
 * Integer sums are exact in doubles for anything below ~10^11 pixels. A constant channel gets
 * std 1 so normalization never divides by zero.
 */
export function channelStats(pixels: Uint8Array, channels: number): { mean: number[]; std: number[] } {
  const sum = new Float64Array(channels);
  const sumSq = new Float64Array(channels);
  const n = pixels.length;
  if (channels === 1) {
    let s = 0;
    let q = 0;
    // Partial sums keep each accumulator exact and the loop monomorphic.
    for (let i = 0; i < n; i++) {
      const v = pixels[i]!;
      s += v;
      q += v * v;
    }
    sum[0] = s;
    sumSq[0] = q;
  } else {
    for (let i = 0; i < n; i += channels) {
      for (let c = 0; c < channels; c++) {
        const v = pixels[i + c]!;
        sum[c]! += v;
        sumSq[c]! += v * v;
      }
    }
  }
  const count = n / channels;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    if (count === 0) {
      mean.push(0);
      std.push(1);
      continue;
    }
    const m = sum[c]! / count / 255;
    const variance = sumSq[c]! / count / (255 * 255) - m * m;
    const s = Math.sqrt(Math.max(0, variance));
    mean.push(m);
    std.push(s > 1e-6 ? s : 1);
  }
  return { mean, std };
}

/** Size in bytes, or undefined when the path is not a readable regular file. */
export function fileSize(file: string): number | undefined {
  try {
    const st = statSync(file);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

export function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

export async function readFileBytes(file: string): Promise<Buffer> {
  return fsp.readFile(file);
}

/** Strictly positive integer limit or undefined. */
export function limitOf(v: number | undefined): number | undefined {
  return v === undefined || !Number.isFinite(v) ? undefined : Math.max(0, Math.floor(v));
}
