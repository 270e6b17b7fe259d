// The webgpu backend against cpu: adapter discovery, every op of ops.ts with its gradient, and
// RPG generation with its ring gradient (the two compute shaders). Runs where an adapter exists
// (a GPU, or `npm run setup:software-gpu` and its VK_DRIVER_FILES); RPG_REQUIRE_WEBGPU=1 makes a
// missing adapter a failure. Kept small: the software adapter is ~18× slower than wasm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { relError, seededTensor, useBackend } from '../helpers/tf';
import { useWebGpuBackend, webgpuOrSkip } from '../helpers/webgpu';
import { batchNormInfer, batchNormTrain, conv2d, globalAvgPool, matMul, maxPool2x2, padShortcut, relu, softmaxCrossEntropy } from '../../src/engines/tfjs/ops';
import { RingGenerator } from '../../src/engines/tfjs/ring-generator';
import { describeAdapter, discoverWebGpu } from '../../src/engines/tfjs/webgpu-adapter';
import { classify } from '../../src/engines/tfjs/webgpu-errors';
import { buildModelSpec } from '../../src/core/models/architectures';
import { buildPlan } from '../../src/core/rpg/plan';
import { generateWeights, initialRing, materializePlan } from '../../src/core/rpg/materialize';
import type { Padding } from '../../src/core/models/spec';

// Float32 on a GPU sums in another order than cpu's loops (and lavapipe fuses multiply-adds):
// 1e-5 of the largest value, as the wasm tests; measured worst case here ~2e-6.
const TOL = 1e-5;

type Op = (...xs: tf.Tensor[]) => tf.Tensor;

/** Value and gradients of sum(f(xs)·probe) w.r.t. every input, read asynchronously (dataSync
 * throws on webgpu under Node). */
async function valueAndGrads(f: Op, inputs: Float32Array[], shapes: number[][], probeSeed: number): Promise<Float32Array[]> {
  const xs = inputs.map((v, i) => tf.tensor(v, shapes[i]));
  const y = f(...xs);
  const probe = seededTensor(y.shape, probeSeed);
  const gs = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), probe)))(xs);
  const out = [(await y.data()) as Float32Array, ...(await Promise.all(gs.map((g) => g.data() as Promise<Float32Array>)))];
  tf.dispose([...xs, y, probe, ...gs]);
  return out;
}

/** The op on cpu and on webgpu, same inputs: values and every gradient within TOL. */
async function sameOnBoth(name: string, f: Op, shapes: number[][], transform: (i: number, t: tf.Tensor) => tf.Tensor = (_, t) => t): Promise<void> {
  await useBackend('cpu');
  const inputs = await Promise.all(shapes.map(async (s, i) => (await transform(i, seededTensor(s, 31 + i)).data()) as Float32Array));
  const cpu = await valueAndGrads(f, inputs, shapes, 99);
  await useWebGpuBackend();
  const gpu = await valueAndGrads(f, inputs, shapes, 99);
  cpu.forEach((c, i) => {
    const e = relError(gpu[i]!, c);
    assert.ok(e < TOL, `${name}: ${i === 0 ? 'value' : `gradient ${i - 1}`} differs by ${e.toExponential(2)} (relative)`);
  });
}

test('WebGPU adapter discovery: the adapter tfjs trains on, with its vendor, device, fallback flag and buffer limits', async (t) => {
  if (!(await webgpuOrSkip(t))) return;
  const found = await discoverWebGpu();
  assert.ok(found.primary && found.adapters.includes(found.primary));
  assert.equal(found.problem, undefined);
  for (const a of found.adapters) {
    assert.ok(a.description || a.vendor || a.device, 'an adapter names itself');
    assert.ok(a.maxBufferSize >= 2 ** 28 && a.maxStorageBufferBindingSize >= 2 ** 27, 'WebGPU guarantees at least 256 MiB buffers and 128 MiB storage bindings');
    assert.ok(a.requests.length > 0);
    assert.equal(/software adapter/.test(describeAdapter(a)), a.isFallbackAdapter);
  }
  assert.ok(found.primary.requests.includes('high-performance'));
});

