// The oneDNN addon's thread setting and the step's other native kernels (batch norm, ReLU): the
// setting's parsing, gradients against tfjs's own on the same inputs, and determinism for a fixed
// thread count (two child processes per count, each training the same ResNet-20 steps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { relError, seededTensor, useBackend } from '../helpers/tf';
import { batchNormTrain, relu } from '../../src/engines/tfjs/ops';
import { computeThreads, nativeAddon, nativeConvStatus, NATIVE_BATCH_NORM_KERNELS, NATIVE_RELU_KERNELS, setNativeConvolutions, threadSetting } from '../../src/engines/tfjs/native-conv';

const CHILD = process.env['RPG_TEST_THREADS_CHILD'] === '1';
const status = nativeConvStatus();
const skip = !status.active ? `oneDNN addon not available: ${status.detail}` : false;

/** Child mode: three ResNet-20 RPG steps (batch 8, Adam) on the engine's step; prints the weights' hash and a sample. */
async function childTrain(): Promise<void> {
  const { validateConfig } = await import('../../src/core/config/load');
  const { resolveExperiment } = await import('../../src/core/experiment/resolve');
  const { materializePlan } = await import('../../src/core/rpg/materialize');
  const { selectBackend } = await import('../../src/engines/tfjs/backend');
  const { Network } = await import('../../src/engines/tfjs/network');
  const { Optimizer } = await import('../../src/engines/tfjs/optimizer');
  const { trainStep } = await import('../../src/engines/tfjs/step');
  await selectBackend('wasm');
  const config = validateConfig({ seed: 1, model: { arch: 'resnet20' }, rpg: { enabled: true, dof: '10%' }, train: { optimizer: 'adam', lr: 0.001 } });
  const resolved = resolveExperiment(config, { height: 32, width: 32, channels: 3, numClasses: 10 });
  const m = materializePlan(resolved.plan!);
  const net = new Network(resolved.spec, m, 1);
  const opt = new Optimizer({ name: 'adam', momentum: 0.9, weightDecay: 0, normalization: 'projected' }, net.variables, m);
  const x = tf.tensor4d(seededTensor([8, 32, 32, 3], 11).dataSync(), [8, 32, 32, 3]);
  const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'float32');
  for (let k = 0; k < 3; k++) await trainStep(net, opt, x, y, 0.001, k);
  const hash = createHash('sha256');
  const sample: number[] = [];
  for (const v of net.variables) {
    const data = v.variable.dataSync() as Float32Array;
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    sample.push(...Array.from(data.subarray(0, 16)));
  }
  process.stdout.write(JSON.stringify({ threads: computeThreads(), hash: hash.digest('hex'), sample, detail: nativeConvStatus().detail }) + '\n');
}

