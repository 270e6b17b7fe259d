// The graph ops (src/engines/tfjs/graph-ops.ts): each one's value and gradients against a
// reference made of tfjs's own ops with their native gradients (on cpu, which has every
// backward kernel), against central finite differences, and on wasm against the cpu reference
// (wasm lacks DepthwiseConv2dNativeBackprop* and UnsortedSegmentSum, which is why the custom
// gradients exist).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { relError, seededTensor, useBackend } from '../helpers/tf';
import { useWebGpuBackend, webgpuOrSkip } from '../helpers/webgpu';
import { denseLastAxis, depthwiseConv2d, dilateFilter, dropout, embedding, gelu, globalMax, globalMean, groupedConv2d, layerNorm, prependToken, relu6, selectToken, selfAttention } from '../../src/engines/tfjs/graph-ops';
import type { Padding } from '../../src/core/models/spec';

const TOL = 1e-5;
type Fn = (...xs: tf.Tensor[]) => tf.Tensor;

/** Value and gradients of sum(f(inputs)·probe) w.r.t. every input, as plain arrays. */
function evalGrads(f: Fn, inputs: tf.Tensor[], probe: tf.Tensor, differentiable = inputs.length): { y: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const y = f(...inputs).dataSync() as Float32Array;
    const rest = inputs.slice(differentiable);
    const g = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs, ...rest), probe)))(inputs.slice(0, differentiable));
    return { y: Float32Array.from(y), grads: g.map((t) => Float32Array.from(t.dataSync() as Float32Array)) };
  });
}

/** Central differences of sum(f·probe) at a few entries of input `which` (cpu, float32, h = 1e-2). */
function finiteDifferences(f: Fn, inputs: tf.Tensor[], probe: tf.Tensor, which: number, entries: number[]): number[] {
  const h = 1e-2;
  const base = inputs[which]!.dataSync();
  const loss = (delta: number, at: number) =>
    tf.tidy(() => {
      const v = Float32Array.from(base);
      v[at]! += delta;
      const xs = inputs.map((t, i) => (i === which ? tf.tensor(v, t.shape) : t));
      return tf.sum(tf.mul(f(...xs), probe)).dataSync()[0]!;
    });
  return entries.map((at) => (loss(h, at) - loss(-h, at)) / (2 * h));
}

interface Case {
  readonly name: string;
  readonly mine: Fn;
  readonly reference: Fn;
  /** Shapes of the differentiable inputs (seeded unless makeInputs); extra inputs follow them. */
  readonly shapes: number[][];
  /** The inputs, when not seeded floats of `shapes` (embedding ids). */
  readonly makeInputs?: () => tf.Tensor[];
  readonly tol?: number;
}

interface Checked {
  readonly c: Case;
  readonly data: { v: Float32Array | Int32Array | Uint8Array; shape: number[]; dtype: tf.DataType }[];
  readonly probe: { v: Float32Array; shape: number[] };
  readonly ref: { y: Float32Array; grads: Float32Array[] };
}

/** Every case that passed on cpu and wasm, with its inputs and cpu reference: re-run on webgpu last. */
const checked: Checked[] = [];

async function checkCase(c: Case): Promise<void> {
  await useBackend('cpu');
  const inputs = c.makeInputs ? c.makeInputs() : c.shapes.map((s, i) => seededTensor(s, 31 + i));
  const probe = seededTensor(c.reference(...inputs).shape, 97);
  const tol = c.tol ?? TOL;
  const ref = evalGrads(c.reference, inputs, probe, c.shapes.length);
  const got = evalGrads(c.mine, inputs, probe, c.shapes.length);
  assert.ok(relError(got.y, ref.y) < tol, `${c.name}: value ${relError(got.y, ref.y)}`);
  got.grads.forEach((g, i) => assert.ok(relError(g, ref.grads[i]!) < tol, `${c.name}: gradient ${i} (cpu) ${relError(g, ref.grads[i]!)}`));
  // Finite differences on the first input (the differentiable one), at three entries.
  const n = inputs[0]!.size;
  const entries = [0, Math.floor(n / 2), n - 1];
  const fd = finiteDifferences(c.mine, inputs, probe, 0, entries);
  entries.forEach((at, k) => {
    const analytic = got.grads[0]![at]!;
    assert.ok(Math.abs(fd[k]! - analytic) < 2e-2 * Math.max(1, Math.abs(analytic)), `${c.name}: entry ${at} finite difference ${fd[k]} vs ${analytic}`);
  });
  const data = inputs.map((t) => ({ v: t.dataSync().slice(), shape: t.shape, dtype: t.dtype }));
  const pd = probe.dataSync().slice();
  await useBackend('wasm');
  const wInputs = data.map((d) => tf.tensor(d.v, d.shape, d.dtype));
  const w = evalGrads(c.mine, wInputs, tf.tensor(pd, probe.shape), c.shapes.length);
  assert.ok(relError(w.y, ref.y) < tol, `${c.name}: wasm value ${relError(w.y, ref.y)}`);
  w.grads.forEach((g, i) => assert.ok(relError(g, ref.grads[i]!) < tol, `${c.name}: gradient ${i} (wasm) ${relError(g, ref.grads[i]!)}`));
  checked.push({ c, data: data.map((d) => ({ ...d, v: d.v as Float32Array, shape: [...d.shape] })), probe: { v: pd as Float32Array, shape: [...probe.shape] }, ref });
}

