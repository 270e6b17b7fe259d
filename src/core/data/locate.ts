// Where a dataset's files may already be on this machine, so the editor can offer a folder
// instead of asking the user to type one: the places the README names (Debian's
// dataset-fashion-mnist installs at /usr/share/datasets/fashion-mnist) and the usual folders
// next to the config. A candidate counts only when the dataset's own loader accepts it.
import * as path from 'node:path';
import type { DatasetName } from '../config/schema';
import type { DatasetInfo } from './types';

/** Folders where system packages install datasets, by dataset. */
const SYSTEM_FOLDERS: Partial<Record<DatasetName, readonly string[]>> = {
  'fashion-mnist': ['/usr/share/datasets/fashion-mnist'],
  mnist: ['/usr/share/datasets/mnist'],
  cifar10: ['/usr/share/datasets/cifar10', '/usr/share/datasets/cifar-10-batches-bin'],
  cifar100: ['/usr/share/datasets/cifar100', '/usr/share/datasets/cifar-100-binary'],
};

/** Folders next to the config, relative to it ({} is the dataset's name). */
const RELATIVE_FOLDERS = ['data/{}', 'datasets/{}', '../data/{}', 'data'];

export interface DetectedFolder {
  /** What to write into data.path: relative to the config's folder when inside it, else absolute. */
  readonly path: string;
  readonly absolute: string;
  readonly info: DatasetInfo;
}

/**
 * Folders holding `dataset` that its loader reads, best first. `describe` is the loader's
 * header check (core/data describeDataset); a folder it rejects is not offered.
 */
export function detectDatasetFolders(dataset: DatasetName, baseDir: string | undefined, describe: (cfg: { dataset: DatasetName; path: string }, baseDir: string) => DatasetInfo): DetectedFolder[] {
  if (dataset === 'mnist-embedded' || dataset === 'image-folder') return [];
  const candidates = [
    ...(baseDir ? RELATIVE_FOLDERS.map((f) => path.resolve(baseDir, f.replace('{}', dataset))) : []),
    ...(SYSTEM_FOLDERS[dataset] ?? []),
  ];
  const out: DetectedFolder[] = [];
  for (const absolute of [...new Set(candidates)]) {
    try {
      const info = describe({ dataset, path: absolute }, baseDir ?? path.sep);
      const rel = baseDir ? path.relative(baseDir, absolute) : '';
      const inside = baseDir !== undefined && rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
      out.push({ path: inside ? rel.split(path.sep).join('/') : absolute, absolute, info });
    } catch {
      // not there, or not this dataset's files
    }
  }
  return out;
}
