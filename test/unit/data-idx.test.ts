import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { digestBytes, FASHION_MNIST_RAW } from '../../src/core/data/checksums';
import { encodeIdx, readIdxHeader } from '../../src/core/data/idx';
import { DatasetError, describeDataset, loadDataset } from '../../src/core/data/index';

const root = mkdtempSync(path.join(os.tmpdir(), 'rpg-data-idx-'));
after(() => rmSync(root, { recursive: true, force: true }));

let dirCounter = 0;
interface Spec {
  trainN?: number;
  testN?: number;
  rows?: number;
  cols?: number;
  gzip?: boolean;
  /** Mutate a file's bytes before writing (name → bytes → bytes). */
  tamper?: Partial<Record<string, (b: Buffer) => Buffer>>;
  omit?: string[];
  labelValue?: (i: number) => number;
}

/** Writes a tiny IDX dataset; pixel value = (i*7 + p) % 256, label = i % 10. */
function makeIdx(spec: Spec = {}): string {
  const dir = path.join(root, `d${++dirCounter}`);
  mkdirSync(dir);
  const rows = spec.rows ?? 4;
  const cols = spec.cols ?? 3;
  const files: Record<string, Buffer> = {};
  for (const [prefix, n] of [['train', spec.trainN ?? 12], ['t10k', spec.testN ?? 5]] as const) {
    const px = new Uint8Array(n * rows * cols).map((_, k) => (Math.floor(k / (rows * cols)) * 7 + (k % (rows * cols))) % 256);
    const lb = new Uint8Array(n).map((_, i) => (spec.labelValue ? spec.labelValue(i) : i % 10));
    files[`${prefix}-images-idx3-ubyte`] = encodeIdx('images', px, n, rows, cols);
    files[`${prefix}-labels-idx1-ubyte`] = encodeIdx('labels', lb, n);
  }
  for (const [name, bytes0] of Object.entries(files)) {
    if (spec.omit?.includes(name)) continue;
    let bytes = bytes0;
    const t = spec.tamper?.[name];
    if (t) bytes = t(bytes);
    if (spec.gzip) writeFileSync(path.join(dir, `${name}.gz`), gzipSync(bytes));
    else writeFileSync(path.join(dir, name), bytes);
  }
  return dir;
}

async function expectError(dir: string, file: RegExp, reason: RegExp): Promise<void> {
  for (const attempt of [() => describeDataset({ dataset: 'mnist', path: dir }, '/'), () => loadDataset({ dataset: 'mnist', path: dir }, '/')]) {
    await assert.rejects(
      async () => attempt(),
      (e: unknown) => {
        assert.ok(e instanceof DatasetError, `expected DatasetError, got ${String(e)}`);
        assert.match(e.file, file);
        assert.match(e.reason, reason);
        return true;
      },
    );
  }
}

for (const gzip of [false, true]) {
  test(`IDX ${gzip ? 'gzip' : 'raw'}: reads images, labels, shape, counts`, async () => {
    const dir = makeIdx({ gzip });
    const ds = await loadDataset({ dataset: 'mnist', path: dir }, '/');
    assert.deepEqual([ds.height, ds.width, ds.channels, ds.numClasses, ds.train.count, ds.test.count], [4, 3, 1, 10, 12, 5]);
    assert.deepEqual(Array.from(ds.train.labels), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    assert.equal(ds.train.pixels[12 * 2 + 5], (2 * 7 + 5) % 256);
    assert.equal(ds.classNames?.length, 10);
    assert.deepEqual(describeDataset({ dataset: 'mnist', path: dir }, '/'), { height: 4, width: 3, channels: 1, numClasses: 10, trainCount: 12, testCount: 5 });
    const h = readIdxHeader(path.join(dir, `train-images-idx3-ubyte${gzip ? '.gz' : ''}`), 'images');
    assert.deepEqual([h.count, h.rows, h.cols, h.gzip], [12, 4, 3, gzip]);
  });
}

test('IDX: path is relative to the config folder; trainSize/testSize take first N', async () => {
  const dir = makeIdx();
  const ds = await loadDataset({ dataset: 'fashion-mnist', path: path.basename(dir), trainSize: 3, testSize: 100 }, root);
  assert.equal(ds.name, 'fashion-mnist');
  assert.equal(ds.classNames?.[9], 'Ankle boot');
  assert.equal(ds.train.count, 3);
  assert.equal(ds.train.pixels.length, 3 * 12);
  assert.equal(ds.test.count, 5);
  assert.deepEqual(describeDataset({ dataset: 'fashion-mnist', path: path.basename(dir), trainSize: 3 }, root).trainCount, 3);
  // mean/std over the kept pixels
  let sum = 0;
  for (const v of ds.train.pixels) sum += v / 255;
  assert.ok(Math.abs(ds.mean[0]! - sum / ds.train.pixels.length) < 1e-12);
});

test('IDX: torchvision layout (MNIST/raw) and Kaggle names are found', async () => {
  const dir = makeIdx();
  const nested = path.join(root, `nested${++dirCounter}`);
  mkdirSync(path.join(nested, 'MNIST', 'raw'), { recursive: true });
  for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    const target = name.startsWith('train-images') ? 'train-images.idx3-ubyte' : name;
    writeFileSync(path.join(nested, 'MNIST', 'raw', target), readFileSync(path.join(dir, name)));
  }
  assert.equal(describeDataset({ dataset: 'mnist', path: nested }, '/').trainCount, 12);
});

test('IDX error: missing file', async () => {
  await expectError(makeIdx({ omit: ['t10k-labels-idx1-ubyte'] }), /t10k-labels-idx1-ubyte$/, /missing file: found neither t10k-labels-idx1-ubyte nor t10k-labels-idx1-ubyte\.gz/);
});