for (const [xs, k, stride, padding] of [
  [[2, 9, 9, 3], 3, 1, 'same'],
  [[2, 10, 10, 3], 3, 2, 'same'],
  [[3, 12, 12, 2], 5, 1, 'valid'],
  [[2, 8, 8, 4], 1, 2, 'same'],
  [[2, 11, 9, 2], 4, 2, 'same'],
] as [number[], number, number, Padding][]) {
  test(`webgpu conv2d ${xs.join('×')} k${k} s${stride} ${padding} (tfjs's gradients) equals cpu's (ours), value and gradients`, async (t) => {
    if (!(await webgpuOrSkip(t))) return;
    await sameOnBoth('conv2d', (x, w) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, padding), [xs, [k, k, xs[3]!, 5]]);
  });
}

test('webgpu: matMul, relu, 2×2 max pooling, option-A shortcut, global average pooling and cross-entropy equal cpu, with gradients', async (t) => {
  if (!(await webgpuOrSkip(t))) return;
  await sameOnBoth('matMul', (a, b) => matMul(a as tf.Tensor2D, b as tf.Tensor2D), [[7, 5], [5, 3]]);
  await sameOnBoth('relu', (a) => relu(a!), [[4, 6, 6, 3]]);
  await sameOnBoth('maxPool2x2 even', (a) => maxPool2x2(a as tf.Tensor4D), [[2, 8, 8, 3]]);
  await sameOnBoth('maxPool2x2 odd', (a) => maxPool2x2(a as tf.Tensor4D), [[2, 9, 7, 3]]);
  // Values on a coarse grid: many windows with tied maxima (dy shared among them).
  await sameOnBoth('maxPool2x2 ties', (a) => maxPool2x2(a as tf.Tensor4D), [[2, 8, 8, 3]], (_, v) => tf.div(tf.round(tf.mul(v, 2)), 2));
  await sameOnBoth('padShortcut s2', (a) => padShortcut(a as tf.Tensor4D, 2, 8), [[2, 7, 5, 4]]);
  await sameOnBoth('globalAvgPool', (a) => globalAvgPool(a as tf.Tensor4D), [[3, 4, 4, 5]]);
  const labels = Int32Array.from([0, 3, 9, 1, 1, 7]);
  await sameOnBoth('softmaxCrossEntropy', (z) => softmaxCrossEntropy(z as tf.Tensor2D, tf.tensor1d(labels, 'int32')), [[6, 10]], (_, z) => tf.mul(z, 4));
});

test('webgpu: hand-written BatchNorm (training and inference) equals cpu, with gradients and batch statistics', async (t) => {
  if (!(await webgpuOrSkip(t))) return;
  for (const shape of [[4, 5, 5, 6], [20, 6]]) {
    // x shifted and scaled so the statistics are far from 0 and 1; γ around 1.
    const shift = (i: number, v: tf.Tensor) => (i === 0 ? tf.add(tf.mul(v, 3), 1) : i === 1 ? tf.add(v, 1) : v);
    await sameOnBoth(`batchNormTrain ${shape.join('×')}`, (x, g, b) => batchNormTrain(x!, g as tf.Tensor1D, b as tf.Tensor1D).y, [shape, [6], [6]], shift);
    await sameOnBoth(`batchNormInfer ${shape.join('×')}`, (x, g, b, m, v) => batchNormInfer(x!, g as tf.Tensor1D, b as tf.Tensor1D, m as tf.Tensor1D, v as tf.Tensor1D), [shape, [6], [6], [6], [6]], (i, v) => (i === 4 ? tf.add(tf.abs(v), 0.5) : shift(i, v)));
    // The batch statistics the running averages are folded from.
    const x = await tf.add(tf.mul(seededTensor(shape, 3), 3), 1).data();
    const stats = async () => {
      const r = batchNormTrain(tf.tensor(x, shape), tf.ones([6]) as tf.Tensor1D, tf.zeros([6]) as tf.Tensor1D);
      return [await r.mean.data(), await r.variance.data()];
    };
    await useBackend('cpu');
    const [cm, cv] = await stats();
    await useWebGpuBackend();
    const [gm, gv] = await stats();
    assert.ok(relError(gm!, cm!) < TOL && relError(gv!, cv!) < TOL, `${shape.join('×')} statistics`);
  }
});

