// `rpg.generate: "all"` (every trained number from the ring) and the baselines a sweep trains
// beside RPG at the same trained-parameter count (random subspace, HashedNets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { validateConfig } from '../../src/core/config/load';
import { resolveExperiment } from '../../src/core/experiment/resolve';
import { addLayerBases, generateWeights, initialRing, materializePlan } from '../../src/core/rpg/materialize';
import { layerScale } from '../../src/core/rpg/plan';
import { aggregateOf, measuredCrossing } from '../../src/core/sweep/stats';
import { buildHashedLayout, HashedNetwork, splitBuckets, weightHash } from '../../src/engines/tfjs/hashed-generator';
import { RingGenerator } from '../../src/engines/tfjs/ring-generator';
import { SubspaceGenerator, SubspaceNetwork } from '../../src/engines/tfjs/subspace-generator';
import { aggregatePoints, SweepPoint } from '../../src/sweep/index';
import { relError, useBackend } from '../helpers/tf';

const mnist = { height: 28, width: 28, channels: 1, numClasses: 10 };
const cifarGray = { height: 28, width: 28, channels: 1, numClasses: 10 };
const resolve = (raw: Record<string, unknown>, input = mnist) => resolveExperiment(validateConfig(raw), input);

test('generate "kernels" (the default) keeps every existing plan hash; "all" generates every parameter, DoF = M', () => {
  const kernels = resolve({ seed: 1, model: { arch: 'lenet5' }, rpg: { dof: '10%' } });
  // The plan of examples/lenet5-mnist.rpg.json as README and checkpoints record it.
  assert.equal(kernels.plan!.hash, '6933294e0ad21c7e');
  assert.equal(kernels.summary.dof, 4419 + 236);
  const all = resolve({ seed: 1, model: { arch: 'lenet5' }, rpg: { dof: 290, generate: 'all' } });
  assert.equal(all.summary.freeParams, 0);
  assert.equal(all.summary.dof, 290, 'every trained number is a ring entry');
  assert.equal(all.plan!.generatedCount, 44426);
  assert.notEqual(all.plan!.hash, resolve({ seed: 1, model: { arch: 'lenet5' }, rpg: { dof: 290 } }).plan!.hash);
  // freeFirst still keeps the whole first layer (kernel and bias) free.
  const first = resolve({ seed: 1, model: { arch: 'lenet5' }, rpg: { dof: 290, generate: 'all', freeFirst: true } });
  assert.deepEqual(first.plan!.free.map((p) => p.name), ['conv1.kernel', 'conv1.bias']);
  // A baseline method gets its own plan hash (its arrays are not RPG's).
  assert.notEqual(resolve({ seed: 1, model: { arch: 'lenet5' }, rpg: { dof: '10%', method: 'hashed' } }).plan!.hash, kernels.plan!.hash);
});

test('generate "all": a vector takes the scale of the kernel before it; BatchNorm γ starts around 1 (base 1)', async () => {
  await useBackend('cpu');
  const r = resolve({ seed: 3, model: { arch: 'resnet20', width: 0.25 }, rpg: { dof: 300, generate: 'all' } }, cifarGray);
  const plan = r.plan!;
  const byName = new Map(plan.layers.map((l) => [l.param.name, l]));
  const conv1 = r.spec.params.find((p) => p.name.endsWith('.kernel'))!;
  const firstBn = plan.layers.find((l) => l.param.kind === 'bn-gamma')!;
  assert.equal(firstBn.scale, layerScale(conv1, plan.ringInitStd), 'the first BatchNorm takes the stem convolution\'s scale');
  assert.equal(firstBn.base, 1);
  assert.equal(byName.get(firstBn.param.name.replace('gamma', 'beta'))!.base, undefined);
  // The tensor generator (both kernels) adds the base; equal to the JS reference plus bases.
  const m = materializePlan(plan);
  const ringValues = initialRing(plan);
  const expected = addLayerBases(plan, generateWeights(m, ringValues));
  for (const kernel of ['host', 'tensor'] as const) {
    const gen = new RingGenerator(m, kernel);
    const ring = tf.tensor1d(ringValues);
    const ws = gen.generate(ring);
    const flat = tf.concat(ws.map((w) => tf.reshape(w, [-1])));
    assert.ok(relError(flat.dataSync(), expected) < 1e-6, kernel);
    const gamma = expected.subarray(firstBn.offset, firstBn.offset + firstBn.size);
    const mean = gamma.reduce((s, v) => s + v, 0) / gamma.length;
    assert.ok(Math.abs(mean - 1) < 0.3, `γ starts around 1 (mean ${mean})`);
    tf.dispose([ring, flat, ...ws]);
    gen.dispose();
  }
});

test('HashedNets buckets: split over layers in proportion to their sizes, at least one each, M in all', () => {
  assert.deepEqual(splitBuckets([100, 300, 600], 10), [1, 3, 6]);
  const s = splitBuckets([150, 6, 2400, 16, 30720, 120], 40);
  assert.equal(s.reduce((a, b) => a + b, 0), 40);
  assert.ok(s.every((k) => k >= 1));
  assert.ok(s[4]! > s[2]! && s[2]! > s[0]!, JSON.stringify(s));
  assert.deepEqual(splitBuckets([3, 1000], 1003), [3, 1000], 'never more buckets than weights');
  assert.throws(() => splitBuckets([10, 10, 10], 2), /at least one bucket per generated layer: rpg.dof 2 is less than the 3 generated layers/);
});

