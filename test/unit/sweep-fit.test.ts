import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { fitLogLinear, predictAcc, predictDof } from '../../src/core/sweep/fit';
import { svgPlot, textPlot } from '../../src/core/sweep/plot';
import { matchWidth } from '../../src/sweep/width';
import { buildSubspaceProjection, SubspaceGenerator, subspaceWeights } from '../../src/engines/tfjs/subspace-generator';
import { validateConfig } from '../../src/core/config/load';
import { parseSweep, predictAccuracy } from '../../src/server/sweep-index';
import { relError, useBackend } from '../helpers/tf';

test('fit recovers a and b from exact log-linear points (R² = 1)', () => {
  const pts = [100, 300, 1000, 3000, 10000].map((dof) => ({ dof, acc: 0.3 + 0.07 * Math.log(dof) }));
  const f = fitLogLinear(pts)!;
  assert.ok(Math.abs(f.a - 0.3) < 1e-12 && Math.abs(f.b - 0.07) < 1e-12, JSON.stringify(f));
  assert.ok(Math.abs(f.r2 - 1) < 1e-12);
  assert.equal(f.n, 5);
  assert.ok(Math.abs(predictAcc(f, 500) - (0.3 + 0.07 * Math.log(500))) < 1e-12);
  assert.ok(Math.abs(predictDof(f, 0.3 + 0.07 * Math.log(2000))! - 2000) < 1e-6);
});

test('fit on noisy points: least squares by hand, R² in (0,1), no prediction for a flat or falling fit', () => {
  // x = ln d: 0, 1, 2 ⇒ x̄ = 1, ȳ = 0.6; Sxy = 0.3 → b = 0.15, a = 0.45; SSres = 0.015, SStot = 0.06.
  const pts = [{ dof: 1, acc: 0.4 }, { dof: Math.E, acc: 0.7 }, { dof: Math.E ** 2, acc: 0.7 }];
  const f = fitLogLinear(pts)!;
  assert.ok(Math.abs(f.b - 0.15) < 1e-12 && Math.abs(f.a - 0.45) < 1e-12, JSON.stringify(f));
  assert.ok(Math.abs(f.r2 - 0.75) < 1e-12, String(f.r2));
  assert.equal(predictDof({ a: 0.9, b: 0 }, 0.95), undefined);
  assert.equal(predictDof({ a: 0.9, b: -0.01 }, 0.95), undefined);
  assert.equal(fitLogLinear([{ dof: 10, acc: 0.5 }]), undefined);
  assert.equal(fitLogLinear([{ dof: 10, acc: 0.5 }, { dof: 10, acc: 0.6 }]), undefined);
});

test('plots: text plot has the marks and axis labels; SVG is well-formed', () => {
  const input = { title: 'lenet5', points: [{ dof: 100, acc: 0.5, kind: 'rpg' as const }, { dof: 1000, acc: 0.8, kind: 'rpg' as const }, { dof: 1100, acc: 0.6, kind: 'width' as const }], fit: { a: 0, b: 0.1 }, reference: 0.9 };
  const t = textPlot(input);
  assert.match(t, /●/);
  assert.match(t, /w/);
  assert.match(t, /DoF \(log scale\)/);
  const s = svgPlot(input);
  assert.match(s, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(s, /<\/svg>\n$/);
  assert.equal((s.match(/<circle /g) ?? []).length, 2);
});

test('a sweep.json shaped like ours is read by the language server index', () => {
  const text = JSON.stringify({ arch: 'lenet5', dataset: 'mnist-embedded', fit: { a: 0.2, b: 0.08, r2: 0.97 }, points: [{ dof: 220, ringSize: 220, bestAcc: 0.62, finalAcc: 0.6, kind: 'rpg' }, { dof: 4419, bestAcc: 0.9, finalAcc: 0.9, kind: 'rpg' }] });
  const s = parseSweep(text, 'sweep.json', 0)!;
  assert.equal(s.arch, 'lenet5');
  const p = predictAccuracy(s, 1000)!;
  assert.ok(Math.abs(p.accuracy - (0.2 + 0.08 * Math.log(1000))) < 1e-12);
  assert.equal(p.extrapolated, false);
});

test('width baseline: the multiplier whose plain model is closest to the target count', () => {
  const config = validateConfig({ model: { arch: 'lenet5' } });
  const input = { height: 28, width: 28, channels: 1, numClasses: 10 };
  const full = matchWidth(config, input, 44426);
  assert.equal(full.params, 44426);
  const m = matchWidth(config, input, 5000);
  assert.ok(Math.abs(m.params - 5000) / 5000 < 0.25, JSON.stringify(m));
  assert.ok(m.width > 0 && m.width < 1);
  const tiny = matchWidth(config, input, 10); // below the narrowest model: the narrowest
  assert.ok(tiny.params < 1000, JSON.stringify(tiny));
});

test('subspace projection: balanced columns; generation equals θ₀ + P·z; gradient equals the reference', async () => {
  await useBackend('cpu');
  const N = 300;
  const M = 37;
  const p = buildSubspaceProjection(N, M, 5, 2);
  const uses = new Int32Array(M);
  for (const j of p.index) uses[j]!++;
  assert.ok(Math.max(...uses) - Math.min(...uses) <= 1, 'each z entry feeds ⌊Ns/M⌋ or ⌈Ns/M⌉ weights');
  const theta0 = Float32Array.from({ length: N }, (_, i) => Math.sin(i));
  const zv = Float32Array.from({ length: M }, (_, i) => Math.cos(3 * i));
  const gen = new SubspaceGenerator(p, theta0);
  const z = tf.tensor1d(zv);
  const ours = gen.generateFlat(z);
  assert.ok(relError(ours.dataSync(), subspaceWeights(p, theta0, zv)) < 1e-6);
  // d/dz of Σ u ⊙ W(z) = Pᵀu, against a reference built from tf.gather's own gradient.
  const u = tf.tensor1d(Float32Array.from({ length: N }, (_, i) => ((i * 7) % 11) - 5));
  const g = tf.grad((zz: tf.Tensor) => tf.sum(tf.mul(gen.generateFlat(zz as tf.Tensor1D), u)))(z);
  const idx = tf.tensor1d(p.index, 'int32');
  const coef = tf.tensor1d(p.coef);
  const ref = tf.grad((zz: tf.Tensor) => tf.sum(tf.mul(tf.mul(tf.gather(zz, idx), coef), tf.tile(u, [2]))))(z);
  assert.ok(relError(g.dataSync(), ref.dataSync()) < 1e-5, `${relError(g.dataSync(), ref.dataSync())}`);
  tf.dispose([z, ours, u, g, idx, coef, ref]);
  gen.dispose();
});
