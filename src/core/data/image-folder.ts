// A folder with one sub-folder of PNG/JPEG images per class:
//   <path>/<class name>/*.png|*.jpg|*.jpeg
// Class names are the sub-folder names sorted by code unit (so label indices are stable).
// If <path> instead holds `train/` and `test/` folders that each contain class sub-folders,
// that split is used as given; otherwise every class is split deterministically: the class's
// files are sorted by name, shuffled with `new Rng(0, 'image-folder-split')` (one generator,
// classes in sorted order) and the first round(20%) go to the test split (at least one when
// a class has ≥ 2 images). Each split is then shuffled with the same generator so that
// trainSize/testSize first-N subsets cover all classes.
//
// Decoding: pure-JS `pngjs` and `jpeg-js`. Every image becomes RGB (grey expanded, alpha
// dropped) and is resized to imageSize × imageSize (default 32) with bilinear interpolation
// using pixel centres (align_corners = false), without preserving the aspect ratio.
import { readdirSync, statSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { Rng } from '../rpg/prng';
import { DatasetError, ImageSplit } from './types';

export const DEFAULT_IMAGE_SIZE = 32;
export const IMAGE_FOLDER_TEST_FRACTION = 0.2;
const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

function listDirs(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError(dir, code === 'ENOENT' ? 'folder not found' : code === 'ENOTDIR' ? 'not a folder' : `cannot list: ${code ?? (e as Error).message}`);
  }
  return names
    .filter((n) => !n.startsWith('.'))
    .filter((n) => {
      try {
        return statSync(path.join(dir, n)).isDirectory();
      } catch {
        return false;
      }
    })
    .sort();
}

function listImages(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && IMAGE_EXT.has(path.extname(n).toLowerCase()))
    .sort();
}

interface ClassFiles {
  readonly name: string;
  readonly files: string[];
}

function scanClasses(root: string): ClassFiles[] {
  const classes = listDirs(root).map((name) => ({ name, files: listImages(path.join(root, name)).map((f) => path.join(root, name, f)) }));
  if (classes.length === 0) throw new DatasetError(root, 'no class sub-folders: expected one folder of PNG/JPEG images per class');
  for (const c of classes) {
    if (c.files.length === 0) throw new DatasetError(path.join(root, c.name), 'class folder has no PNG/JPEG images (.png, .jpg, .jpeg)');
  }
  return classes;
}

export interface ImageFolderPlan {
  readonly classNames: string[];
  readonly train: { file: string; label: number }[];
  readonly test: { file: string; label: number }[];
  /** Whether the folder had explicit train/ and test/ folders. */
  readonly explicitSplit: boolean;
}

function hasExplicitSplit(root: string): boolean {
  const dirs = listDirs(root);
  if (!dirs.includes('train') || !dirs.includes('test')) return false;
  return listDirs(path.join(root, 'train')).length > 0 && listDirs(path.join(root, 'test')).length > 0;
}

/** Test count of a class of n images under the automatic split. */
export function testCountFor(n: number): number {
  const t = Math.round(n * IMAGE_FOLDER_TEST_FRACTION);
  return n >= 2 ? Math.min(n - 1, Math.max(1, t)) : 0;
}

/** Lists files and decides the split; reads directories only (cheap enough for describe). */
export function planImageFolder(root: string): ImageFolderPlan {
  const rng = new Rng(0, 'image-folder-split');
  if (hasExplicitSplit(root)) {
    const train = scanClasses(path.join(root, 'train'));
    const test = scanClasses(path.join(root, 'test'));
    const names = train.map((c) => c.name);
    const index = new Map(names.map((n, i) => [n, i]));
    for (const c of test) {
      if (!index.has(c.name)) throw new DatasetError(path.join(root, 'test', c.name), `class "${c.name}" has no folder in ${path.join(root, 'train')}`);
    }
    const flat = (cs: ClassFiles[]) => cs.flatMap((c) => c.files.map((file) => ({ file, label: index.get(c.name)! })));
    return { classNames: names, train: shuffled(rng, flat(train)), test: shuffled(rng, flat(test)), explicitSplit: true };
  }
  const classes = scanClasses(root);
  const train: { file: string; label: number }[] = [];
  const test: { file: string; label: number }[] = [];
  classes.forEach((c, label) => {
    const order = rng.permutation(c.files.length);
    const nTest = testCountFor(c.files.length);
    for (let i = 0; i < order.length; i++) (i < nTest ? test : train).push({ file: c.files[order[i]!]!, label });
  });
  return { classNames: classes.map((c) => c.name), train: shuffled(rng, train), test: shuffled(rng, test), explicitSplit: false };
}

