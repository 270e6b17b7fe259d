import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { relError, seededTensor, useBackend } from '../helpers/tf';
import { batchNormTrain, conv2d, matMul, maxPool2x2, padShortcut, relu, softmaxCrossEntropy } from '../../src/engines/tfjs/ops';
import { RingGenerator } from '../../src/engines/tfjs/ring-generator';
import { dataOnlyValues } from '../../src/engines/tfjs/network';
import { nativeConvolutions, nativeConvStatus, setNativeConvolutions } from '../../src/engines/tfjs/native-conv';
import { buildModelSpec } from '../../src/core/models/architectures';
import { buildPlan } from '../../src/core/rpg/plan';
import { generateWeights, initialRing, materializePlan } from '../../src/core/rpg/materialize';
import type { Padding } from '../../src/core/models/spec';

const TOL = 1e-5;

/** Gradients of sum(f(x,w)·probe) w.r.t. x and w. */
function grads(f: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor, x: tf.Tensor, w: tf.Tensor, probe: tf.Tensor): [Float32Array, Float32Array] {
  return tf.tidy(() => {
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), probe)))([x, w]);
    return [g[0]!.dataSync() as Float32Array, g[1]!.dataSync() as Float32Array];
  });
}

const CONV_CASES: [number[], number, number, Padding][] = [
  [[2, 9, 9, 3], 3, 1, 'same'],
  [[2, 9, 9, 3], 3, 2, 'same'],
  [[2, 10, 10, 3], 3, 2, 'same'],
  [[3, 12, 12, 2], 5, 1, 'valid'],
  [[2, 8, 8, 4], 1, 2, 'same'],
  [[1, 15, 15, 3], 7, 2, 'same'],
  // Input-gradient phases (stride 2 and 3, even kernels, remainders) and filter-gradient crops.
  [[2, 10, 10, 3], 3, 2, 'valid'],
  [[2, 11, 9, 2], 4, 2, 'same'],
  [[1, 10, 8, 2], 3, 3, 'same'],
  [[2, 7, 7, 3], 2, 2, 'valid'],
  [[2, 8, 8, 3], 2, 1, 'same'],
  [[2, 9, 7, 4], 1, 2, 'valid'],
  [[2, 6, 6, 4], 1, 1, 'same'],
  // Stride 1 with more input than output channels.
  [[2, 9, 9, 7], 3, 1, 'same'],
  [[2, 10, 9, 6], 5, 1, 'valid'],
];

for (const [xs, k, stride, padding] of CONV_CASES) {
  test(`conv2d ${xs.join('×')} k${k} s${stride} ${padding}: custom gradients equal tfjs's native ones (cpu) to 1e-5, and wasm agrees with and without oneDNN`, async () => {
    await useBackend('cpu');
    const x = seededTensor(xs, 1);
    const w = seededTensor([k, k, xs[3]!, 5], 2);
    const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, padding);
    const probe = seededTensor(y.shape, 3);
    const native = grads((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, padding), x, w, probe);
    const custom = grads((a, b) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, padding), x, w, probe);
    assert.ok(relError(custom[0], native[0]) < TOL, `dx ${relError(custom[0], native[0])}`);
    assert.ok(relError(custom[1], native[1]) < TOL, `dw ${relError(custom[1], native[1])}`);
    const [xd, wd, pd, yd] = [x.dataSync(), w.dataSync(), probe.dataSync(), y.dataSync()];
    await useBackend('wasm');
    // Both wasm paths: tfjs-wasm's kernels (what a .vsix install trains on) and, where the addon
    // is built, oneDNN's (what CI and `npm ci` with libdnnl-dev use).
    for (const onednn of nativeConvStatus().active ? [false, true] : [false]) {
      setNativeConvolutions(onednn);
      try {
        assert.equal(!!nativeConvolutions(), onednn);
        const [xw, ww] = [tf.tensor4d(xd, xs as [number, number, number, number]), tf.tensor4d(wd, w.shape as [number, number, number, number])];
        const path = onednn ? 'wasm oneDNN' : 'wasm';
        assert.ok(relError(conv2d(xw, ww, stride, padding).dataSync(), yd) < TOL, `${path} y`);
        const wasm = grads((a, b) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, padding), xw, ww, tf.tensor(pd, probe.shape));
        assert.ok(relError(wasm[0], native[0]) < TOL, `${path} dx ${relError(wasm[0], native[0])}`);
        assert.ok(relError(wasm[1], native[1]) < TOL, `${path} dw ${relError(wasm[1], native[1])}`);
      } finally {
        setNativeConvolutions(true);
      }
    }
  });
}

