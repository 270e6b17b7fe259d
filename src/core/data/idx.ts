// MNIST / Fashion-MNIST IDX files, raw or gzip-compressed (detected from the content, not the
// name). Layout (big-endian): magic (0x00 0x00 type ndims), one uint32 per dimension, then the
// bytes. We accept unsigned-byte files only: 2051 = images (count × rows × cols), 2049 = labels.
//
// File names looked for, in this order, in `dir`, then `dir/raw`, `dir/MNIST/raw`,
// `dir/FashionMNIST/raw` (torchvision's layout):
//   train-images-idx3-ubyte, train-images-idx3-ubyte.gz, train-images.idx3-ubyte(.gz) (Kaggle),
// and likewise train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte.
// The Debian package dataset-fashion-mnist installs the four .gz files directly in
// /usr/share/datasets/fashion-mnist.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { makeSplit } from './common';
import { DatasetError, ImageSplit } from './types';

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export type IdxKind = 'images' | 'labels';

export interface IdxHeader {
  readonly file: string;
  readonly kind: IdxKind;
  readonly count: number;
  /** 0 for label files. */
  readonly rows: number;
  readonly cols: number;
  readonly headerBytes: number;
  /** Length of the (decompressed) file. */
  readonly totalBytes: number;
  readonly gzip: boolean;
}

export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

const SUBDIRS = ['', 'raw', path.join('MNIST', 'raw'), path.join('FashionMNIST', 'raw')];
const gunzipAsync = promisify(zlib.gunzip);

