// CIFAR-10 / CIFAR-100 "binary version" files (https://www.cs.toronto.edu/~kriz/cifar.html).
//   CIFAR-10:  data_batch_1.bin … data_batch_5.bin, test_batch.bin; records of
//              1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B, each row-major 32×32).
//   CIFAR-100: train.bin, test.bin; records of 1 coarse + 1 fine label byte + 3072 pixel bytes.
//              We use the fine labels (100 classes).
// Files are taken from `dir` itself or from the archive's folder inside it
// (`cifar-10-batches-bin` / `cifar-100-binary`). Pixels are converted from CHW to HWC.
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileSize } from './common';
import { DatasetError, ImageSplit } from './types';

export type CifarVariant = 'cifar10' | 'cifar100';

const PIXELS = 32 * 32;
const IMAGE_BYTES = 3 * PIXELS;

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

// The fine label names in label order (as in the archive's fine_label_names.txt).
export const CIFAR100_CLASSES = (
  'apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle ' +
  'caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish ' +
  'forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle ' +
  'mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine ' +
  'possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar ' +
  'sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale ' +
  'willow_tree wolf woman worm'
).split(' ');

interface Layout {
  readonly subdir: string;
  readonly train: readonly string[];
  readonly test: readonly string[];
  readonly labelBytes: number;
  readonly numClasses: number;
  readonly namesFile: string;
  readonly defaultNames: readonly string[];
}

export const CIFAR_LAYOUT: Readonly<Record<CifarVariant, Layout>> = {
  cifar10: {
    subdir: 'cifar-10-batches-bin',
    train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
    test: ['test_batch.bin'],
    labelBytes: 1,
    numClasses: 10,
    namesFile: 'batches.meta.txt',
    defaultNames: CIFAR10_CLASSES,
  },
  cifar100: {
    subdir: 'cifar-100-binary',
    train: ['train.bin'],
    test: ['test.bin'],
    labelBytes: 2,
    numClasses: 100,
    namesFile: 'fine_label_names.txt',
    defaultNames: CIFAR100_CLASSES,
  },
};

/** The folder holding the files: `dir` or its archive subfolder. */
export function findCifarDir(dir: string, variant: CifarVariant): string {
  const layout = CIFAR_LAYOUT[variant];
  const first = layout.test[0]!;
  if (fileSize(path.join(dir, first)) !== undefined) return dir;
  const sub = path.join(dir, layout.subdir);
  if (fileSize(path.join(sub, first)) !== undefined) return sub;
  throw new DatasetError(path.join(dir, first), `missing file: found neither ${first} nor ${layout.subdir}/${first} in ${dir}`);
}

export interface CifarSummary {
  readonly dir: string;
  readonly numClasses: number;
  readonly trainCount: number;
  readonly testCount: number;
}

function recordCount(file: string, recordBytes: number): number {
  const size = fileSize(file);
  if (size === undefined) throw new DatasetError(file, 'missing file');
  if (size === 0 || size % recordBytes !== 0) {
    throw new DatasetError(file, `wrong size: ${size} bytes is not a multiple of the ${recordBytes}-byte record`);
  }
  return size / recordBytes;
}

/** File sizes only: counts and classes of a CIFAR folder. */
export function describeCifar(dir: string, variant: CifarVariant): CifarSummary {
  const layout = CIFAR_LAYOUT[variant];
  const base = findCifarDir(dir, variant);
  const rec = layout.labelBytes + IMAGE_BYTES;
  const count = (names: readonly string[]) => names.reduce((n, name) => n + recordCount(path.join(base, name), rec), 0);
  return { dir: base, numClasses: layout.numClasses, trainCount: count(layout.train), testCount: count(layout.test) };
}

