import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { planImageFolder, resizeToRgb, testCountFor } from '../../src/core/data/image-folder';
import { DatasetError, describeDataset, loadDataset } from '../../src/core/data/index';

const root = mkdtempSync(path.join(os.tmpdir(), 'rpg-data-imgf-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function png(w: number, h: number, rgb: [number, number, number], opts: { grey?: boolean } = {}): Buffer {
  const img = new PNG({ width: w, height: h, colorType: opts.grey ? 0 : 6, inputColorType: 6 });
  for (let i = 0; i < w * h; i++) img.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  return PNG.sync.write(img, opts.grey ? { colorType: 0, inputColorType: 6 } : {});
}

function jpg(w: number, h: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  return jpeg.encode({ width: w, height: h, data }, 95).data;
}

const COLORS: Record<string, [number, number, number]> = { cat: [200, 30, 30], dog: [30, 200, 30], bird: [30, 30, 200] };

/** cat: 5 PNGs, dog: 5 JPEGs, bird: 4 grey PNGs (+ a README the scan must ignore). */
function makeFolder(): string {
  const dir = path.join(root, `f${++n}`);
  for (const cls of Object.keys(COLORS)) mkdirSync(path.join(dir, cls), { recursive: true });
  for (let i = 0; i < 5; i++) writeFileSync(path.join(dir, 'cat', `c${i}.png`), png(8 + i, 6, COLORS.cat!));
  for (let i = 0; i < 5; i++) writeFileSync(path.join(dir, 'dog', `d${i}.JPG`), jpg(10, 10 + i, COLORS.dog!));
  for (let i = 0; i < 4; i++) writeFileSync(path.join(dir, 'bird', `b${i}.png`), png(5, 5, [90, 90, 90], { grey: true }));
  writeFileSync(path.join(dir, 'dog', 'README.txt'), 'not an image');
  return dir;
}

test('image folder: sorted classes, 20 % test per class, RGB at imageSize', async () => {
  const dir = makeFolder();
  const ds = await loadDataset({ dataset: 'image-folder', path: dir, imageSize: 8 }, '/');
  assert.deepEqual(ds.classNames, ['bird', 'cat', 'dog']);
  assert.deepEqual([ds.height, ds.width, ds.channels, ds.numClasses], [8, 8, 3, 3]);
  // round(0.2·5) = 1, round(0.2·4) = 1
  assert.equal(ds.test.count, 3);
  assert.equal(ds.train.count, 11);
  assert.equal(ds.train.pixels.length, 11 * 8 * 8 * 3);
  const perClass = [0, 0, 0];
  for (const l of ds.test.labels) perClass[l]!++;
  assert.deepEqual(perClass, [1, 1, 1]);
  // Every image is its flat colour (grey expanded to 3 channels; JPEG within a few levels).
  for (const split of [ds.train, ds.test]) {
    for (let i = 0; i < split.count; i++) {
      const want = [[90, 90, 90], COLORS.cat!, COLORS.dog!][split.labels[i]!]!;
      for (let p = 0; p < 64; p++) {
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(split.pixels[(i * 64 + p) * 3 + c]! - want[c]!) <= 4, `image ${i} pixel ${p}`);
      }
    }
  }
  assert.deepEqual(describeDataset({ dataset: 'image-folder', path: dir, imageSize: 8 }, '/'), { height: 8, width: 8, channels: 3, numClasses: 3, trainCount: 11, testCount: 3 });
  assert.equal(describeDataset({ dataset: 'image-folder', path: dir }, '/').height, 32);
});

test('image folder: split is deterministic and independent of the folder location', () => {
  const a = planImageFolder(makeFolder());
  const b = planImageFolder(makeFolder());
  const rel = (xs: { file: string; label: number }[]) => xs.map((x) => `${x.label}:${path.basename(x.file)}`);
  assert.deepEqual(rel(a.train), rel(b.train));
  assert.deepEqual(rel(a.test), rel(b.test));
  assert.deepEqual([testCountFor(1), testCountFor(2), testCountFor(5), testCountFor(10), testCountFor(13)], [0, 1, 1, 2, 3]);
});

test('image folder: trainSize decodes only the first N', async () => {
  const ds = await loadDataset({ dataset: 'image-folder', path: makeFolder(), imageSize: 4, trainSize: 2, testSize: 1 }, '/');
  assert.equal(ds.train.count, 2);
  assert.equal(ds.test.count, 1);
});

test('image folder: explicit train/ and test/ folders are used as given', async () => {
  const dir = path.join(root, `explicit${++n}`);
  for (const [split, count] of [['train', 3], ['test', 2]] as const) {
    for (const cls of ['a', 'b']) {
      mkdirSync(path.join(dir, split, cls), { recursive: true });
      for (let i = 0; i < count; i++) writeFileSync(path.join(dir, split, cls, `${i}.png`), png(4, 4, [i, 0, 0]));
    }
  }
  const info = describeDataset({ dataset: 'image-folder', path: dir, imageSize: 4 }, '/');
  assert.deepEqual([info.numClasses, info.trainCount, info.testCount], [2, 6, 4]);
});

test('bilinear resize: 2×2 → 4×4 interpolates with pixel centres', () => {
  const src = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 255, 100, 100, 100, 255]) };
  const out = new Uint8Array(4 * 4 * 3);
  resizeToRgb(src, 4, out, 0);
  // x centres map to 0.25·2−0.5 … : -0.25→0 (clamped), 0.25, 0.75, 1.25→1 (clamped)
  assert.deepEqual(Array.from({ length: 4 }, (_, x) => out[x * 3]), [0, 25, 75, 100]);
});

test('image folder errors: missing folder, no classes, empty class, undecodable image', async () => {
  const isErr = (reason: RegExp) => (e: unknown) => e instanceof DatasetError && reason.test(e.reason);
  assert.throws(() => describeDataset({ dataset: 'image-folder', path: path.join(root, 'nope') }, '/'), isErr(/folder not found/));
  const empty = path.join(root, `empty${++n}`);
  mkdirSync(empty);
  assert.throws(() => describeDataset({ dataset: 'image-folder', path: empty }, '/'), isErr(/no class sub-folders/));
  mkdirSync(path.join(empty, 'zebra'));
  assert.throws(() => describeDataset({ dataset: 'image-folder', path: empty }, '/'), isErr(/class folder has no PNG\/JPEG images/));
  const bad = makeFolder();
  writeFileSync(path.join(bad, 'cat', 'c9.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('this is not a png')]));
  await assert.rejects(loadDataset({ dataset: 'image-folder', path: bad, imageSize: 4 }, '/'), (e: unknown) => e instanceof DatasetError && /c9\.png$/.test(e.file) && /cannot decode PNG/.test(e.reason));
});