function candidates(base: string): string[] {
  const kaggle = base.replace(/-(idx\d-ubyte)$/, '.$1');
  return [base, `${base}.gz`, kaggle, `${kaggle}.gz`];
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The path of one IDX file in `dir` (see the header comment for the names tried). */
export function findIdxFile(dir: string, base: string): string {
  for (const sub of SUBDIRS) {
    for (const name of candidates(base)) {
      const file = path.join(dir, sub, name);
      if (isFile(file)) return file;
    }
  }
  throw new DatasetError(path.join(dir, base), `missing file: found neither ${base} nor ${base}.gz in ${dir}`);
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function describeMagic(magic: number): string {
  if (magic === IDX_IMAGES_MAGIC) return 'an IDX image file';
  if (magic === IDX_LABELS_MAGIC) return 'an IDX label file';
  return `0x${(magic >>> 0).toString(16).padStart(8, '0')}`;
}

/** Validates the header at the start of `head` (decompressed bytes). */
function parseHeader(file: string, head: Uint8Array, totalBytes: number, gzip: boolean, expect: IdxKind): IdxHeader {
  if (head.length < 8) throw new DatasetError(file, `truncated: ${head.length} bytes is shorter than an IDX header`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = view.getUint32(0, false);
  const wanted = expect === 'images' ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC;
  if (magic !== wanted) {
    throw new DatasetError(
      file,
      `wrong magic number ${magic} (${describeMagic(magic)}): expected ${wanted} for an IDX ${expect === 'images' ? 'image' : 'label'} file`,
    );
  }
  const count = view.getUint32(4, false);
  if (expect === 'labels') {
    const headerBytes = 8;
    checkLength(file, totalBytes, headerBytes, count, 1, `${count} labels`);
    return { file, kind: 'labels', count, rows: 0, cols: 0, headerBytes, totalBytes, gzip };
  }
  if (head.length < 16) throw new DatasetError(file, `truncated: ${head.length} bytes is shorter than an IDX image header (16 bytes)`);
  const rows = view.getUint32(8, false);
  const cols = view.getUint32(12, false);
  if (rows === 0 || cols === 0 || rows > 16384 || cols > 16384) {
    throw new DatasetError(file, `wrong dimensions ${rows}×${cols}: each image side must be between 1 and 16384`);
  }
  const headerBytes = 16;
  checkLength(file, totalBytes, headerBytes, count, rows * cols, `${count} images of ${rows}×${cols}`);
  return { file, kind: 'images', count, rows, cols, headerBytes, totalBytes, gzip };
}

function checkLength(file: string, totalBytes: number, headerBytes: number, count: number, itemBytes: number, what: string): void {
  const expected = headerBytes + count * itemBytes;
  if (totalBytes < expected) {
    throw new DatasetError(file, `truncated: the header announces ${what} (${expected} bytes) but the file has ${totalBytes} bytes`);
  }
  if (totalBytes > expected) {
    throw new DatasetError(file, `${totalBytes - expected} unexpected bytes after the ${what} the header announces`);
  }
}

/**
 * Reads and validates only the header (cheap: at most 64 KiB read; for gzip the decompressed
 * length comes from the gzip trailer).
 */
export function readIdxHeader(file: string, expect: IdxKind): IdxHeader {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new DatasetError(file, `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const size = statSync(file).size;
    const first = Buffer.alloc(Math.min(size, 65536));
    readSync(fd, first, 0, first.length, 0);
    if (!isGzip(first)) return parseHeader(file, first, size, false, expect);
    if (size < 18) throw new DatasetError(file, 'truncated gzip file');
    const trailer = Buffer.alloc(4);
    readSync(fd, trailer, 0, 4, size - 4);
    // ISIZE: decompressed length mod 2^32 (all IDX files are far below 4 GiB).
    let totalBytes = trailer.readUInt32LE(0);
    let head: Buffer;
    try {
      head = zlib.gunzipSync(first, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (e) {
      throw new DatasetError(file, `not a valid gzip file: ${(e as Error).message}`);
    }
    // A small file was read whole: its decompressed length is exact.
    if (first.length === size) totalBytes = head.length;
    try {
      return parseHeader(file, head, totalBytes, true, expect);
    } catch (e) {
      // A cut-off .gz has no real trailer: say so instead of quoting a garbage length.
      if (e instanceof DatasetError && /bytes/.test(e.reason) && first.length < size) {
        throw new DatasetError(file, `${e.reason} (decompressed length taken from the gzip trailer; the .gz file may be truncated or corrupt)`);
      }
      throw e;
    }
  } finally {
    closeSync(fd);
  }
}

/** Whole file, decompressed when gzip; validated; returns the header and the payload bytes. */
export async function readIdxFile(file: string, expect: IdxKind): Promise<{ header: IdxHeader; data: Uint8Array }> {
  let raw: Buffer;
  try {
    raw = await fsp.readFile(file);
  } catch (e) {
    throw new DatasetError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const gzip = isGzip(raw);
  let bytes: Buffer = raw;
  if (gzip) {
    try {
      bytes = await gunzipAsync(raw);
    } catch (e) {
      const msg = (e as Error).message;
      throw new DatasetError(file, /unexpected end/i.test(msg) ? 'truncated gzip stream (the download was probably cut off)' : `corrupt gzip data: ${msg}`);
    }
  }
  const header = parseHeader(file, bytes, bytes.length, gzip, expect);
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset + header.headerBytes, bytes.length - header.headerBytes);
  return { header, data };
}

export interface IdxDatasetFiles {
  readonly trainImages: string;
  readonly trainLabels: string;
  readonly testImages: string;
  readonly testLabels: string;
}

export function findIdxDataset(dir: string): IdxDatasetFiles {
  return {
    trainImages: findIdxFile(dir, IDX_FILES.trainImages),
    trainLabels: findIdxFile(dir, IDX_FILES.trainLabels),
    testImages: findIdxFile(dir, IDX_FILES.testImages),
    testLabels: findIdxFile(dir, IDX_FILES.testLabels),
  };
}

function checkPair(images: IdxHeader, labels: IdxHeader): void {
  if (images.count !== labels.count) {
    throw new DatasetError(labels.file, `count mismatch: ${labels.count} labels but ${images.count} images in ${path.basename(images.file)}`);
  }
}

function checkSameDims(train: IdxHeader, test: IdxHeader): void {
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new DatasetError(test.file, `wrong dimensions: test images are ${test.rows}×${test.cols} but training images are ${train.rows}×${train.cols}`);
  }
}

export interface IdxSummary {
  readonly files: IdxDatasetFiles;
  readonly rows: number;
  readonly cols: number;
  readonly trainCount: number;
  readonly testCount: number;
}

/** Headers only: shape and counts of an IDX dataset folder, fully validated except label values. */
export function describeIdxDataset(dir: string): IdxSummary {
  const files = findIdxDataset(dir);
  const trI = readIdxHeader(files.trainImages, 'images');
  const trL = readIdxHeader(files.trainLabels, 'labels');
  const teI = readIdxHeader(files.testImages, 'images');
  const teL = readIdxHeader(files.testLabels, 'labels');
  checkPair(trI, trL);
  checkPair(teI, teL);
  checkSameDims(trI, teI);
  return { files, rows: trI.rows, cols: trI.cols, trainCount: trI.count, testCount: teI.count };
}

function checkLabels(file: string, labels: Uint8Array, numClasses: number): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= numClasses) {
      throw new DatasetError(file, `label ${labels[i]} at index ${i} is out of range: expected 0..${numClasses - 1}`);
    }
  }
}

export interface IdxDataset {
  readonly rows: number;
  readonly cols: number;
  readonly train: ImageSplit;
  readonly test: ImageSplit;
}

/** Reads and validates the four IDX files of `dir`. */
export async function loadIdxDataset(dir: string, numClasses: number): Promise<IdxDataset> {
  const files = findIdxDataset(dir);
  const [trI, trL, teI, teL] = await Promise.all([
    readIdxFile(files.trainImages, 'images'),
    readIdxFile(files.trainLabels, 'labels'),
    readIdxFile(files.testImages, 'images'),
    readIdxFile(files.testLabels, 'labels'),
  ]);
  checkPair(trI.header, trL.header);
  checkPair(teI.header, teL.header);
  checkSameDims(trI.header, teI.header);
  checkLabels(files.trainLabels, trL.data, numClasses);
  checkLabels(files.testLabels, teL.data, numClasses);
  return {
    rows: trI.header.rows,
    cols: trI.header.cols,
    train: makeSplit(trI.data, trL.data),
    test: makeSplit(teI.data, teL.data),
  };
}

/** Encodes an IDX file (used by tests and tools that write small datasets). */
export function encodeIdx(kind: IdxKind, data: Uint8Array, count: number, rows = 0, cols = 0): Buffer {
  const headerBytes = kind === 'images' ? 16 : 8;
  const out = Buffer.alloc(headerBytes + data.length);
  out.writeUInt32BE(kind === 'images' ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC, 0);
  out.writeUInt32BE(count, 4);
  if (kind === 'images') {
    out.writeUInt32BE(rows, 8);
    out.writeUInt32BE(cols, 12);
  }
  out.set(data, headerBytes);
  return out;
}