if (CHILD) {
  void childTrain();
} else {
  test('RPG_THREADS: unset or empty means every core; a bad value is an error naming the variable', () => {
    assert.equal(threadSetting({}), os.availableParallelism());
    assert.equal(threadSetting({ RPG_THREADS: ' ' }), os.availableParallelism());
    assert.equal(threadSetting({ RPG_THREADS: '3' }), 3);
    for (const bad of ['0', '-1', '1.5', 'two', '5000']) assert.throws(() => threadSetting({ RPG_THREADS: bad }), new RegExp(`^Error: RPG_THREADS must be a whole number from 1 to 4096 .*not "${bad}"`));
  });

  test('oneDNN addon: threads(n) takes a whole number from 1 to 4096 and reports the count', { skip }, () => {
    const addon = nativeAddon()!;
    const before = computeThreads();
    try {
      assert.equal(addon.threads(1), 1);
      for (const bad of [0, -2, 5000, '2' as unknown as number]) assert.throws(() => addon.threads(bad), /threads\(n\): n must be a whole number from 1 to 4096/);
    } finally {
      addon.threads(before);
    }
    assert.match(status.detail, new RegExp(`oneDNN \\d+\\.\\d+\\.\\d+ \\(OpenMP\\), batch norm in the addon, ${before} threads? \\(RPG_THREADS\\)`));
  });

  /** Gradients of sum(f(inputs)·probe) with respect to every input, plus the value. */
  function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], probe: tf.Tensor): Float32Array[] {
    return tf.tidy(() => {
      const g = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), probe)))(inputs);
      return [f(...inputs).dataSync() as Float32Array, ...g.map((t) => t.dataSync() as Float32Array)];
    });
  }

  /** Kernel names one call of f runs. */
  async function kernelsOf(f: () => tf.Tensor): Promise<string[]> {
    const info = await tf.profile(() => {
      f();
    });
    return info.kernels.map((k) => k.name);
  }

  test('oneDNN batch norm and ReLU (forward and backward) run on wasm and equal tfjs-wasm\'s own kernels in value and gradients', { skip }, async () => {
    await useBackend('wasm');
    for (const shape of [[4, 5, 5, 6], [1, 3, 4, 6], [6, 1, 1, 6], [16, 8, 8, 16]]) {
      const c = shape[3]!;
      const x = tf.add(tf.mul(seededTensor(shape, 21), 3), 1);
      const gamma = tf.add(seededTensor([c], 22), 1) as tf.Tensor1D;
      const beta = seededTensor([c], 23) as tf.Tensor1D;
      const probe = seededTensor(shape, 24);
      const bn = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D).y;
      const where = shape.join('×');
      const names = await kernelsOf(() => tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(relu(bn(a, g, b)), probe)))([x, gamma, beta])[0]!);
      for (const k of [...NATIVE_BATCH_NORM_KERNELS, ...NATIVE_RELU_KERNELS]) assert.ok(names.includes(k), `${where}: ${k} ran (${names.join(' ')})`);
      const native = valueAndGrads((a, g, b) => relu(bn(a!, g!, b!)), [x, gamma, beta], probe);
      const nativeStats = batchNormTrain(x, gamma, beta);
      setNativeConvolutions(false);
      try {
        const names2 = await kernelsOf(() => relu(bn(x, gamma, beta)));
        assert.ok(!names2.some((k) => k.startsWith('RpgOneDnn')), `${where}: the tfjs path runs no oneDNN kernel`);
        const own = valueAndGrads((a, g, b) => relu(bn(a!, g!, b!)), [x, gamma, beta], probe);
        ['y', 'dx', 'dγ', 'dβ'].forEach((label, i) => assert.ok(relError(native[i]!, own[i]!) < 1e-4, `${where} ${label}: ${relError(native[i]!, own[i]!)}`));
        const ownStats = batchNormTrain(x, gamma, beta);
        assert.ok(relError(nativeStats.mean.dataSync(), ownStats.mean.dataSync()) < 1e-5, `${where} mean`);
        assert.ok(relError(nativeStats.variance.dataSync(), ownStats.variance.dataSync()) < 1e-5, `${where} variance`);
      } finally {
        setNativeConvolutions(true);
      }
    }
  });

  test('oneDNN ReLU gradient at exactly 0 is 0, as tfjs\'s ReluGrad', { skip }, async () => {
    await useBackend('wasm');
    const x = tf.tensor1d([-1, 0, 0, 2]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(relu(a)))(x).dataSync();
    assert.deepEqual(Array.from(g), [0, 0, 0, 1]);
  });

  function trainChild(threads: number): { threads: number; hash: string; sample: number[]; detail: string } {
    const env: NodeJS.ProcessEnv = { ...process.env, RPG_TEST_THREADS_CHILD: '1', RPG_THREADS: String(threads) };
    delete env['OMP_NUM_THREADS'];
    const r = spawnSync(process.execPath, ['--import', 'tsx', __filename], { env, encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { threads: number; hash: string; sample: number[]; detail: string };
  }

  test('a fixed thread count gives the same weights run after run; 1 and 2 threads agree to float rounding', { skip }, () => {
    const one = [trainChild(1), trainChild(1)];
    const two = [trainChild(2), trainChild(2)];
    assert.equal(one[0]!.threads, 1);
    assert.equal(two[0]!.threads, 2);
    assert.match(two[0]!.detail, /2 threads \(RPG_THREADS\)/);
    assert.equal(one[0]!.hash, one[1]!.hash, '1 thread: bit-identical weights');
    assert.equal(two[0]!.hash, two[1]!.hash, '2 threads: bit-identical weights');
    assert.ok(relError(one[0]!.sample, two[0]!.sample) < 1e-3, `1 vs 2 threads: ${relError(one[0]!.sample, two[0]!.sample)}`);
  });
}
