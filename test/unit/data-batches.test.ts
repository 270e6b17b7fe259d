import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchCount, batches, canAugment, evalBatches } from '../../src/core/data/batches';
import { channelStats } from '../../src/core/data/common';
import type { Batch, Dataset } from '../../src/core/data/types';
import { Rng } from '../../src/core/rpg/prng';

function synthetic(count: number, h: number, w: number, c: number, seed = 3): Dataset {
  const rng = new Rng(seed, 'test-pixels');
  const pixels = new Uint8Array(count * h * w * c);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (rng.nextUint32() % 200) + ((i % c) * 25);
  const labels = new Uint8Array(count).map((_, i) => i % 10);
  const { mean, std } = channelStats(pixels, c);
  const split = { pixels, labels, count };
  return { name: 'synthetic', height: h, width: w, channels: c, numClasses: 10, mean, std, train: split, test: { pixels: pixels.slice(0, 10 * h * w * c), labels: labels.slice(0, 10), count: 10 } };
}

const cifarLike = synthetic(103, 32, 32, 3);
const digits = synthetic(50, 28, 28, 1);
const opts = { seed: 7, epoch: 0, shuffle: true, augment: false };
const collect = (g: Iterable<Batch>) => Array.from(g, (b) => ({ x: Array.from(b.x), y: Array.from(b.y), size: b.size }));

test('batches: sizes, dropLast, count helper', () => {
  const all = collect(batches('train', cifarLike, 10, opts));
  assert.deepEqual(all.map((b) => b.size), [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3]);
  assert.equal(collect(batches('train', cifarLike, 10, { ...opts, dropLast: true })).length, 10);
  assert.equal(batchCount(103, 10), 11);
  assert.equal(batchCount(103, 10, true), 10);
  assert.throws(() => batchCount(5, 0), RangeError);
  // a permutation: every example exactly once
  const seen = all.flatMap((b) => b.y);
  assert.equal(seen.length, 103);
});

test('batches: same seed+epoch → identical; other epoch or seed → different order', () => {
  const a = collect(batches('train', digits, 8, opts));
  const b = collect(batches('train', digits, 8, opts));
  assert.deepEqual(a, b);
  const e1 = collect(batches('train', digits, 8, { ...opts, epoch: 1 }));
  assert.notDeepEqual(a.map((x) => x.y), e1.map((x) => x.y));
  const s2 = collect(batches('train', digits, 8, { ...opts, seed: 8 }));
  assert.notDeepEqual(a.map((x) => x.y), s2.map((x) => x.y));
  // No shuffle: file order.
  const plain = collect(batches('train', digits, 50, { ...opts, shuffle: false }));
  assert.deepEqual(plain[0]!.y, Array.from(digits.train.labels));
});

test('batches: resume via startBatch equals continuing (with augmentation)', () => {
  for (const augment of [false, true]) {
    const o = { ...opts, epoch: 3, augment };
    const full = collect(batches('train', cifarLike, 16, o));
    const resumed = collect(batches('train', cifarLike, 16, { ...o, startBatch: 4 }));
    assert.equal(resumed.length, full.length - 4);
    assert.deepEqual(resumed, full.slice(4));
  }
  assert.equal(collect(batches('train', cifarLike, 16, { ...opts, startBatch: 99 })).length, 0);
});

test('batches: normalization gives mean ≈ 0, std ≈ 1 per channel', () => {
  for (const ds of [cifarLike, digits]) {
    const C = ds.channels;
    const sum = new Array<number>(C).fill(0);
    const sq = new Array<number>(C).fill(0);
    let n = 0;
    for (const b of evalBatches('train', ds, 32)) {
      for (let i = 0; i < b.x.length; i++) {
        sum[i % C]! += b.x[i]!;
        sq[i % C]! += b.x[i]! ** 2;
      }
      n += b.x.length / C;
    }
    for (let c = 0; c < C; c++) {
      assert.ok(Math.abs(sum[c]! / n) < 1e-4, `mean ${sum[c]! / n}`);
      assert.ok(Math.abs(sq[c]! / n - 1) < 1e-3, `var ${sq[c]! / n}`);
    }
  }
});

