// Asking for backend "tensorflow" where native TensorFlow is not installed says how to get it
// and where (issue 18, item 12): the npm commands, the folder to run them in, and the restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { selectBackend } from '../../src/engines/tfjs/backend';

const installed = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'].some((id) => {
  try {
    require.resolve(id);
    return true;
  } catch {
    return false;
  }
});

test('backend "tensorflow" without tfjs-node: the error names the install commands, the folder and the restart', { skip: installed && 'tfjs-node is installed here' }, async () => {
  const err = await selectBackend('tensorflow').then(() => undefined, (e: Error) => e);
  assert.ok(err, 'tensorflow is not available here');
  assert.match(err.message, /^backend "tensorflow" is not available: @tensorflow\/tfjs-node is not installed\. /);
  assert.match(err.message, /`npm install @tensorflow\/tfjs-node@4\.22\.0` \(CPU\) or `npm install @tensorflow\/tfjs-node-gpu@4\.22\.0` \(NVIDIA GPU: CUDA 11\.2 and cuDNN 8\.1\)/);
  const where = / in (\/\S+) on a machine that can download libtensorflow, then restart the trainer \(RPG: Restart Trainer\)/.exec(err.message);
  assert.ok(where, err.message);
  assert.ok(existsSync(path.join(where[1]!, 'package.json')) && existsSync(path.join(where[1]!, 'node_modules', '@tensorflow', 'tfjs-core')), `${where[1]} is where the trainer's packages are`);
});