function shuffled<T>(rng: Rng, items: T[]): T[] {
  const order = rng.permutation(items.length);
  return Array.from(order, (i) => items[i]!);
}

interface Rgba {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Decodes a PNG or JPEG (by signature, not by extension) to RGBA. */
export function decodeImage(file: string, bytes: Uint8Array): Rgba {
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, data: png.data };
    }
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (e) {
    throw new DatasetError(file, `cannot decode ${isPng ? 'PNG' : 'JPEG'}: ${(e as Error).message}`);
  }
  throw new DatasetError(file, 'not a PNG or JPEG file');
}

/**
 * Bilinear resize of RGBA to `size`×`size` RGB, written at `out[offset..]`. Source coordinates
 * of output pixel (x, y): ((x + 0.5)·w/size − 0.5, (y + 0.5)·h/size − 0.5), clamped to the edge.
 */
export function resizeToRgb(img: Rgba, size: number, out: Uint8Array, offset: number): void {
  const { width: w, height: h, data } = img;
  const sx = w / size;
  const sy = h / size;
  for (let y = 0; y < size; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    const y0 = Math.min(h - 1, Math.floor(fy));
    const y1 = Math.min(h - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < size; x++) {
      let fx = (x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      const x0 = Math.min(w - 1, Math.floor(fx));
      const x1 = Math.min(w - 1, x0 + 1);
      const wx = fx - x0;
      const o = offset + (y * size + x) * 3;
      const i00 = (y0 * w + x0) * 4;
      const i01 = (y0 * w + x1) * 4;
      const i10 = (y1 * w + x0) * 4;
      const i11 = (y1 * w + x1) * 4;
      for (let c = 0; c < 3; c++) {
        const top = data[i00 + c]! + (data[i01 + c]! - data[i00 + c]!) * wx;
        const bottom = data[i10 + c]! + (data[i11 + c]! - data[i10 + c]!) * wx;
        out[o + c] = Math.round(top + (bottom - top) * wy);
      }
    }
  }
}

async function decodeSplit(items: { file: string; label: number }[], size: number, numClasses: number): Promise<ImageSplit> {
  const imageBytes = size * size * 3;
  const pixels = new Uint8Array(items.length * imageBytes);
  const labels = numClasses <= 256 ? new Uint8Array(items.length) : new Uint16Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const { file, label } = items[i]!;
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(file);
    } catch (e) {
      throw new DatasetError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    resizeToRgb(decodeImage(file, bytes), size, pixels, i * imageBytes);
    labels[i] = label;
  }
  return { pixels, labels, count: items.length };
}

export interface ImageFolderData {
  readonly size: number;
  readonly classNames: string[];
  readonly train: ImageSplit;
  readonly test: ImageSplit;
}

/**
 * Decodes the folder. `trainSize`/`testSize` are applied before decoding so a small subset of
 * a big folder stays fast.
 */
export async function loadImageFolder(root: string, imageSize = DEFAULT_IMAGE_SIZE, limits: { trainSize?: number; testSize?: number } = {}): Promise<ImageFolderData> {
  const plan = planImageFolder(root);
  const cut = <T>(xs: T[], n: number | undefined) => (n === undefined ? xs : xs.slice(0, n));
  const n = plan.classNames.length;
  const train = await decodeSplit(cut(plan.train, limits.trainSize), imageSize, n);
  const test = await decodeSplit(cut(plan.test, limits.testSize), imageSize, n);
  return { size: imageSize, classNames: plan.classNames, train, test };
}