const DEPTHWISE: [number[], number, number, Padding, number, number][] = [
  // x shape, k, stride, padding, dilation, multiplier
  [[2, 9, 9, 3], 3, 1, 'same', 1, 1],
  [[2, 9, 9, 3], 3, 2, 'same', 1, 1],
  [[2, 10, 10, 4], 3, 2, 'same', 1, 2],
  [[2, 11, 8, 2], 3, 2, 'valid', 1, 1],
  [[1, 12, 12, 3], 5, 1, 'valid', 1, 3],
  [[2, 12, 12, 3], 3, 1, 'same', 2, 1],
  [[2, 13, 11, 2], 3, 1, 'valid', 2, 2],
  [[2, 8, 8, 3], 2, 2, 'same', 1, 1],
  [[2, 7, 7, 4], 1, 2, 'valid', 1, 1],
];

for (const [xs, k, stride, padding, dilation, m] of DEPTHWISE) {
  test(`depthwiseConv2d ${xs.join('×')} k${k} s${stride} ${padding} d${dilation} ×${m}: custom gradients equal tfjs's native ones (cpu), finite differences and wasm`, async () => {
    // tfjs has no dilated depthwise gradient: the reference then convolves with the dilated
    // filter (its zeros inserted by pads, natively differentiable); its value is checked
    // against tfjs's dilated forward below.
    await checkCase({
      name: 'depthwise',
      mine: (x, w) => depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, padding, dilation),
      reference: (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, dilateFilter(w as tf.Tensor4D, dilation), stride, padding),
      shapes: [xs, [k, k, xs[3]!, m]],
    });
    if (dilation > 1) {
      await useBackend('cpu');
      const [x, w] = [seededTensor(xs, 1), seededTensor([k, k, xs[3]!, m], 2)] as tf.Tensor4D[];
      assert.ok(relError(depthwiseConv2d(x!, w!, stride, padding, dilation).dataSync(), tf.depthwiseConv2d(x!, w!, stride, padding, 'NHWC', dilation).dataSync()) < TOL);
    }
  });
}

test('dilated and grouped conv2d equal tfjs (native dilation, a per-group reference) in value and gradients, cpu and wasm', async () => {
  for (const [xs, k, stride, padding, dilation, groups, cout] of [
    [[2, 10, 10, 3], 3, 1, 'same', 2, 1, 4],
    [[2, 11, 9, 2], 3, 1, 'valid', 3, 1, 3],
    [[2, 8, 8, 4], 3, 1, 'same', 1, 2, 6],
    [[2, 9, 9, 6], 3, 2, 'same', 1, 3, 6],
    [[2, 8, 8, 4], 3, 1, 'same', 1, 4, 8], // groups = channels: the depthwise path
  ] as [number[], number, number, Padding, number, number, number][]) {
    const ref: Fn = (x, w) => {
      const [cin, per] = [xs[3]! / groups, cout / groups];
      const parts = Array.from({ length: groups }, (_, g) => tf.conv2d(tf.slice(x!, [0, 0, 0, g * cin], [-1, -1, -1, cin]) as tf.Tensor4D, dilateFilter(tf.slice(w!, [0, 0, 0, g * per], [-1, -1, -1, per]) as tf.Tensor4D, dilation), stride, padding));
      return tf.concat(parts, 3);
    };
    await checkCase({
      name: `grouped ${xs.join('×')} k${k} s${stride} d${dilation} g${groups}`,
      mine: (x, w) => groupedConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, padding, dilation, groups),
      reference: ref,
      shapes: [xs, [k, k, xs[3]! / groups, cout]],
    });
  }
});

