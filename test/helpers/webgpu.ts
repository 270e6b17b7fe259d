// The webgpu backend in tests: used when an adapter exists here (a GPU, or the software one from
// `npm run setup:software-gpu` with VK_DRIVER_FILES set); with RPG_REQUIRE_WEBGPU=1 (CI) a missing
// adapter fails the tests instead of skipping them.
import * as tf from '@tensorflow/tfjs-core';
import type { TestContext } from 'node:test';
import { discoverWebGpu } from '../../src/engines/tfjs/webgpu-adapter';

export const REQUIRE_WEBGPU = process.env['RPG_REQUIRE_WEBGPU'] === '1';

let ready: Promise<string | undefined> | undefined;

/** Registers tfjs's webgpu backend once; undefined when it can run here, else why not. */
function webgpuProblem(): Promise<string | undefined> {
  ready ??= (async () => {
    const found = await discoverWebGpu();
    if (!found.primary) return found.problem ?? 'no WebGPU adapter';
    // Loaded after discovery: it registers only when navigator.gpu exists.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-webgpu');
    return tf.findBackendFactory('webgpu') ? undefined : 'tfjs-backend-webgpu registered no backend';
  })();
  return ready;
}

/**
 * True when the test can use webgpu. Otherwise it marks the test skipped (and the caller
 * returns), or, where RPG_REQUIRE_WEBGPU=1, fails it with the reason.
 */
export async function webgpuOrSkip(t: TestContext): Promise<boolean> {
  const problem = await webgpuProblem();
  if (!problem) return true;
  if (REQUIRE_WEBGPU) throw new Error(`RPG_REQUIRE_WEBGPU=1 but webgpu cannot run here: ${problem}`);
  t.skip(`no WebGPU adapter: ${problem}`);
  return false;
}

/** Switches the current backend (webgpu must have been checked with webgpuOrSkip). Small ops
 * whose inputs are still in host memory would run on tfjs's cpu code inside the webgpu backend
 * (WEBGPU_CPU_FORWARD): off, so the tests' small tensors go through the shaders. */
export async function useWebGpuBackend(): Promise<void> {
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  if (tf.getBackend() !== 'webgpu' && !(await tf.setBackend('webgpu'))) throw new Error('webgpu backend failed to initialize');
  await tf.ready();
}
