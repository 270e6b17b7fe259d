// The engines behind the seam (src/core/engine.ts), by the name a config's `train.engine`
// gives. Each is loaded on first use, so a process that never trains never loads tfjs.
import type { EngineName } from '../core/config/schema';
import type { Engine } from '../core/engine';
import { InvalidInputError } from '../core/errors';

export function engineFor(name: string): Engine {
  switch (name as EngineName) {
    case 'tfjs':
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (require('./tfjs/engine') as typeof import('./tfjs/engine')).tfjsEngine;
    case 'torch':
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (require('./torch/engine') as typeof import('./torch/engine')).torchEngine;
    default:
      throw new InvalidInputError(`unknown engine "${name}" (train.engine: one of tfjs, torch)`, 'train.engine');
  }
}