test('dilateFilter puts d−1 zeros between the taps, and a conv with it is tfjs\'s dilated conv', async () => {
  await useBackend('cpu');
  const w = tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]);
  assert.deepEqual(Array.from(dilateFilter(w, 3).dataSync()), [1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 4]);
  for (const padding of ['same', 'valid'] as const) {
    const x = seededTensor([2, 11, 9, 3], 3) as tf.Tensor4D;
    const k = seededTensor([3, 3, 3, 4], 4) as tf.Tensor4D;
    assert.ok(relError(tf.conv2d(x, dilateFilter(k, 2), 1, padding).dataSync(), tf.conv2d(x, k, 1, padding, 'NHWC', 2).dataSync()) < TOL, padding);
  }
});

test('layerNorm: closed-form gradients equal the native gradients of a tf.moments reference (cpu), finite differences and wasm', async () => {
  for (const shape of [[6, 8], [3, 5, 8], [2, 1, 8]]) {
    await checkCase({
      name: `layerNorm ${shape.join('×')}`,
      mine: (x, g, b) => layerNorm(tf.add(tf.mul(x!, 3), 1), g as tf.Tensor1D, b as tf.Tensor1D, 1e-5),
      reference: (x, g, b) => {
        const xs = tf.add(tf.mul(x!, 3), 1);
        const { mean, variance } = tf.moments(xs, -1, true);
        return tf.add(tf.mul(tf.div(tf.sub(xs, mean), tf.sqrt(tf.add(variance, 1e-5))), g!), b!);
      },
      shapes: [shape, [8], [8]],
      tol: 1e-4,
    });
  }
});

test('GELU and ReLU6: custom gradients equal the native ones of their tfjs formulas, finite differences and wasm', async () => {
  await checkCase({ name: 'gelu', mine: (x) => gelu(tf.mul(x!, 8)), reference: (x) => { const s = tf.mul(x!, 8); return tf.mul(tf.mul(s, 0.5), tf.add(tf.erf(tf.mul(s, Math.SQRT1_2)), 1)); }, shapes: [[7, 9]] });
  await checkCase({ name: 'relu6', mine: (x) => relu6(tf.mul(x!, 20)), reference: (x) => tf.relu6(tf.mul(x!, 20)), shapes: [[7, 9]] });
});

test('embedding: the table gradient (a one-hot matmul) equals tf.gather\'s (UnsortedSegmentSum on cpu), ids floored and clipped, and wasm agrees', async () => {
  const idsData = [0, 3, 3, 9, 1.7, -2, 42, 5];
  const clipped = [0, 3, 3, 9, 1, 0, 9, 5];
  await checkCase({
    name: 'embedding',
    makeInputs: () => [seededTensor([10, 4], 5), tf.tensor(idsData, [2, 4])], // the ids are not differentiated
    mine: (t, ids) => embedding(ids!, t as tf.Tensor2D),
    reference: (t) => tf.reshape(tf.gather(t!, tf.tensor1d(clipped, 'int32')), [2, 4, 4]),
    shapes: [[10, 4]],
  });
});

/** Self-attention written head by head with tfjs's own ops and native gradients. */
function attentionReference(x: tf.Tensor, wq: tf.Tensor, wk: tf.Tensor, wv: tf.Tensor, wo: tf.Tensor, bq: tf.Tensor, bo: tf.Tensor, heads: number): tf.Tensor {
  const [n, t, d] = x.shape as [number, number, number];
  const inner = wq.shape[1]!;
  const kd = inner / heads;
  const outs: tf.Tensor[] = [];
  for (let b = 0; b < n; b++) {
    const xb = tf.reshape(tf.slice(x, [b, 0, 0], [1, t, d]), [t, d]) as tf.Tensor2D;
    const q = tf.add(tf.matMul(xb, wq as tf.Tensor2D), bq);
    const k = tf.matMul(xb, wk as tf.Tensor2D);
    const v = tf.matMul(xb, wv as tf.Tensor2D);
    const hs: tf.Tensor[] = [];
    for (let h = 0; h < heads; h++) {
      const qh = tf.slice(q, [0, h * kd], [t, kd]) as tf.Tensor2D;
      const kh = tf.slice(k, [0, h * kd], [t, kd]) as tf.Tensor2D;
      const vh = tf.slice(v, [0, h * kd], [t, kd]) as tf.Tensor2D;
      hs.push(tf.matMul(tf.softmax(tf.div(tf.matMul(qh, kh, false, true), Math.sqrt(kd))), vh));
    }
    outs.push(tf.add(tf.matMul(tf.concat(hs, 1) as tf.Tensor2D, wo as tf.Tensor2D), bo));
  }
  return tf.stack(outs);
}

