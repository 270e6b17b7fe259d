import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../helpers/tf';
import { ringLoopsFor, ringLoopsModuleBytes, SIGN_BIT, signedIndex } from '../../src/engines/tfjs/wasm-ring-loops';
import { hostLoopsKind } from '../../src/engines/tfjs/host-generate-kernel';
import { RingGenerator } from '../../src/engines/tfjs/ring-generator';
import { buildModelSpec } from '../../src/core/models/architectures';
import { buildPlan } from '../../src/core/rpg/plan';
import { initialRing, materializePlan } from '../../src/core/rpg/materialize';
import { Rng } from '../../src/core/rpg/prng';

test('the emitted module validates and its loops equal the JS formulas bit for bit', () => {
  assert.ok(WebAssembly.validate(ringLoopsModuleBytes()));
  const memory = new WebAssembly.Memory({ initial: 4 });
  const loops = ringLoopsFor(memory);
  const rng = new Rng(5, 'wasm-loops-test');
  const M = 997;
  const n = 5003;
  const c = Math.fround(0.0371);
  const ring = Float32Array.from({ length: M }, () => rng.nextFloat() - 0.5);
  const entry = Int32Array.from({ length: n }, () => rng.nextInt(M));
  const sign = Int8Array.from({ length: n }, () => rng.nextSign());
  const dw = Float32Array.from({ length: n }, () => rng.nextFloat() - 0.5);
  // Byte layout: ring, index, out, dw, g — odd offsets between them on purpose.
  const at = { ring: 64, idx: 64 + 4 * M + 12, out: 0, dw: 0, g: 0 };
  at.out = at.idx + 4 * n + 20;
  at.dw = at.out + 4 * n + 4;
  at.g = at.dw + 4 * n + 8;
  const f32 = new Float32Array(memory.buffer);
  f32.set(ring, at.ring / 4);
  signedIndex(entry, sign, new Int32Array(memory.buffer, at.idx, n));
  assert.equal(new Int32Array(memory.buffer, at.idx, n).filter((v) => v < 0).length, sign.filter((s) => s < 0).length);
  f32.set(dw, at.dw / 4);
  f32.fill(0, at.g / 4, at.g / 4 + M);

  loops.gather(at.out, at.ring, at.idx, n, c);
  loops.scatterAdd(at.g, at.dw, at.idx, n, c);
  const g = new Float32Array(M);
  for (let k = 0; k < n; k++) {
    const ss = Math.fround(sign[k]! * c);
    assert.equal(f32[at.out / 4 + k], Math.fround(ss * ring[entry[k]!]!), `out[${k}]`);
    g[entry[k]!] += ss * dw[k]!;
  }
  assert.deepEqual(f32.subarray(at.g / 4, at.g / 4 + M), g);
  // n = 0 touches nothing; the word before out is left alone by n = 1.
  f32[at.out / 4 - 1] = 42;
  loops.gather(at.out, at.ring, at.idx, 0, c);
  loops.gather(at.out, at.ring, at.idx, 1, c);
  assert.equal(f32[at.out / 4 - 1], 42);
  assert.equal(SIGN_BIT, -2147483648);
});

test('wasm runs the compiled loops and generates the same weights and ring gradient as cpu, bit for bit', async () => {
  const spec = buildModelSpec({ arch: 'lenet5', hidden: [], width: 0.5, smallInput: false, batchNorm: false }, { height: 16, width: 16, channels: 1, numClasses: 4 });
  for (const sampling of ['ring', 'shuffled'] as const) {
    const plan = buildPlan(spec, { enabled: true, dof: 97, sampling, freeFirst: false, freeLast: false, ringInitStd: 0.05, lrNormalization: 'official', minReuseWarning: 1000 }, 3);
    const m = materializePlan(plan);
    const ringValues = initialRing(plan);
    const probe = Float32Array.from({ length: plan.generatedCount }, (_, i) => Math.sin(i));
    const run = () => {
      const gen = new RingGenerator(m, 'host');
      const ring = tf.tensor1d(ringValues);
      const weights = gen.generate(ring).map((w) => w.dataSync().slice());
      const p = tf.tensor1d(probe);
      const grad = tf.grad((r: tf.Tensor) => tf.sum(tf.mul(tf.concat(gen.generate(r as tf.Tensor1D).map((w) => tf.reshape(w, [-1]))), p)))(ring).dataSync().slice();
      gen.dispose();
      return { weights, grad };
    };
    await useBackend('cpu');
    assert.equal(hostLoopsKind(), 'js');
    const js = run();
    await useBackend('wasm');
    assert.equal(hostLoopsKind(), 'wasm');
    const wasm = run();
    js.weights.forEach((w, l) => assert.deepEqual(wasm.weights[l], w, `${sampling} layer ${l}`));
    assert.deepEqual(wasm.grad, js.grad, `${sampling} ring gradient`);
  }
});
