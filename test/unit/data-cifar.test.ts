import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CIFAR100_CLASSES, encodeCifarRecords } from '../../src/core/data/cifar';
import { DatasetError, describeDataset, loadDataset } from '../../src/core/data/index';

const root = mkdtempSync(path.join(os.tmpdir(), 'rpg-data-cifar-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** HWC image i: pixel (y, x, c) = (i + 3y + 5x + 70c) mod 256. */
function images(count: number, first = 0): Uint8Array {
  const out = new Uint8Array(count * 3072);
  for (let i = 0; i < count; i++) {
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) out[i * 3072 + (y * 32 + x) * 3 + c] = (first + i + 3 * y + 5 * x + 70 * c) % 256;
  }
  return out;
}

function makeCifar10(sub = ''): string {
  const dir = path.join(root, `c10-${++n}`);
  const files = path.join(dir, sub);
  mkdirSync(files, { recursive: true });
  for (let b = 1; b <= 5; b++) writeFileSync(path.join(files, `data_batch_${b}.bin`), encodeCifarRecords('cifar10', images(3, b * 10), [b, b + 1, b + 2].map((v) => v % 10)));
  writeFileSync(path.join(files, 'test_batch.bin'), encodeCifarRecords('cifar10', images(4, 100), [9, 8, 7, 6]));
  return dir;
}

function makeCifar100(sub = ''): string {
  const dir = path.join(root, `c100-${++n}`);
  const files = path.join(dir, sub);
  mkdirSync(files, { recursive: true });
  writeFileSync(path.join(files, 'train.bin'), encodeCifarRecords('cifar100', images(6), [0, 17, 42, 99, 5, 63], [0, 1, 2, 19, 3, 4]));
  writeFileSync(path.join(files, 'test.bin'), encodeCifarRecords('cifar100', images(2, 50), [98, 1], [18, 2]));
  return dir;
}

const rejectsWith = async (p: () => unknown, file: RegExp, reason: RegExp) =>
  assert.rejects(async () => p(), (e: unknown) => e instanceof DatasetError && file.test(e.file) && reason.test(e.reason) || assert.fail(`unexpected ${String(e)}`));

test('CIFAR-10: five batches + test batch, CHW → HWC, labels, names', async () => {
  const dir = makeCifar10();
  const ds = await loadDataset({ dataset: 'cifar10', path: dir }, '/');
  assert.deepEqual([ds.height, ds.width, ds.channels, ds.numClasses, ds.train.count, ds.test.count], [32, 32, 3, 10, 15, 4]);
  assert.deepEqual(Array.from(ds.train.labels.subarray(0, 6)), [1, 2, 3, 2, 3, 4]);
  assert.deepEqual(Array.from(ds.test.labels), [9, 8, 7, 6]);
  assert.deepEqual(ds.train.pixels, new Uint8Array(Buffer.concat([1, 2, 3, 4, 5].map((b) => images(3, b * 10)))));
  assert.deepEqual(ds.test.pixels, images(4, 100));
  assert.equal(ds.classNames?.[0], 'airplane');
  assert.equal(ds.mean.length, 3);
  assert.deepEqual(describeDataset({ dataset: 'cifar10', path: dir }, '/'), { height: 32, width: 32, channels: 3, numClasses: 10, trainCount: 15, testCount: 4 });
});

test('CIFAR-10: files in the cifar-10-batches-bin subfolder; trainSize', async () => {
  const dir = makeCifar10('cifar-10-batches-bin');
  const ds = await loadDataset({ dataset: 'cifar10', path: dir, trainSize: 4 }, '/');
  assert.equal(ds.train.count, 4);
  assert.equal(ds.train.pixels.length, 4 * 3072);
  assert.equal(describeDataset({ dataset: 'cifar10', path: dir, testSize: 1 }, '/').testCount, 1);
});

test('CIFAR-100: fine labels, 100 classes, subfolder', async () => {
  assert.equal(CIFAR100_CLASSES.length, 100);
  const dir = makeCifar100('cifar-100-binary');
  const ds = await loadDataset({ dataset: 'cifar100', path: dir }, '/');
  assert.equal(ds.numClasses, 100);
  assert.deepEqual(Array.from(ds.train.labels), [0, 17, 42, 99, 5, 63]);
  assert.deepEqual(ds.train.pixels, images(6));
  assert.equal(ds.classNames?.[99], 'worm');
  assert.deepEqual(describeDataset({ dataset: 'cifar100', path: dir }, '/'), { height: 32, width: 32, channels: 3, numClasses: 100, trainCount: 6, testCount: 2 });
});

test('CIFAR error: size not a multiple of the record', async () => {
  const dir = makeCifar10();
  writeFileSync(path.join(dir, 'data_batch_3.bin'), Buffer.alloc(3073 * 2 + 10));
  for (const f of [() => describeDataset({ dataset: 'cifar10', path: dir }, '/'), () => loadDataset({ dataset: 'cifar10', path: dir }, '/')]) {
    await rejectsWith(f, /data_batch_3\.bin$/, /wrong size: 6156 bytes is not a multiple of the 3073-byte record/);
  }
  const c100 = makeCifar100();
  writeFileSync(path.join(c100, 'test.bin'), Buffer.alloc(3073));
  await rejectsWith(() => describeDataset({ dataset: 'cifar100', path: c100 }, '/'), /test\.bin$/, /not a multiple of the 3074-byte record/);
});

test('CIFAR error: missing files', async () => {
  const dir = makeCifar10();
  unlinkSync(path.join(dir, 'data_batch_5.bin'));
  await rejectsWith(() => describeDataset({ dataset: 'cifar10', path: dir }, '/'), /data_batch_5\.bin$/, /missing file/);
  const empty = path.join(root, 'empty');
  mkdirSync(empty);
  await rejectsWith(() => loadDataset({ dataset: 'cifar100', path: empty }, '/'), /test\.bin$/, /missing file: found neither test\.bin nor cifar-100-binary\/test\.bin/);
});

test('CIFAR error: label out of range', async () => {
  const dir = makeCifar10();
  writeFileSync(path.join(dir, 'test_batch.bin'), encodeCifarRecords('cifar10', images(2), [3, 10]));
  await rejectsWith(() => loadDataset({ dataset: 'cifar10', path: dir }, '/'), /test_batch\.bin$/, /^label 10 of record 1 is out of range: expected 0\.\.9$/);
  const c100 = makeCifar100();
  writeFileSync(path.join(c100, 'train.bin'), encodeCifarRecords('cifar100', images(1), [100]));
  await rejectsWith(() => loadDataset({ dataset: 'cifar100', path: c100 }, '/'), /train\.bin$/, /label 100 of record 0 is out of range: expected 0\.\.99/);
});