test('hand-written BatchNorm matches a reference built from tf.moments, in value and gradients', async () => {
  // [4,5,5,6]: the 4-D path (average poolings, 1×1 depthwise maps); 1×1 spatial and batch 1
  // skip one pooling each; [20,6] goes through it as [20,1,1,6].
  for (const shape of [[4, 5, 5, 6], [1, 3, 4, 6], [6, 1, 1, 6], [20, 6]]) {
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const axes = shape.slice(0, -1).map((_, i) => i);
      const x = tf.add(tf.mul(seededTensor(shape, 4), 3), 1);
      const gamma = tf.add(seededTensor([6], 5), 1) as tf.Tensor1D;
      const beta = seededTensor([6], 6) as tf.Tensor1D;
      const probe = seededTensor(shape, 7);
      const reference = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, axes);
        return tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
      };
      const loss = (f: (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, g, b), probe));
      const ref = tf.grads(loss(reference))([x, gamma, beta]);
      const mine = tf.grads(loss((a, g, b) => batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D).y))([x, gamma, beta]);
      const where = `${backend} ${shape.join('×')}`;
      for (let i = 0; i < 3; i++) assert.ok(relError(mine[i]!.dataSync(), ref[i]!.dataSync()) < 1e-4, `${where} grad ${i}: ${relError(mine[i]!.dataSync(), ref[i]!.dataSync())}`);
      const r = batchNormTrain(x, gamma, beta);
      assert.ok(relError(r.y.dataSync(), reference(x, gamma, beta).dataSync()) < 1e-5, where);
      const { mean, variance } = tf.moments(x, axes);
      assert.ok(relError(r.mean.dataSync(), mean.dataSync()) < 1e-5 && relError(r.variance.dataSync(), variance.dataSync()) < 1e-5, `${where} statistics`);
      assert.equal(r.rows, x.size / 6);
    }
  }
});

test('softmax cross-entropy matches tf.losses-style reference and its gradient', async () => {
  await useBackend('cpu');
  const logits = tf.mul(seededTensor([8, 10], 8), 4) as tf.Tensor2D;
  const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
  const ref = (z: tf.Tensor) => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, 10), tf.logSoftmax(z)), 1)));
  assert.ok(Math.abs(softmaxCrossEntropy(logits, labels).dataSync()[0]! - ref(logits).dataSync()[0]!) < 1e-6);
  const g1 = tf.grad((z: tf.Tensor) => softmaxCrossEntropy(z as tf.Tensor2D, labels))(logits).dataSync();
  const g2 = tf.grad(ref)(logits).dataSync();
  assert.ok(relError(g1, g2) < 1e-5);
});

test('option-A shortcut subsamples by stride and zero-pads channels, with gradients', async () => {
  await useBackend('cpu');
  const x = seededTensor([2, 6, 6, 4], 9) as tf.Tensor4D;
  const y = padShortcut(x, 2, 8);
  assert.deepEqual(y.shape, [2, 3, 3, 8]);
  const xa = x.arraySync();
  const ya = y.arraySync();
  assert.equal(ya[1]![2]![1]![2], xa[1]![4]![2]![0]);
  assert.equal(ya[1]![2]![1]![0], 0);
  const g = tf.grad((a: tf.Tensor) => tf.sum(padShortcut(a as tf.Tensor4D, 2, 8)))(x).arraySync() as number[][][][];
  assert.equal(g[0]![0]![0]![0], 1);
  assert.equal(g[0]![1]![0]![0], 0);
});