test('multi-head self-attention equals a head-by-head reference in value and every gradient, finite differences, and wasm', async () => {
  const [n, t, d, heads, inner] = [2, 5, 6, 2, 8];
  await checkCase({
    name: 'attention',
    mine: (x, wq, wk, wv, wo, bq, bo) => selfAttention(x as tf.Tensor3D, { query: wq as tf.Tensor2D, key: wk as tf.Tensor2D, value: wv as tf.Tensor2D, out: wo as tf.Tensor2D, queryBias: bq, outBias: bo }, heads),
    reference: (x, wq, wk, wv, wo, bq, bo) => attentionReference(x!, wq!, wk!, wv!, wo!, bq!, bo!, heads),
    shapes: [[n, t, d], [d, inner], [d, inner], [d, inner], [inner, d], [inner], [d]],
    tol: 1e-4,
  });
});

test('class token, token selection, dense over tokens and global pools: values and gradients as their tfjs formulas', async () => {
  await checkCase({ name: 'prependToken', mine: (x, tok) => prependToken(x as tf.Tensor3D, tok as tf.Tensor1D), reference: (x, tok) => tf.concat([tf.tile(tf.reshape(tok!, [1, 1, 4]), [3, 1, 1]), x!], 1), shapes: [[3, 5, 4], [4]] });
  await checkCase({ name: 'selectToken', mine: (x) => selectToken(x as tf.Tensor3D, 2), reference: (x) => tf.squeeze(tf.slice(x!, [0, 2, 0], [-1, 1, -1]), [1]), shapes: [[3, 5, 4]] });
  await checkCase({ name: 'denseLastAxis', mine: (x, w, b) => denseLastAxis(x!, w as tf.Tensor2D, b), reference: (x, w, b) => tf.add(tf.reshape(tf.matMul(tf.reshape(x!, [15, 4]), w as tf.Tensor2D), [3, 5, 6]), b!), shapes: [[3, 5, 4], [4, 6], [6]] });
  await checkCase({ name: 'globalMean 4-D', mine: (x) => globalMean(x!), reference: (x) => tf.mean(x!, [1, 2]), shapes: [[2, 3, 4, 5]] });
  await checkCase({ name: 'globalMean tokens', mine: (x) => globalMean(x!), reference: (x) => tf.mean(x!, 1), shapes: [[2, 7, 5]] });
  await checkCase({ name: 'globalMax', mine: (x) => globalMax(x!), reference: (x) => tf.max(x!, [1, 2]), shapes: [[2, 3, 4, 5]] });
});

test('dropout: the same mask for the same seed on cpu and wasm, rate kept in expectation, the gradient is the mask', async () => {
  const shape = [50, 40];
  const masks: Float32Array[] = [];
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    const x = tf.ones(shape);
    const y = dropout(x, 0.25, 1234).dataSync() as Float32Array;
    masks.push(Float32Array.from(y));
    const g = tf.grad((a: tf.Tensor) => tf.sum(dropout(a, 0.25, 1234)))(x).dataSync();
    assert.deepEqual(Array.from(g), Array.from(y), `${backend}: gradient = mask`);
    assert.notDeepEqual(Array.from(dropout(x, 0.25, 1235).dataSync()), Array.from(y), 'another seed, another mask');
  }
  assert.deepEqual(Array.from(masks[0]!), Array.from(masks[1]!));
  const kept = masks[0]!.filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6));
  assert.ok(Math.abs(kept.length / masks[0]!.length - 0.75) < 0.05, `kept ${kept.length / masks[0]!.length}`);
});

test('every op above on webgpu (when an adapter exists): values and gradients equal the cpu reference', async (t) => {
  if (!(await webgpuOrSkip(t))) return;
  assert.ok(checked.length >= 20, 'run the whole file: this test re-checks the cases above');
  await useWebGpuBackend();
  for (const { c, data, probe, ref } of checked) {
    const inputs = data.map((d) => tf.tensor(d.v, d.shape, d.dtype));
    const pr = tf.tensor(probe.v, probe.shape);
    // webgpu cannot read back synchronously under Node: the results come back with data().
    const [yT, ...gT] = tf.tidy(() => {
      const rest = inputs.slice(c.shapes.length);
      const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(c.mine(...xs, ...rest), pr)))(inputs.slice(0, c.shapes.length));
      return [c.mine(...inputs), ...grads];
    });
    const g = { y: (await yT!.data()) as Float32Array, grads: (await Promise.all(gT.map((x) => x.data()))) as Float32Array[] };
    tf.dispose([yT!, ...gT, pr]);
    const tol = Math.max(c.tol ?? TOL, 1e-4);
    assert.ok(relError(g.y, ref.y) < tol, `${c.name}: webgpu value ${relError(g.y, ref.y)}`);
    g.grads.forEach((gr, i) => assert.ok(relError(gr, ref.grads[i]!) < tol, `${c.name}: gradient ${i} (webgpu) ${relError(gr, ref.grads[i]!)}`));
    tf.dispose(inputs);
  }
});
