// The "projected" ring normalization makes the plain model's learning rate work for its RPG
// version; the official raw-gradient parametrization at the same lr does much worse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { validateConfig } from '../../src/core/config/load';
import { train } from '../helpers/train';
import { TrainError } from '../../src/core/errors';

async function accuracy(rpg: Record<string, unknown>): Promise<number> {
  const config = validateConfig({
    name: 'lrnorm',
    seed: 1,
    model: { arch: 'mlp', hidden: [64] },
    rpg,
    data: { dataset: 'mnist-embedded', trainSize: 2000, testSize: 500 },
    train: { optimizer: 'sgd', lr: 0.1, momentum: 0.9, batchSize: 64, epochs: 2, backend: 'wasm' },
  });
  try {
    const r = await train({ config, runsDir: mkdtempSync(path.join(tmpdir(), 'rpg-lr-')) });
    return r.finalAcc;
  } catch (err) {
    if (err instanceof TrainError && err.code === 'nan') return 0; // diverged
    throw err;
  }
}

test('SGD at the plain model\'s lr 0.1: projected RPG ≈ plain, official RPG far behind', async () => {
  const plain = await accuracy({ enabled: false });
  const projected = await accuracy({ dof: '10%', lrNormalization: 'projected' });
  const official = await accuracy({ dof: '10%', lrNormalization: 'official' });
  console.log(`plain ${plain}, projected ${projected}, official ${official}`);
  assert.ok(plain > 0.8, `plain learns: ${plain}`);
  assert.ok(projected > plain - 0.08, `projected ${projected} close to plain ${plain}`);
  assert.ok(official < projected - 0.1, `official ${official} well below projected ${projected}`);
});