test('option-A shortcut equals x[:, ::s, ::s] zero-padded in channels, values and gradients exactly (cpu and wasm)', async () => {
  for (const [shape, stride, out] of [[[2, 6, 6, 4], 2, 8], [[2, 7, 5, 3], 2, 6], [[1, 4, 4, 2], 1, 6]] as [[number, number, number, number], number, number][]) {
    const [n, h, w, c] = shape;
    const [oh, ow, before] = [Math.ceil(h / stride), Math.ceil(w / stride), Math.floor((out - c) / 2)];
    const xv = seededTensor(shape, 11).dataSync();
    const probe = seededTensor([n, oh, ow, out], 12).dataSync();
    // Reference by index: y[b,i,j,before+k] = x[b,s·i,s·j,k]; d(Σ y·probe)/dx is probe scattered back.
    const yRef = new Float32Array(n * oh * ow * out);
    const gRef = new Float32Array(xv.length);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          for (let k = 0; k < c; k++) {
            const xi = ((b * h + i * stride) * w + j * stride) * c + k;
            const yi = ((b * oh + i) * ow + j) * out + before + k;
            yRef[yi] = xv[xi]!;
            gRef[xi] = probe[yi]!;
          }
        }
      }
    }
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const x = tf.tensor(xv, shape) as tf.Tensor4D;
      const y = padShortcut(x, stride, out);
      assert.deepEqual(y.shape, [n, oh, ow, out]);
      assert.deepEqual([...y.dataSync()], [...yRef], `${backend} ${shape.join('×')} value`);
      const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(padShortcut(a as tf.Tensor4D, stride, out), tf.tensor(probe, y.shape))))(x).dataSync();
      assert.deepEqual([...grad], [...gRef], `${backend} ${shape.join('×')} gradient`);
    }
  }
});

/** All generated weights as one vector, plan order. */
function flatOf(gen: RingGenerator, ring: tf.Tensor1D): tf.Tensor1D {
  return tf.concat(gen.generate(ring).map((w) => tf.reshape(w, [-1]))) as tf.Tensor1D;
}

for (const sampling of ['ring', 'shuffled'] as const) {
  test(`ring generator (${sampling}): weights equal the formula, the O(N) ring gradient equals tf.gather's and finite differences`, async () => {
    const spec = buildModelSpec({ arch: 'lenet5', hidden: [], width: 0.5, smallInput: false, batchNorm: false }, { height: 16, width: 16, channels: 1, numClasses: 4 });
    // 16×16 is too small for LeNet's two 5×5 convs + pools? (16−4)/2=6, (6−4)/2=1: fine.
    const plan = buildPlan(spec, { enabled: true, dof: 97, sampling, freeFirst: false, freeLast: false, ringInitStd: 0.05, lrNormalization: 'official', minReuseWarning: 1000 }, 3);
    const m = materializePlan(plan);
    const ringValues = initialRing(plan);
    const expected = generateWeights(m, ringValues);
    for (const [backend, kernel] of [['cpu', 'host'], ['wasm', 'host'], ['cpu', 'tensor'], ['wasm', 'tensor']] as const) {
      await useBackend(backend);
      const gen = new RingGenerator(m, kernel);
      assert.equal(gen.kernel, kernel);
      const ring = tf.tensor1d(ringValues);
      // Per-layer outputs: the plan's shapes, and the same values as the flat form.
      const layers = gen.generate(ring);
      assert.deepEqual(layers.map((w) => w.shape), plan.layers.map((l) => [...l.param.shape]));
      assert.ok(relError(Float32Array.from(layers.flatMap((w) => [...w.dataSync()])), expected) < 1e-7, `${backend}/${kernel} layers`);
      const probe = seededTensor([plan.generatedCount], 10);
      const mine = tf.grad((r: tf.Tensor) => tf.sum(tf.mul(flatOf(gen, r as tf.Tensor1D), probe)))(ring).dataSync();
      // The per-layer form's gradient, each layer weighted differently (one dy per output).
      const perLayer = tf.grad((r: tf.Tensor) => tf.addN(gen.generate(r as tf.Tensor1D).map((w, l) => tf.sum(tf.mul(w, tf.reshape(tf.slice(probe, plan.layers[l]!.offset, plan.layers[l]!.size), w.shape))))))(ring).dataSync();
      assert.ok(relError(perLayer, mine) < 1e-5, `${backend}/${kernel} per-layer gradient`);
      // Only the last layer used: the other outputs get no gradient (tfjs passes zeros for them).
      const last = plan.layers[plan.layers.length - 1]!;
      const lastOnly = tf.grad((r: tf.Tensor) => tf.sum(tf.mul(tf.reshape(gen.generate(r as tf.Tensor1D)[plan.layers.length - 1]!, [-1]), tf.slice(probe, last.offset, last.size))))(ring).dataSync();
      const masked = tf.mul(probe, tf.concat([tf.zeros([last.offset]), tf.ones([last.size])]));
      const lastExpected = tf.grad((r: tf.Tensor) => tf.sum(tf.mul(flatOf(gen, r as tf.Tensor1D), masked)))(ring).dataSync();
      assert.ok(relError(lastOnly, lastExpected) < 1e-5, `${backend}/${kernel} last layer only`);
      if (backend === 'cpu') {
        const naive = tf.grad((r: tf.Tensor) => tf.sum(tf.mul(tf.mul(tf.gather(r, tf.tensor1d(m.index, 'int32')), tf.tensor1d(m.signScale)), probe)))(ring).dataSync();
        assert.ok(relError(mine, naive) < 1e-5, `vs naive ${relError(mine, naive)}`);
        // Central finite differences in float64 on the reference formula (the loss is linear in the ring).
        const p = probe.dataSync();
        for (const j of [0, 13, 96]) {
          const f = (delta: number) => {
            const r2 = Float64Array.from(ringValues);
            r2[j]! += delta;
            let s = 0;
            for (let i = 0; i < m.index.length; i++) s += m.signScale[i]! * r2[m.index[i]!]! * p[i]!;
            return s;
          };
          const fd = (f(1e-3) - f(-1e-3)) / 2e-3;
          assert.ok(Math.abs(fd - mine[j]!) < 1e-4 * Math.max(1, Math.abs(fd)), `entry ${j}: fd ${fd} vs ${mine[j]}`);
        }
      }
      gen.dispose();
    }
  });
}

