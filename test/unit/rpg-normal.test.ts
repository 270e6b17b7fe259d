// The normal sampler both engines share: Box–Muller from correctly rounded operations only
// (src/rpg/prng.ts normalPair), so the PyTorch engine draws the same doubles. It must still be
// a good normal, and close to the textbook Math.log/Math.cos Box–Muller it replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cosSinTurn, lnUnit, normalPair, Rng } from '../../src/core/rpg/prng';

const TWO32 = 4294967296;

test('lnUnit and cosSinTurn agree with Math.log / Math.cos / Math.sin to ~1 ulp', () => {
  const r = new Rng(11, 'normal-accuracy');
  let lnErr = 0;
  let trigErr = 0;
  const edge = [1, 2, 3, 0x7fffffff, 0x80000000, 0xb504f333, 0xb504f334, 0xffffffff];
  for (let i = 0; i < 100_000 + edge.length; i++) {
    const k = i < edge.length ? edge[i]! : r.nextUint32() || 1;
    const exact = Math.log(k / TWO32);
    lnErr = Math.max(lnErr, Math.abs(lnUnit(k) - exact) / Math.abs(exact));
    const w = i < edge.length ? edge[i]! : r.nextUint32();
    const [c, s] = cosSinTurn(w);
    // Math's own argument 2π·v carries a rounding of ~1e-16·2π; allow for it.
    trigErr = Math.max(trigErr, Math.abs(c - Math.cos((2 * Math.PI * w) / TWO32)), Math.abs(s - Math.sin((2 * Math.PI * w) / TWO32)));
  }
  assert.ok(lnErr < 1e-15, `ln relative error ${lnErr}`);
  assert.ok(trigErr < 2e-15, `cos/sin absolute error ${trigErr}`);
  assert.deepEqual(cosSinTurn(0), [1, 0]);
  assert.equal(cosSinTurn(0x40000000)[1], 1);
});

test('normalPair matches the Math-based Box–Muller to 1e-12', () => {
  const r = new Rng(12, 'normal-vs-math');
  let worst = 0;
  for (let i = 0; i < 100_000; i++) {
    const u = r.nextUint32() || 1;
    const w = r.nextUint32();
    const rad = Math.sqrt(-2 * Math.log(u / TWO32));
    const [c, s] = normalPair(u, w);
    worst = Math.max(worst, Math.abs(c - rad * Math.cos((2 * Math.PI * w) / TWO32)), Math.abs(s - rad * Math.sin((2 * Math.PI * w) / TWO32)));
  }
  assert.ok(worst < 1e-12, `largest difference ${worst}`);
});

test('nextNormal is a standard normal: moments and tail frequencies', () => {
  const r = new Rng(13, 'normal-moments');
  const n = 400_000;
  let m1 = 0;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  const beyond = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const z = r.nextNormal();
    m1 += z;
    m2 += z * z;
    m3 += z * z * z;
    m4 += z * z * z * z;
    const a = Math.abs(z);
    for (let k = 0; k < 4; k++) if (a > k + 1) beyond[k]!++;
  }
  m1 /= n;
  m2 /= n;
  m3 /= n;
  m4 /= n;
  // Standard errors at n = 400k: mean 0.0016, variance 0.0022, third moment 0.0039, fourth 0.015.
  assert.ok(Math.abs(m1) < 0.008, `mean ${m1}`);
  assert.ok(Math.abs(m2 - 1) < 0.011, `variance ${m2}`);
  assert.ok(Math.abs(m3) < 0.02, `third moment ${m3}`);
  assert.ok(Math.abs(m4 - 3) < 0.075, `fourth moment ${m4}`);
  // P(|Z| > k) for k = 1..4, within 5 binomial standard errors.
  const expected = [0.3173105078629141, 0.04550026389635842, 0.0026997960632601866, 0.00006334248366623996];
  expected.forEach((p, k) => {
    const got = beyond[k]! / n;
    const se = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(got - p) < 5 * se, `P(|Z| > ${k + 1}) = ${got}, expected ${p} ± ${5 * se}`);
  });
});

test('the draws are pinned: the PyTorch engine (python/tests) pins the same doubles', () => {
  const r = new Rng(1, 'ring-init');
  assert.deepEqual(Array.from({ length: 5 }, () => r.nextNormal()), [-0.308629421839091, 0.41806814082848953, 0.24968531809348143, 1.4234067460753097, 0.26871873622044395]);
  // The spare half of a pair survives a state round trip.
  const a = new Rng(2, 'spare');
  a.nextNormal();
  const b = Rng.fromState(a.state());
  assert.equal(b.nextNormal(), a.nextNormal());
  assert.equal(b.nextUint32(), a.nextUint32());
});
