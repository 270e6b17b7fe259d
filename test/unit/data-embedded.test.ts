import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EMBEDDED_MNIST, loadEmbeddedMnist } from '../../src/core/data/embedded-mnist';
import { describeDataset, loadDataset } from '../../src/core/data/index';

const counts = (labels: ArrayLike<number>) => {
  const c = new Array<number>(10).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]!]!++;
  return c;
};
const hash = (a: NodeJS.ArrayBufferView) => createHash('sha256').update(a).digest('hex');

test('embedded MNIST: fixed 8,000 / 2,000 split of 10,000 real digits', async () => {
  const ds = await loadDataset({ dataset: 'mnist-embedded' }, '/nowhere');
  assert.equal(ds.name, 'mnist-embedded');
  assert.deepEqual([ds.height, ds.width, ds.channels, ds.numClasses], [28, 28, 1, 10]);
  assert.equal(ds.train.count, 8000);
  assert.equal(ds.test.count, 2000);
  assert.equal(ds.train.pixels.length, 8000 * 784);
  assert.equal(ds.test.pixels.length, 2000 * 784);
  // All digits of the package, split without loss.
  const all = counts(ds.train.labels).map((n, d) => n + counts(ds.test.labels)[d]!);
  assert.deepEqual(all, [...EMBEDDED_MNIST.perDigit]);
  // The exact per-class counts of the fixed split (Rng(0, 'mnist-embedded-split')).
  assert.deepEqual(counts(ds.train.labels), [816, 899, 776, 817, 776, 711, 827, 859, 745, 774]);
  assert.deepEqual(counts(ds.test.labels), [185, 228, 215, 215, 204, 152, 187, 211, 199, 204]);
  // Real MNIST statistics (mean ≈ 0.13, std ≈ 0.31).
  assert.ok(Math.abs(ds.mean[0]! - 0.131) < 0.01, `mean ${ds.mean[0]}`);
  assert.ok(Math.abs(ds.std[0]! - 0.309) < 0.01, `std ${ds.std[0]}`);
});

test('embedded MNIST: class balance — every class has 7–11 % of each split', async () => {
  const { train, test: testSplit } = await loadEmbeddedMnist();
  for (const split of [train, testSplit]) {
    for (const n of counts(split.labels)) assert.ok(n / split.count > 0.07 && n / split.count < 0.12, `${n} of ${split.count}`);
  }
});

test('embedded MNIST: split is independent of the run and stable', async () => {
  const a = await loadEmbeddedMnist();
  const fresh = await loadDataset({ dataset: 'mnist-embedded', trainSize: 100, testSize: 50 }, '/');
  // first-N subsets are prefixes of the fixed split
  assert.equal(fresh.train.count, 100);
  assert.equal(fresh.test.count, 50);
  assert.deepEqual(fresh.train.pixels, a.train.pixels.subarray(0, 100 * 784));
  assert.deepEqual(fresh.test.labels, a.test.labels.subarray(0, 50));
  // Pinned content: the first test labels and a digest of the test pixels never change.
  assert.deepEqual(Array.from(a.test.labels.subarray(0, 12)), [2, 5, 4, 7, 7, 6, 6, 5, 4, 3, 9, 0]);
  assert.equal(hash(a.test.pixels), '8333308acfb52bef848bf1896b7be13e5f2edcdec72d8abcb10ee14a3874eb29');
  assert.equal(hash(a.train.labels), '917c0bebea1a60652cbd7d723b550df57e8c805d3d82faca2c9102722bdd529b');
  // Pixels are bytes converted with round(v·255).
  let max = 0;
  for (const v of a.train.pixels.subarray(0, 784 * 10)) max = Math.max(max, v);
  assert.equal(max, 255);
});

test('embedded MNIST: describe is constant and honours trainSize/testSize', () => {
  const t0 = process.hrtime.bigint();
  const info = describeDataset({ dataset: 'mnist-embedded' }, '/');
  assert.ok(Number(process.hrtime.bigint() - t0) < 5e6, 'describe must not load the digits');
  assert.deepEqual(info, { height: 28, width: 28, channels: 1, numClasses: 10, trainCount: 8000, testCount: 2000 });
  assert.deepEqual(describeDataset({ dataset: 'mnist-embedded', trainSize: 500, testSize: 5000 }, '/'), { height: 28, width: 28, channels: 1, numClasses: 10, trainCount: 500, testCount: 2000 });
});