test('matMul, relu and 2×2 max pooling: custom gradients equal the native ones (cpu) and wasm agrees', async () => {
  const cases: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, number[], number[]][] = [
    ['matMul', (a, b) => matMul(a as tf.Tensor2D, b as tf.Tensor2D), (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), [7, 5], [5, 3]],
    ['relu', (a, b) => tf.mul(relu(a), b), (a, b) => tf.mul(tf.relu(a), b), [4, 6, 6, 3], [4, 6, 6, 3]],
    ['maxPool2x2 even', (a, b) => tf.mul(maxPool2x2(a as tf.Tensor4D), b), (a, b) => tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), b), [2, 8, 8, 3], [2, 4, 4, 3]],
    ['maxPool2x2 odd', (a, b) => tf.mul(maxPool2x2(a as tf.Tensor4D), b), (a, b) => tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), b), [2, 9, 7, 3], [2, 4, 3, 3]],
  ];
  for (const [name, mine, native, sa, sb] of cases) {
    await useBackend('cpu');
    const a = seededTensor(sa, 11);
    const b = seededTensor(sb, 12);
    const probe = seededTensor(native(a, b).shape, 13);
    const ref = grads(native, a, b, probe);
    const got = grads(mine, a, b, probe);
    assert.ok(relError(got[0], ref[0]) < TOL && relError(got[1], ref[1]) < TOL, `${name} cpu`);
    const [ad, bd, pd] = [a.dataSync(), b.dataSync(), probe.dataSync()];
    await useBackend('wasm');
    const w = grads(mine, tf.tensor(ad, sa), tf.tensor(bd, sb), tf.tensor(pd, probe.shape));
    assert.ok(relError(w[0], ref[0]) < TOL && relError(w[1], ref[1]) < TOL, `${name} wasm`);
  }
});

test('host generation kernel reads a ring still on another backend (its move grows the wasm heap)', async () => {
  // A 32 MB ring made on cpu, used on wasm: tfjs moves it on first access; the kernel must not
  // keep a view of the heap from before that move.
  const M = 8_000_000;
  const n = 16;
  const m = {
    index: Int32Array.from({ length: n }, (_, i) => i * 499_999),
    sign: Int8Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1)),
    signScale: Float32Array.from({ length: n }, (_, i) => (i % 2 ? -0.5 : 0.5)),
    plan: { ringSize: M, layers: [{ offset: 0, size: n, scale: 0.5, param: { shape: [4, 4] } }] },
  } as unknown as Parameters<typeof generateWeights>[0] & ConstructorParameters<typeof RingGenerator>[0];
  const ringValues = Float32Array.from({ length: M }, (_, i) => (i % 1000) / 1000);
  await useBackend('cpu');
  const gen = new RingGenerator(m, 'host');
  const ring = tf.tensor1d(ringValues);
  await useBackend('wasm');
  const [w] = gen.generate(ring);
  assert.deepEqual(Array.from(w!.dataSync()), Array.from(generateWeights(m, ringValues)));
  const dy = (await useBackend('cpu'), tf.tensor2d(Float32Array.from({ length: n }, (_, i) => i + 1), [4, 4]));
  await useBackend('wasm');
  const g = tf.grad((r: tf.Tensor) => tf.sum(tf.mul(gen.generate(r as tf.Tensor1D)[0]!, dy)))(ring).dataSync();
  for (let i = 0; i < n; i++) assert.equal(g[m.index[i]!], m.signScale[i]! * (i + 1));
  tf.dispose([ring, dy, w!]);
  gen.dispose();
});