test('IDX error: missing folder and missing data.path', async () => {
  await expectError(path.join(root, 'does-not-exist'), /does-not-exist$/, /folder not found/);
  assert.throws(() => describeDataset({ dataset: 'mnist' }, root), (e: unknown) => e instanceof DatasetError && /needs data\.path/.test(e.reason));
});

test('IDX error: wrong magic number (labels where images belong)', async () => {
  const dir = makeIdx({ tamper: { 'train-images-idx3-ubyte': () => encodeIdx('labels', new Uint8Array(12), 12) } });
  await expectError(dir, /train-images-idx3-ubyte$/, /wrong magic number 2049 \(an IDX label file\): expected 2051/);
  const gz = makeIdx({ gzip: true, tamper: { 't10k-labels-idx1-ubyte': (b) => (b.writeUInt32BE(0x12345678, 0), b) } });
  await expectError(gz, /t10k-labels-idx1-ubyte\.gz$/, /wrong magic number 305419896 \(0x12345678\): expected 2049/);
});

for (const gzip of [false, true]) {
  test(`IDX error: truncated ${gzip ? 'gzip' : 'raw'} file`, async () => {
    const dir = makeIdx({ gzip, tamper: { 'train-images-idx3-ubyte': (b) => b.subarray(0, b.length - 7) } });
    await expectError(dir, /train-images-idx3-ubyte/, /truncated: the header announces 12 images of 4×3 \(160 bytes\) but the file has 153 bytes/);
  });
}

test('IDX error: cut-off .gz download', async () => {
  const dir = makeIdx({ gzip: true });
  const file = path.join(dir, 'train-images-idx3-ubyte.gz');
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, bytes.length - 10));
  await assert.rejects(loadDataset({ dataset: 'mnist', path: dir }, '/'), (e: unknown) => e instanceof DatasetError && /truncated gzip stream/.test(e.reason));
});

test('IDX error: trailing bytes', async () => {
  const dir = makeIdx({ tamper: { 'train-labels-idx1-ubyte': (b) => Buffer.concat([b, Buffer.alloc(3)]) } });
  await expectError(dir, /train-labels-idx1-ubyte$/, /3 unexpected bytes after the 12 labels/);
});

test('IDX error: label / image count mismatch', async () => {
  const dir = makeIdx({ tamper: { 'train-labels-idx1-ubyte': () => encodeIdx('labels', new Uint8Array(11), 11) } });
  await expectError(dir, /train-labels-idx1-ubyte$/, /count mismatch: 11 labels but 12 images in train-images-idx3-ubyte/);
});

test('IDX error: wrong dimensions (zero, and train/test disagree)', async () => {
  const zero = makeIdx({ tamper: { 'train-images-idx3-ubyte': () => encodeIdx('images', new Uint8Array(0), 12, 0, 3) } });
  await expectError(zero, /train-images-idx3-ubyte$/, /wrong dimensions 0×3/);
  const other = makeIdx({ tamper: { 't10k-images-idx3-ubyte': () => encodeIdx('images', new Uint8Array(5 * 25), 5, 5, 5) } });
  await expectError(other, /t10k-images-idx3-ubyte$/, /wrong dimensions: test images are 5×5 but training images are 4×3/);
});

test('IDX error: label out of range (load only; describe reads headers)', async () => {
  const dir = makeIdx({ labelValue: (i) => (i === 7 ? 10 : 1) });
  assert.equal(describeDataset({ dataset: 'mnist', path: dir }, '/').numClasses, 10);
  await assert.rejects(loadDataset({ dataset: 'mnist', path: dir }, '/'), (e: unknown) => e instanceof DatasetError && /train-labels-idx1-ubyte$/.test(e.file) && e.reason === 'label 10 at index 7 is out of range: expected 0..9');
});

test('describe notices a replaced file (cache keyed on mtime/size)', () => {
  const dir = makeIdx();
  assert.equal(describeDataset({ dataset: 'mnist', path: dir }, '/').trainCount, 12);
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx('labels', new Uint8Array(11), 11));
  assert.throws(() => describeDataset({ dataset: 'mnist', path: dir }, '/'), /count mismatch/);
});

const FASHION = '/usr/share/datasets/fashion-mnist';
test('real Fashion-MNIST from the Debian package dataset-fashion-mnist', { skip: existsSync(FASHION) ? false : `${FASHION} absent (apt-get install dataset-fashion-mnist)` }, async () => {
  assert.deepEqual(describeDataset({ dataset: 'fashion-mnist', path: FASHION }, '/'), { height: 28, width: 28, channels: 1, numClasses: 10, trainCount: 60000, testCount: 10000 });
  const ds = await loadDataset({ dataset: 'fashion-mnist', path: FASHION }, '/');
  assert.equal(ds.train.count, 60000);
  assert.equal(ds.test.count, 10000);
  const perClass = new Array<number>(10).fill(0);
  for (const l of ds.train.labels) perClass[l]!++;
  assert.deepEqual(perClass, new Array(10).fill(6000));
  // The published normalization constants of Fashion-MNIST.
  assert.ok(Math.abs(ds.mean[0]! - 0.2860) < 1e-3, `mean ${ds.mean[0]}`);
  assert.ok(Math.abs(ds.std[0]! - 0.3530) < 1e-3, `std ${ds.std[0]}`);
  // Decompressed contents match the checksum table.
  for (const [name, sum] of Object.entries(FASHION_MNIST_RAW)) {
    const raw = gunzipSync(readFileSync(path.join(FASHION, `${name}.gz`)));
    const d = digestBytes(raw);
    assert.equal(raw.length, sum.size);
    assert.equal(d.sha256, sum.sha256, name);
    assert.equal(d.md5, sum.md5, name);
  }
});