/** Decodes records (label bytes + CHW pixels) into HWC pixels and labels. */
export function decodeCifarRecords(file: string, bytes: Uint8Array, variant: CifarVariant, pixels: Uint8Array, labels: Uint8Array, offset: number): number {
  const layout = CIFAR_LAYOUT[variant];
  const rec = layout.labelBytes + IMAGE_BYTES;
  if (bytes.length === 0 || bytes.length % rec !== 0) {
    throw new DatasetError(file, `wrong size: ${bytes.length} bytes is not a multiple of the ${rec}-byte record`);
  }
  const n = bytes.length / rec;
  for (let i = 0; i < n; i++) {
    const r = i * rec;
    if (layout.labelBytes === 2 && bytes[r]! >= 20) {
      throw new DatasetError(file, `coarse label ${bytes[r]} of record ${i} is out of range: expected 0..19`);
    }
    const label = bytes[r + layout.labelBytes - 1]!;
    if (label >= layout.numClasses) {
      throw new DatasetError(file, `label ${label} of record ${i} is out of range: expected 0..${layout.numClasses - 1}`);
    }
    labels[offset + i] = label;
    const src = r + layout.labelBytes;
    const dst = (offset + i) * IMAGE_BYTES;
    for (let p = 0; p < PIXELS; p++) {
      const o = dst + p * 3;
      pixels[o] = bytes[src + p]!;
      pixels[o + 1] = bytes[src + PIXELS + p]!;
      pixels[o + 2] = bytes[src + 2 * PIXELS + p]!;
    }
  }
  return n;
}

async function loadSplit(base: string, names: readonly string[], variant: CifarVariant): Promise<ImageSplit> {
  const rec = CIFAR_LAYOUT[variant].labelBytes + IMAGE_BYTES;
  const total = names.reduce((n, name) => n + recordCount(path.join(base, name), rec), 0);
  const pixels = new Uint8Array(total * IMAGE_BYTES);
  const labels = new Uint8Array(total);
  let offset = 0;
  for (const name of names) {
    const file = path.join(base, name);
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(file);
    } catch (e) {
      throw new DatasetError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    offset += decodeCifarRecords(file, bytes, variant, pixels, labels, offset);
  }
  return { pixels, labels, count: total };
}

function classNames(base: string, variant: CifarVariant): string[] {
  const layout = CIFAR_LAYOUT[variant];
  try {
    const names = readFileSync(path.join(base, layout.namesFile), 'utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (names.length === layout.numClasses) return names;
  } catch {
    // Optional file: fall back to the published names.
  }
  return [...layout.defaultNames];
}

export interface CifarData {
  readonly numClasses: number;
  readonly classNames: string[];
  readonly train: ImageSplit;
  readonly test: ImageSplit;
}

export async function loadCifar(dir: string, variant: CifarVariant): Promise<CifarData> {
  const layout = CIFAR_LAYOUT[variant];
  const base = findCifarDir(dir, variant);
  const train = await loadSplit(base, layout.train, variant);
  const test = await loadSplit(base, layout.test, variant);
  return { numClasses: layout.numClasses, classNames: classNames(base, variant), train, test };
}

/** Encodes HWC images as CIFAR records (for tests and tools). */
export function encodeCifarRecords(variant: CifarVariant, hwc: Uint8Array, labels: ArrayLike<number>, coarse?: ArrayLike<number>): Buffer {
  const layout = CIFAR_LAYOUT[variant];
  const rec = layout.labelBytes + IMAGE_BYTES;
  const out = Buffer.alloc(labels.length * rec);
  for (let i = 0; i < labels.length; i++) {
    const r = i * rec;
    if (layout.labelBytes === 2) out[r] = coarse ? coarse[i]! : 0;
    out[r + layout.labelBytes - 1] = labels[i]!;
    for (let p = 0; p < PIXELS; p++) {
      for (let c = 0; c < 3; c++) out[r + layout.labelBytes + c * PIXELS + p] = hwc[i * IMAGE_BYTES + p * 3 + c]!;
    }
  }
  return out;
}