test('evalBatches: file order, no augmentation, keeps the last batch, startBatch', () => {
  const ev = collect(evalBatches('test', cifarLike, 4));
  assert.deepEqual(ev.map((b) => b.size), [4, 4, 2]);
  assert.deepEqual(ev.flatMap((b) => b.y), Array.from(cifarLike.test.labels));
  assert.deepEqual(collect(evalBatches('test', cifarLike, 4, { startBatch: 1 })), ev.slice(1));
  const first = cifarLike.test.pixels[0]!;
  assert.ok(Math.abs(ev[0]!.x[0]! - (first / 255 - cifarLike.mean[0]!) / cifarLike.std[0]!) < 1e-6);
});

test('augmentation: changes pixels, deterministically per seed+epoch, keeps labels', () => {
  assert.equal(canAugment(cifarLike), true);
  assert.equal(canAugment(digits), false);
  const plain = collect(batches('train', cifarLike, 20, opts));
  const aug = collect(batches('train', cifarLike, 20, { ...opts, augment: true }));
  const again = collect(batches('train', cifarLike, 20, { ...opts, augment: true }));
  assert.deepEqual(aug, again);
  assert.deepEqual(aug.map((b) => b.y), plain.map((b) => b.y));
  assert.notDeepEqual(aug[0]!.x, plain[0]!.x);
  const other = collect(batches('train', cifarLike, 20, { ...opts, epoch: 1, augment: true }));
  assert.notDeepEqual(other[0]!.x, aug[0]!.x);
  // Crops that reach into the zero padding show black's normalized value.
  const pad = (0 - cifarLike.mean[0]!) / cifarLike.std[0]!;
  let padded = 0;
  for (let i = 0; i < aug[0]!.x.length; i += 3) if (Math.abs(aug[0]!.x[i]! - pad) < 1e-6) padded++;
  assert.ok(padded > 0, 'some crops reach into the zero padding');
  // Augmentation is ignored for images it does not fit (28×28 digits).
  assert.deepEqual(collect(batches('train', digits, 10, { ...opts, augment: true })), collect(batches('train', digits, 10, opts)));
});

test('augmentation: every image is a 4-pixel-padded crop, optionally mirrored', () => {
  const ds = synthetic(16, 32, 32, 3, 11);
  const plain = collect(evalBatches('train', ds, 16))[0]!;
  const aug = collect(batches('train', ds, 16, { seed: 1, epoch: 0, shuffle: false, augment: true }))[0]!;
  const pad = [0, 1, 2].map((c) => (0 - ds.mean[c]!) / ds.std[c]!);
  const transform = (src: number[], dy: number, dx: number, flip: boolean) => {
    const out = new Array<number>(3072);
    for (let r = 0; r < 32; r++) {
      for (let q = 0; q < 32; q++) {
        const sr = r + dy;
        const sq = (flip ? 31 - q : q) + dx;
        for (let c = 0; c < 3; c++) out[(r * 32 + q) * 3 + c] = sr < 0 || sr > 31 || sq < 0 || sq > 31 ? pad[c]! : src[(sr * 32 + sq) * 3 + c]!;
      }
    }
    return out;
  };
  const seen = new Set<string>();
  for (let i = 0; i < 16; i++) {
    const src = plain.x.slice(i * 3072, (i + 1) * 3072);
    const got = aug.x.slice(i * 3072, (i + 1) * 3072);
    let match: string | undefined;
    for (let dy = -4; dy <= 4 && !match; dy++) {
      for (let dx = -4; dx <= 4 && !match; dx++) {
        for (const flip of [false, true]) {
          if (transform(src, dy, dx, flip).every((v, k) => Math.abs(v - got[k]!) < 1e-6)) match = `${dy},${dx},${flip}`;
        }
      }
    }
    assert.ok(match, `augmented image ${i} is not a padded crop/flip of its source`);
    seen.add(match);
  }
  assert.ok(seen.size > 8, 'crops vary between images');
});

test('reuseBuffers shares the arrays of full batches', () => {
  const it = batches('train', digits, 16, { ...opts, reuseBuffers: true });
  const a = it.next().value as Batch;
  const b = it.next().value as Batch;
  assert.equal(a.x, b.x);
  const tail = Array.from(batches('train', digits, 16, { ...opts, reuseBuffers: true })).pop()!;
  assert.equal(tail.size, 2);
});