test('a layer reading only data skips its input gradient: the weight gradient is unchanged', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    const x = seededTensor([6, 5], 21);
    const w = seededTensor([5, 4], 22);
    const probe = seededTensor([6, 4], 23);
    const ref = grads((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), x, w, probe);
    const got = grads((a, b) => matMul(a as tf.Tensor2D, b as tf.Tensor2D, { inputGrad: false }), x, w, probe);
    assert.ok(relError(got[1], ref[1]) < TOL, `${backend} dW`);
    assert.ok(got[0].every((v) => v === 0) && ref[0].some((v) => v !== 0), `${backend}: no input gradient computed`);
  }
});

test('dataOnlyValues: the input and what parameter-free ops make of it, nothing past a layer', () => {
  const inputs = { height: 28, width: 28, channels: 1, numClasses: 10 };
  const mlp = buildModelSpec({ arch: 'mlp', hidden: [32], width: 1, smallInput: false, batchNorm: false }, inputs);
  const denses = mlp.ops.filter((o) => o.op === 'dense');
  const dataOnly = dataOnlyValues(mlp);
  // The MLP flattens the image first: its first dense reads data only, the second does not.
  assert.ok(dataOnly.has(denses[0]!.input) && denses[0]!.input !== mlp.input);
  assert.ok(!dataOnly.has(denses[1]!.input));
  for (const arch of ['lenet5', 'resnet20'] as const) {
    const spec = buildModelSpec({ arch, hidden: [], width: 1, smallInput: false, batchNorm: true }, { ...inputs, height: 32, width: 32, channels: 3 });
    const set = dataOnlyValues(spec);
    const layers = spec.ops.filter((o) => o.op === 'conv' || o.op === 'dense');
    assert.deepEqual(layers.filter((o) => set.has((o as { input: string }).input)).map((o) => (o as { name: string }).name), [(layers[0] as { name: string }).name], arch);
  }
});

test('2×2 max pooling with tied maxima (a digit\'s constant background): each window passes on exactly dy, shared equally among its maxima (cpu and wasm)', async () => {
  // Window (0,0): four equal positive values; (0,1): two equal maxima; (1,0): one maximum;
  // (1,1): all zero (after a ReLU).
  const x = [
    [0.5, 0.5, 0.7, 0.1],
    [0.5, 0.5, 0.2, 0.7],
    [0.9, 0.3, 0, 0],
    [0.1, 0.2, 0, 0],
  ];
  const dy = [
    [2, 3],
    [5, 7],
  ];
  const expected = [
    [0.5, 0.5, 1.5, 0],
    [0.5, 0.5, 0, 1.5],
    [5, 0, 1.75, 1.75],
    [0, 0, 1.75, 1.75],
  ];
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    const xt = tf.tensor4d(x.flat(), [1, 4, 4, 1]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(maxPool2x2(a as tf.Tensor4D), tf.tensor4d(dy.flat(), [1, 2, 2, 1]))))(xt);
    assert.deepEqual([...g.dataSync()], expected.flat(), backend);
    // Per window the same total as tfjs's own MaxPoolGrad (which gives it all to one maximum).
    if (backend === 'cpu') {
      const native = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), tf.tensor4d(dy.flat(), [1, 2, 2, 1]))))(xt);
      assert.deepEqual([...tf.mul(tf.avgPool(g as tf.Tensor4D, 2, 2, 'valid'), 4).dataSync()], [...tf.mul(tf.avgPool(native as tf.Tensor4D, 2, 2, 'valid'), 4).dataSync()]);
    }
  }
});
