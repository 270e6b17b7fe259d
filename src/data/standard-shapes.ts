// The shapes the standard datasets always have. `rpg plan` and the language server fall back to
// these when the files are not on this machine yet, so a model can be planned before download.
import type { DataConfig } from '../config/schema';
import type { DatasetInfo } from './types';

export function standardDatasetInfo(cfg: Pick<DataConfig, 'dataset' | 'imageSize'>, numClasses?: number): DatasetInfo | undefined {
  switch (cfg.dataset) {
    case 'mnist':
    case 'fashion-mnist':
    case 'mnist-embedded':
      return { height: 28, width: 28, channels: 1, numClasses: 10 };
    case 'cifar10':
      return { height: 32, width: 32, channels: 3, numClasses: 10 };
    case 'cifar100':
      return { height: 32, width: 32, channels: 3, numClasses: 100 };
    case 'image-folder': {
      // The class count of a folder is only known from the folder; model.numClasses stands in.
      if (numClasses === undefined) return undefined;
      const size = cfg.imageSize ?? 32;
      return { height: size, width: size, channels: 3, numClasses };
    }
  }
}