for (const sampling of ['ring', 'shuffled'] as const) {
  test(`webgpu ring generation (${sampling}): the weights equal the formula bit for bit, the ring gradient equals cpu's, and a repeat gives the same bits`, async (t) => {
    if (!(await webgpuOrSkip(t))) return;
    const spec = buildModelSpec({ arch: 'lenet5', hidden: [], width: 0.5, smallInput: false, batchNorm: false }, { height: 16, width: 16, channels: 1, numClasses: 4 });
    const plan = buildPlan(spec, { enabled: true, dof: 97, sampling, freeFirst: false, freeLast: false, ringInitStd: 0.05, lrNormalization: 'official', minReuseWarning: 1000 }, 3);
    const m = materializePlan(plan);
    const ringValues = initialRing(plan);
    const expected = generateWeights(m, ringValues);
    const probeValues = await seededTensor([plan.generatedCount], 10).data();
    // Σ_l sum(W_l · probe_l): every layer weighted by its own slice of the probe.
    const loss = (gen: RingGenerator) => (r: tf.Tensor) => {
      const probe = tf.tensor1d(probeValues);
      return tf.addN(gen.generate(r as tf.Tensor1D).map((w, l) => tf.sum(tf.mul(w, tf.reshape(tf.slice(probe, plan.layers[l]!.offset, plan.layers[l]!.size), w.shape)))));
    };
    const lastOnly = (gen: RingGenerator) => (r: tf.Tensor) => {
      const last = plan.layers[plan.layers.length - 1]!;
      return tf.sum(tf.mul(tf.reshape(gen.generate(r as tf.Tensor1D)[plan.layers.length - 1]!, [-1]), tf.tensor1d(probeValues.slice(last.offset, last.offset + last.size))));
    };
    await useBackend('cpu');
    const host = new RingGenerator(m, 'host');
    const cpuGrad = await tf.grad(loss(host))(tf.tensor1d(ringValues)).data();
    const cpuLast = await tf.grad(lastOnly(host))(tf.tensor1d(ringValues)).data();
    host.dispose();

    await useWebGpuBackend();
    const gen = new RingGenerator(m);
    assert.equal(gen.kernel, 'webgpu');
    const ring = tf.tensor1d(ringValues);
    const layers = gen.generate(ring);
    assert.deepEqual(layers.map((w) => w.shape), plan.layers.map((l) => [...l.param.shape]));
    const weights = new Float32Array(plan.generatedCount);
    let at = 0;
    for (const w of layers) {
      weights.set(await w.data(), at);
      at += w.size;
    }
    assert.deepEqual([...weights], [...expected], 'one multiply per weight: the same float32 as the formula');
    const grad = await tf.grad(loss(gen))(ring).data();
    assert.ok(relError(grad, cpuGrad) < 1e-6, `ring gradient ${relError(grad, cpuGrad)}`);
    const again = await tf.grad(loss(gen))(ring).data();
    assert.deepEqual([...again], [...grad], 'a fixed summation order: deterministic');
    // Only the last layer used: the other layers' gradients arrive as zeros.
    const last = await tf.grad(lastOnly(gen))(ring).data();
    assert.ok(relError(last, cpuLast) < 1e-6, `last layer only ${relError(last, cpuLast)}`);
    // The tensor-op path (native TensorFlow's) runs on webgpu too and agrees.
    const tensorPath = new RingGenerator(m, 'tensor');
    const viaTensors = await tf.grad(loss(tensorPath))(ring).data();
    assert.ok(relError(viaTensors, cpuGrad) < 1e-6, `tensor-op path ${relError(viaTensors, cpuGrad)}`);
    tensorPath.dispose();
    gen.dispose();
    tf.dispose([ring, ...layers]);
  });
}

test('WebGPU device errors are classified: out of memory and over-limit tensors are memory failures', () => {
  assert.equal(classify('GPUOutOfMemoryError', 'Out of memory\n - While creating buffer').kind, 'memory');
  assert.equal(classify('GPUValidationError', 'Binding size (160000000) of [Buffer] is larger than the maximum storage buffer binding size (134217728).\n - While validating').kind, 'memory');
  const other = classify('GPUValidationError', '[Invalid BindGroup] is invalid due to a previous error.\nmore');
  assert.equal(other.kind, 'error');
  assert.match(other.message, /GPUValidationError: \[Invalid BindGroup\] is invalid due to a previous error\.\)$/);
});
