import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countKept, decodeMask, dequantize, encodeMask, fromHalf, magnitudeMask, maxCode, packCodes, quantize, toHalf, unpackCodes } from '../../src/core/compress/quantize';
import { Rng } from '../../src/core/rpg/prng';

const ring = (n: number, seed = 1) => {
  const r = new Rng(seed, 'test');
  return Float32Array.from({ length: n }, () => r.nextNormal() * 0.02);
};

test('magnitude pruning zeroes exactly round(f·M) entries, the smallest ones', () => {
  const v = ring(1001);
  for (const f of [0, 0.1, 0.5, 0.9]) {
    const mask = magnitudeMask(v, f);
    assert.equal(mask.length - countKept(mask), Math.round(f * 1001));
    let maxPruned = 0;
    let minKept = Infinity;
    for (let j = 0; j < v.length; j++) {
      if (mask[j]) minKept = Math.min(minKept, Math.abs(v[j]!));
      else maxPruned = Math.max(maxPruned, Math.abs(v[j]!));
    }
    assert.ok(maxPruned <= minKept);
  }
  assert.throws(() => magnitudeMask(v, 1), /\[0, 1\)/);
});

test('quantize → dequantize: error ≤ scale/2 per kept entry, pruned entries exactly 0, per-block scales', () => {
  const v = ring(1000, 3);
  const mask = magnitudeMask(v, 0.3);
  for (const bits of [8, 4, 2]) {
    for (const block of [1000, 256, 64]) {
      const q = quantize(v, mask, bits, block);
      assert.equal(q.scales.length, Math.ceil(1000 / block));
      const d = dequantize(q);
      for (let j = 0; j < v.length; j++) {
        if (!mask[j]) {
          assert.equal(d[j], 0);
          continue;
        }
        const scale = q.scales[Math.floor(j / block)]!;
        assert.ok(Math.abs(d[j]! - v[j]!) <= scale / 2 + 1e-9, `bits ${bits} block ${block} j ${j}`);
        assert.ok(Math.abs(q.codes[j]!) <= maxCode(bits));
      }
    }
  }
  // 8-bit relative error of the whole ring stays small.
  const q8 = dequantize(quantize(v, new Uint8Array(1000).fill(1), 8));
  let err = 0;
  let max = 0;
  for (let j = 0; j < v.length; j++) {
    err = Math.max(err, Math.abs(q8[j]! - v[j]!));
    max = Math.max(max, Math.abs(v[j]!));
  }
  assert.ok(err <= max / 127 / 2 + 1e-9);
});

test('bit packing round-trips for 2..8 bits with any mask', () => {
  const v = ring(777, 9);
  const mask = magnitudeMask(v, 0.37);
  for (let bits = 2; bits <= 8; bits++) {
    const q = quantize(v, mask, bits, 100);
    const packed = packCodes(q.codes, mask, bits);
    assert.equal(packed.length, Math.ceil((countKept(mask) * bits) / 8));
    assert.deepEqual(unpackCodes(packed, mask, bits), q.codes);
  }
});

test('mask encodings: the smallest is chosen and every one decodes to the same mask', () => {
  const v = ring(5000, 4);
  for (const f of [0, 0.01, 0.5, 0.99]) {
    const mask = magnitudeMask(v, f);
    const e = encodeMask(mask);
    if (f === 0) assert.equal(e.encoding, 'all');
    if (f === 0.5) assert.equal(e.encoding, 'bitmap');
    if (f === 0.01) assert.equal(e.encoding, 'pruned-gaps');
    if (f === 0.99) assert.equal(e.encoding, 'kept-gaps');
    assert.ok(e.bytes.length <= Math.ceil(5000 / 8));
    assert.deepEqual(decodeMask(e.encoding, e.bytes, 5000, countKept(mask)), mask);
  }
  assert.throws(() => decodeMask('bitmap', new Uint8Array(3), 5000, 1), /bitmap/);
});

test('float16 conversion: exact for representable values, round-to-nearest otherwise', () => {
  const exact = Float32Array.from([0, 1, -2, 0.5, 65504, -(2 ** -14), 2 ** -24, 1025]);
  assert.deepEqual(fromHalf(toHalf(exact)), exact);
  // Ties round to even: 1024.5 → 1024, 1025.5 → 1026 (the spacing is 1 there).
  assert.deepEqual(Array.from(fromHalf(toHalf(Float32Array.from([1024.5, 1025.5])))), [1024, 1026]);
  const v = ring(1000, 2).map((x) => x * 100);
  const back = fromHalf(toHalf(v));
  for (let i = 0; i < v.length; i++) assert.ok(Math.abs(back[i]! - v[i]!) <= Math.abs(v[i]!) * 2 ** -11 + 2 ** -25);
  assert.equal(fromHalf(toHalf(Float32Array.from([1e6])))[0], Infinity);
});
