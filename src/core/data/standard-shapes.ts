// The shapes the standard datasets always have. `rpg plan`, the extension's plans (core/experiment/planning.ts) and the
// language server fall back to these when the files are not on this machine (yet), so a model
// can be planned and its numbers shown before the data is downloaded or the path is fixed.
import type { DataConfig } from '../config/schema';
import type { DatasetInfo } from './types';

/** An image folder's class count is only known from the folder: `numClasses` (else 10) stands in. */
export function nominalDatasetInfo(cfg: Pick<DataConfig, 'dataset' | 'imageSize'>, numClasses?: number): DatasetInfo {
  switch (cfg.dataset) {
    case 'mnist':
    case 'fashion-mnist':
    case 'mnist-embedded':
      return { height: 28, width: 28, channels: 1, numClasses: numClasses ?? 10 };
    case 'cifar10':
      return { height: 32, width: 32, channels: 3, numClasses: numClasses ?? 10 };
    case 'cifar100':
      return { height: 32, width: 32, channels: 3, numClasses: numClasses ?? 100 };
    case 'image-folder': {
      const size = cfg.imageSize ?? 32;
      return { height: size, width: size, channels: 3, numClasses: numClasses ?? 10 };
    }
  }
}