test('HashedNets layout: each weight reads a bucket of its own layer with a ±1 sign; a pure function of the seed', () => {
  const sizes = [150, 2400, 30720];
  const a = buildHashedLayout(sizes, 333, 7);
  const b = buildHashedLayout(sizes, 333, 7);
  assert.deepEqual(a.index, b.index);
  assert.deepEqual(a.coef, b.coef);
  assert.notDeepEqual(buildHashedLayout(sizes, 333, 8).index, a.index, 'another seed, another hash');
  let off = 0;
  sizes.forEach((size, l) => {
    const lo = a.bucketStart[l]!;
    const hi = lo + a.buckets[l]!;
    let plus = 0;
    for (let i = off; i < off + size; i++) {
      assert.ok(a.index[i]! >= lo && a.index[i]! < hi, `weight ${i} stays in layer ${l}'s buckets`);
      assert.ok(a.coef[i] === 1 || a.coef[i] === -1);
      if (a.coef[i] === 1) plus++;
    }
    assert.ok(Math.abs(plus / size - 0.5) < 0.1, `signs are balanced in layer ${l} (${plus}/${size})`);
    off += size;
  });
  // Hashing does not balance the buckets: some hold more weights than the mean (RPG's ring does).
  assert.ok(a.maxLoad > Math.ceil(33270 / 333), `max load ${a.maxLoad}`);
  assert.ok(weightHash(1, 'bucket', 0, 5) !== weightHash(1, 'sign', 0, 5));
});

test('HashedNets through the projected generator: W = ξ ⊙ w[h]; its gradient is the per-bucket sum of ξ·dW', async () => {
  await useBackend('cpu');
  const sizes = [40, 200, 60];
  const N = 300;
  const M = 23;
  const p = buildHashedLayout(sizes, M, 11);
  const gen = new SubspaceGenerator(p, new Float32Array(N));
  const wv = Float32Array.from({ length: M }, (_, i) => Math.cos(3 * i));
  const w = tf.tensor1d(wv);
  const out = gen.generateFlat(w);
  const expected = Float32Array.from({ length: N }, (_, i) => p.coef[i]! * wv[p.index[i]!]!);
  assert.ok(relError(out.dataSync(), expected) < 1e-7);
  const u = Float32Array.from({ length: N }, (_, i) => ((i * 7) % 11) - 5);
  const g = tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(gen.generateFlat(ww as tf.Tensor1D), tf.tensor1d(u))))(w);
  const ref = new Float32Array(M);
  for (let i = 0; i < N; i++) ref[p.index[i]!] += p.coef[i]! * u[i]!;
  assert.ok(relError(g.dataSync(), ref) < 1e-6);
  tf.dispose([w, out, g]);
  gen.dispose();
});

test('baseline networks train M numbers for the generated part, like RPG at the same rpg.dof', async () => {
  await useBackend('cpu');
  const r = resolve({ seed: 2, model: { arch: 'lenet5', width: 0.5 }, rpg: { dof: 120, generate: 'all' } });
  const names = r.plan!.layers.map((l) => l.param.name);
  const count = (net: { variables: { variable: tf.Variable }[] }) => net.variables.reduce((s, v) => s + v.variable.size, 0);
  const hashed = new HashedNetwork(r.spec, names, 120, 2);
  const subspace = new SubspaceNetwork(r.spec, names, 120, 2);
  assert.equal(count(hashed), 120, 'HashedNets: M buckets and nothing else (generate all)');
  assert.equal(count(subspace), 120, 'subspace: z only');
  assert.equal(r.summary.dof, 120);
  // A generated BatchNorm-free LeNet: biases start at exactly their plain init (0) under HashedNets.
  const w = hashed.generatedWeights();
  assert.ok([...w.get('fc3.bias')!.dataSync()].every((v) => v === 0));
  assert.ok(Math.abs(tf.moments(w.get('fc1.kernel')!).variance.dataSync()[0]! - 2 / 128) < 2 / 128, 'kernels start near their He variance');
  tf.dispose([...w.values()]);
  hashed.dispose();
  subspace.dispose();
});

test('sweep aggregates: mean ± sample std over seeds per kind and M', () => {
  const point = (kind: SweepPoint['kind'], dof: number, seed: number, finalAcc: number): SweepPoint => ({ kind, dof, ringSize: dof, totalDof: dof, params: 1, bestAcc: finalAcc + 0.01, finalAcc, fractionOfReference: 1, durationSec: 1, runDir: '/x', seed });
  const agg = aggregatePoints([point('rpg', 100, 1, 0.8), point('rpg', 100, 2, 0.9), point('hashed', 100, 1, 0.7), point('rpg', 200, 1, 0.95)]);
  assert.equal(agg.length, 3);
  const r100 = agg.find((a) => a.kind === 'rpg' && a.dof === 100)!;
  assert.equal(r100.seeds, 2);
  assert.ok(Math.abs(r100.finalAcc.mean - 0.85) < 1e-12);
  assert.ok(Math.abs(r100.finalAcc.std - Math.sqrt(0.005)) < 1e-12, 'sample std (n − 1)');
  assert.equal(agg.find((a) => a.kind === 'hashed')!.finalAcc.std, 0);
  const empty = aggregateOf([NaN]);
  assert.equal(empty.n, 0);
});

test('measured crossing: the first size whose mean reaches the target, interpolated in ln DoF from the size before', () => {
  const pts = [{ dof: 100, mean: 0.7 }, { dof: 1000, mean: 0.9 }, { dof: 300, mean: 0.8 }];
  const c = measuredCrossing(pts, 0.85)!;
  assert.equal(c.below, 300);
  assert.equal(c.above, 1000);
  assert.ok(Math.abs(c.dof - Math.exp((Math.log(300) + Math.log(1000)) / 2)) < 1e-9, 'halfway in ln DoF');
  assert.deepEqual(measuredCrossing(pts, 0.6), { dof: 100, above: 100 }, 'reached at the first size already');
  assert.equal(measuredCrossing(pts, 0.95), undefined, 'never reached');
});
